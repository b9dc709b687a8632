"""The models each server lists (``GET /models``), kept once per process, base URL and account.

One cache serves every reader: ``list_models()`` on any client stores what it got (so the
churn error's "available now" read refreshes it too), and :mod:`compactifai.profiles` reads
it to describe models from the live catalog. The service says its list "is authoritative for
your account", so entries are keyed by base URL *and* a digest of the API key (the key itself
is never kept here).

Concurrent first reads make one request: threads wait on one lock per entry, coroutines of
one event loop on one ``asyncio.Lock`` per entry and loop (a thread and a coroutine reading
at the same moment may each send one). A failed read is remembered too, and logged once per
entry, so a process whose catalog cannot be read does not keep asking; ``refresh=True``
reads again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from compactifai.errors import CompactifAIError
from compactifai.types import Model

__all__ = ["CatalogKey", "aread", "cached", "catalog_key", "forget", "read", "remember"]

logger = logging.getLogger("compactifai")

CatalogKey = tuple[str, str]


class _Entry:
    """What one (base URL, account) lists: the last models read and how the last read went."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.models: tuple[Model, ...] | None = None
        # How many reads finished (either way): a reader that waited for the lock and sees it
        # changed knows another reader just did the work.
        self.reads = 0
        self.warned = False

    def async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self.lock:
            lock = self.async_locks.get(loop)
            if lock is None:
                lock = self.async_locks[loop] = asyncio.Lock()
        return lock


_entries: dict[CatalogKey, _Entry] = {}
_entries_lock = threading.Lock()


def catalog_key(base_url: str, api_key: str | None) -> CatalogKey:
    """The cache key of a client: its base URL and a digest of its key (never the key)."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""
    return base_url.rstrip("/"), digest


def _entry(key: CatalogKey) -> _Entry:
    with _entries_lock:
        entry = _entries.get(key)
        if entry is None:
            entry = _entries[key] = _Entry()
        return entry


def remember(key: CatalogKey, models: Iterable[Model]) -> None:
    """Store a fresh ``GET /models`` answer (every client's ``list_models`` calls this)."""
    entry = _entry(key)
    entry.models = tuple(models)
    entry.reads += 1


def cached(key: CatalogKey) -> tuple[Model, ...] | None:
    """The models last read for ``key``, without a request (None: never read successfully)."""
    with _entries_lock:
        entry = _entries.get(key)
    return entry.models if entry is not None else None


def forget(key: CatalogKey | None = None) -> None:
    """Drop one entry (or all): the next read asks the server again."""
    with _entries_lock:
        if key is None:
            _entries.clear()
        else:
            _entries.pop(key, None)


def read(
    key: CatalogKey, list_models: Callable[[], list[Model]], *, refresh: bool = False
) -> tuple[Model, ...] | None:
    """The served models, read at most once per process (None when reading failed)."""
    entry = _entry(key)
    seen = entry.reads
    if seen and not refresh:
        return entry.models
    with entry.lock:
        if entry.reads != seen:  # another thread read while this one waited
            return entry.models
        try:
            remember(key, list_models())
        except CompactifAIError as exc:
            _failed(key, entry, exc)
    return entry.models


async def aread(
    key: CatalogKey,
    list_models: Callable[[], Awaitable[list[Model]]],
    *,
    refresh: bool = False,
) -> tuple[Model, ...] | None:
    """:func:`read` for async clients."""
    entry = _entry(key)
    seen = entry.reads
    if seen and not refresh:
        return entry.models
    async with entry.async_lock():
        if entry.reads != seen:
            return entry.models
        try:
            remember(key, await list_models())
        except CompactifAIError as exc:
            _failed(key, entry, exc)
    return entry.models


def _failed(key: CatalogKey, entry: _Entry, exc: CompactifAIError) -> None:
    entry.reads += 1
    if entry.warned:
        return
    entry.warned = True
    # The client's errors never carry the key; user info in the URL is cut all the same.
    parts = urlsplit(key[0])
    host = f"{parts.hostname}:{parts.port}" if parts.port is not None else parts.hostname or ""
    where = urlunsplit(parts._replace(netloc=host))
    logger.warning(
        "Could not read the model catalog (GET /models) of %s: %s: %s. Model capabilities "
        "come from the bundled table instead.",
        where,
        type(exc).__name__,
        exc,
    )
