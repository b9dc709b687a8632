"""The transport clients of one framework object (a LangChain or LlamaIndex model).

Both integrations hold one of these per model object: the sync client is created on first use
and shared by every call; async clients are created per event loop, because pooled connections
belong to the loop that opened them (a second ``asyncio.run`` on the same model must not reuse
dead connections). A caller's own httpx client is used as given and never closed by us.

Who closes what: each pool is owned by exactly one client, and a client's pool is closed by
``close``/``aclose``, or when the client itself is garbage (``_client``) -- never when the
model is: a stream returned by a model keeps its client, so a model dropped mid-stream (a new
model per web request) cannot pull the pool from under the stream. Async pools still open
when their loop ends are closed then (``compactifai._loop_pools``).
"""

from __future__ import annotations

import asyncio
import threading
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
        self._client_args = dict(client_args)
        self._http_client = http_client
        self._http_async_client = http_async_client
        self._lock = threading.Lock()
        self._sync: CompactifAIClient | None = None
        self._async: AsyncCompactifAIClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

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
        return client

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


class _HoldsClients(Protocol):
    _lazy_clients: LazyClients | None


def attached_clients(
    owner: _HoldsClients, lock: threading.Lock, create: Callable[[], LazyClients]
) -> LazyClients:
    """``owner``'s clients: created once (under ``lock``) on first use, from its settings then.

    Their pools close with the clients (see the module docstring), not with ``owner``.
    """
    clients = owner._lazy_clients
    if clients is None:
        with lock:
            clients = owner._lazy_clients
            if clients is None:
                clients = create()
                owner._lazy_clients = clients
    return clients
