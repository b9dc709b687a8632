"""The transport clients of one framework object (a LangChain or LlamaIndex model).

Both integrations hold one of these per model object: the sync client is created on first use
and shared by every call; async clients are created per event loop, because pooled connections
belong to the loop that opened them (a second ``asyncio.run`` on the same model must not reuse
dead connections). A caller's own httpx client is used as given and never closed by us.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from compactifai._client import AsyncCompactifAIClient, CompactifAIClient

__all__ = ["LazyClients", "attached_clients"]


class LazyClients:
    """A sync client and a per-event-loop async client, each created on first use."""

    def __init__(
        self,
        client_args: Mapping[str, Any],
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
    ) -> None:
        # The settings are copied, not read back from the owner: holding no reference to it
        # lets close_when_collected's finalizer fire.
        self._client_args = dict(client_args)
        self._http_client = http_client
        self._http_async_client = http_async_client
        self._lock = threading.Lock()
        self._sync: CompactifAIClient | None = None
        self._async: AsyncCompactifAIClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def has_sync_client(self) -> bool:
        """Whether the sync client has been created (async-only use never creates it)."""
        return self._sync is not None

    @property
    def sync(self) -> CompactifAIClient:
        client = self._sync
        if client is None:
            with self._lock:
                client = self._sync
                if client is None:
                    client = CompactifAIClient(**self._client_args, http_client=self._http_client)
                    self._sync = client
        return client

    @property
    def for_running_loop(self) -> AsyncCompactifAIClient:
        """The async client of the running event loop (or of no loop, outside one)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        client = self._async
        if client is not None and (loop is self._async_loop or self._http_async_client is not None):
            return client
        with self._lock:
            client = self._async
            if client is None or (loop is not self._async_loop and self._http_async_client is None):
                client = AsyncCompactifAIClient(
                    **self._client_args, http_client=self._http_async_client
                )
                self._async, self._async_loop = client, loop
                if loop is not None and self._http_async_client is None:
                    # The pool's connections die with their loop: close them while it still
                    # runs. asyncio.run (and asyncio.Runner) cancel the tasks left at the end.
                    self._closer = loop.create_task(
                        _close_when_cancelled(client), name="compactifai: close pool at loop end"
                    )
        return client

    def close_when_collected(self, owner: object) -> None:
        """Close the sync pool when ``owner`` is garbage-collected (a model nobody closed)."""
        weakref.finalize(owner, self.close)

    def close(self) -> None:
        """Close the sync connection pool (not a caller's ``http_client``)."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close both connection pools (not a caller's httpx clients).

        An async pool opened in another event loop was closed when that loop ended.
        """
        self.close()
        client = self._async
        if client is not None and self._async_loop in (None, asyncio.get_running_loop()):
            await client.aclose()
            if self._closer is not None:
                self._closer.cancel()


async def _close_when_cancelled(client: AsyncCompactifAIClient) -> None:
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await client.aclose()


class _HoldsClients(Protocol):
    _lazy_clients: LazyClients | None


def attached_clients(
    owner: _HoldsClients, lock: threading.Lock, create: Callable[[], LazyClients]
) -> LazyClients:
    """``owner``'s clients: created once (under ``lock``) on first use, from its settings then,
    and closed when ``owner`` is garbage-collected."""
    clients = owner._lazy_clients
    if clients is None:
        with lock:
            clients = owner._lazy_clients
            if clients is None:
                clients = create()
                clients.close_when_collected(owner)
                owner._lazy_clients = clients
    return clients
