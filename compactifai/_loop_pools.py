"""Async connection pools close before their event loop does, however the loop ends.

A pool's connections belong to the event loop that opened them. Left open when the loop
closes, they surface at exit as aiohttp's "Unclosed client session" / "Unclosed connector"
and asyncio's "unclosed transport", and cannot be closed any more: a socket transport needs
one more turn of its loop to close. So every async pool the package opens is registered here
with its loop (:func:`close_with_loop`) and closed, without the user calling anything:

- when its owner (an ``AsyncCompactifAIClient``) is collected while the loop runs: a task of
  that loop closes it (a long-lived server loop with a new model per request);
- when the loop shuts down its async generators: ``asyncio.run``, ``asyncio.Runner``,
  pytest-asyncio's loops and uvicorn's call ``loop.shutdown_asyncgens()`` after cancelling the
  remaining tasks and before closing the loop. One async generator per loop, started here so
  that the loop registers it (its first-iteration hook), closes the loop's pools when it is
  finalised there. Cancelling tasks cannot be the signal: a closing task cancelled before it
  ran never closes anything;
- when ``loop.close()`` is called by hand without that step (``run_until_complete`` then
  ``close``): asyncio has no public notification of it, so the ``close`` of a loop this module
  registered a pool with is wrapped to end the loop as ``asyncio.run`` does first
  (``shutdown_asyncgens``, which also ends abandoned streams); a no-op after ``asyncio.run``.

A pool closed at its loop's end is replaced on the owner's next use (``httpx.AsyncClient``'s
``is_closed``), so a second ``asyncio.run`` gets a fresh pool in its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import httpx

__all__ = ["aclose_pool", "close_with_loop"]

logger = logging.getLogger("compactifai")


class _LoopPools:
    """The pools of one event loop that are still open, and the tasks closing some of them."""

    def __init__(self) -> None:
        # Strong references: a pool whose owner was collected must stay reachable until closed.
        self.pools: set[httpx.AsyncClient] = set()
        self.closing: set[asyncio.Task[None]] = set()
        self.shutdown: AsyncGenerator[None, None] | None = None

    async def close_all(self) -> None:
        # One turn first: the loop's other async generators (abandoned streams) finalised
        # alongside this one end their responses before their pool goes.
        await asyncio.sleep(0)
        while self.pools or any(not task.done() for task in self.closing):
            pools = list(self.pools)
            self.pools.clear()
            for pool in pools:
                await _aclose_quietly(pool)
            pending = [task for task in self.closing if not task.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = (
    weakref.WeakKeyDictionary()
)
_wrapped_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_lock = threading.Lock()


async def _aclose_quietly(pool: httpx.AsyncClient) -> None:
    try:
        await pool.aclose()
    except Exception as exc:  # closing must not fail the end of a loop
        logger.debug("an async connection pool did not close cleanly: %r", exc)


def close_with_loop(owner: object, pool: httpx.AsyncClient) -> weakref.finalize[Any, Any]:
    """Register ``pool`` (owned by ``owner``) with the running loop, if any, to close at its end.

    Returns the finalizer that closes the pool when ``owner`` is collected first; ``detach``
    it when the owner closes the pool itself (:func:`aclose_pool`).
    """
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        _pools_of(loop).pools.add(pool)
    return weakref.finalize(owner, _pool_orphaned, pool, loop)


async def aclose_pool(pool: httpx.AsyncClient) -> None:
    """Close ``pool`` now (its owner's ``aclose``) and forget it."""
    with _lock:  # other threads' loops may register meanwhile
        entries = list(_loops.values())
    for entry in entries:
        entry.pools.discard(pool)
    await pool.aclose()


def _pools_of(loop: asyncio.AbstractEventLoop) -> _LoopPools:
    """The running loop's registry entry, created with its shutdown generator and close hook."""
    entry = _loops.get(loop)
    if entry is not None:
        return entry
    with _lock:
        entry = _loops.get(loop)
        if entry is None:
            entry = _loops[loop] = _LoopPools()
            entry.shutdown = _closed_at_shutdown(loop, entry)
            # The first step runs the generator up to its ``yield`` and makes the running loop
            # register it (sys.set_asyncgen_hooks), for loop.shutdown_asyncgens() to finalise.
            with contextlib.suppress(StopIteration):
                entry.shutdown.asend(None).send(None)
        if loop not in _wrapped_loops:
            _wrap_close(loop)
    return entry


async def _closed_at_shutdown(
    loop: asyncio.AbstractEventLoop, entry: _LoopPools
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await _end(loop, entry)


async def _end(loop: asyncio.AbstractEventLoop, entry: _LoopPools) -> None:
    with _lock:
        if _loops.get(loop) is entry:
            # Also unties the loop: the generator's finalizer hook refers to it.
            del _loops[loop]
    await entry.close_all()


def _wrap_close(loop: asyncio.AbstractEventLoop) -> None:
    """Make a hand-called ``loop.close()`` close the loop's pools first (see the module doc)."""
    close = loop.close

    def close_pools_then_loop() -> None:
        entry = _loops.get(loop)
        if entry is not None and not loop.is_running() and not loop.is_closed():
            try:
                # As asyncio.run ends a loop: abandoned streams (async generators) end their
                # responses, and this module's generator closes the pools; then any pool left.
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(_end(loop, entry))
            except RuntimeError as exc:  # called from inside another running loop
                logger.debug("pools of a closing event loop could not be closed: %r", exc)
        close()

    try:
        loop.close = close_pools_then_loop  # type: ignore[method-assign]
    except AttributeError:  # a loop type without instance attributes: shutdown_asyncgens only
        return
    _wrapped_loops.add(loop)


def _pool_orphaned(pool: httpx.AsyncClient, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close the pool of a collected owner as a task of its loop, if the loop still runs (a
    finalizer runs in any thread, at any point). The pool stays registered until closed, so
    the loop's end closes it if the task never ran (asyncio.run cancels pending tasks)."""
    if loop is None or loop.is_closed():
        return

    def start() -> None:
        entry = _loops.get(loop)
        if entry is None or pool not in entry.pools:
            return  # closed meanwhile, with the loop's other pools
        task = loop.create_task(
            _close_orphan(entry, pool), name="compactifai: close an unused pool"
        )
        entry.closing.add(task)
        task.add_done_callback(entry.closing.discard)

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(start)


async def _close_orphan(entry: _LoopPools, pool: httpx.AsyncClient) -> None:
    await _aclose_quietly(pool)
    entry.pools.discard(pool)
