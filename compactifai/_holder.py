"""The transport clients of a framework model object, for both integrations.

A LangChain or LlamaIndex model mixes :class:`ClientHolder` in: it declares the connection
fields (``api_key``, ``base_url``, ``timeout``, ``max_retries``, ``default_headers`` and the
caller's httpx clients) and a private ``_lazy_clients``; the holder turns them into one
:class:`~compactifai._lazy_clients.LazyClients` created on first use, gives the ``client`` and
``async_client`` properties, ``close``/``aclose``, and keeps copies and reassignments honest:
a copy that connects differently gets its own pools, and replacing a connection field closes
the pools it drops. Nothing here imports httpx until a client is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import SecretStr

from compactifai._defaults import env_api_key

if TYPE_CHECKING:
    from compactifai._client import AsyncCompactifAIClient, CompactifAIClient
    from compactifai._lazy_clients import LazyClients

__all__ = ["CONNECTION_FIELDS", "ClientHolder", "HoldsClients", "api_key_from_env", "secret_value"]

_HolderT = TypeVar("_HolderT", bound="ClientHolder")

# Client creation is rare: one lock for every object (which keeps them deep-copyable).
_LOCK = threading.Lock()
# Each framework's names of the caller's own httpx clients (the README's configuration table).
_HTTP_CLIENT_FIELDS = ("http_client", "http_async_client", "async_http_client")
# Fields the transport clients are built from: changing one means new clients.
CONNECTION_FIELDS = frozenset(
    {"api_key", "base_url", "timeout", "max_retries", "default_headers", *_HTTP_CLIENT_FIELDS}
)


def api_key_from_env() -> SecretStr | None:
    """The default of an ``api_key`` field: ``COMPACTIFAI_API_KEY`` as a secret, or None."""
    key = env_api_key()
    return SecretStr(key) if key else None


def secret_value(value: SecretStr | str | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class HoldsClients(Protocol):
    """A model's transport clients, as its mixins see them (a :class:`ClientHolder` has them)."""

    @property
    def client(self) -> CompactifAIClient: ...
    @property
    def async_client(self) -> AsyncCompactifAIClient: ...


class ClientHolder:
    """Mixin (before the pydantic base) giving a model object its lazily created clients."""

    # Declared by the framework class (fields and a PrivateAttr); listed here for type checkers.
    if TYPE_CHECKING:
        api_key: SecretStr | None
        base_url: str | None
        timeout: Any
        max_retries: int
        default_headers: dict[str, str] | None
        _lazy_clients: LazyClients | None

    def _http_clients(self) -> tuple[Any, Any]:
        """The caller's (sync, async) httpx clients, whatever the framework names them."""
        sync = getattr(self, "http_client", None)
        async_ = getattr(self, "http_async_client", None) or getattr(
            self, "async_http_client", None
        )
        return sync, async_

    def _client_args(self) -> dict[str, Any]:
        return {
            "api_key": secret_value(self.api_key),
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
        }

    @property
    def _clients(self) -> LazyClients:
        from compactifai._lazy_clients import LazyClients, attached_clients

        return attached_clients(
            self, _LOCK, lambda: LazyClients(self._client_args(), *self._http_clients())
        )

    @property
    def client(self) -> CompactifAIClient:
        """The sync transport client, created on first use and reused by every call."""
        return self._clients.sync

    @property
    def async_client(self) -> AsyncCompactifAIClient:
        """The async transport client of the running event loop, created on first use there.

        Connections belong to the loop that opened them, so each loop gets its own client
        (``asyncio.run`` twice on one model works); calls in one loop share one client.
        A caller's own async httpx client is always used as given.
        """
        return self._clients.for_running_loop

    def close(self) -> None:
        """Close the sync connection pool this object opened (not a caller's httpx client)."""
        if self._lazy_clients is not None:
            self._lazy_clients.close()

    async def aclose(self) -> None:
        """Close both connection pools this object opened (those of the running event loop;
        any other loop's closed when that loop ended)."""
        if self._lazy_clients is not None:
            await self._lazy_clients.aclose()

    async def __aenter__(self: _HolderT) -> _HolderT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "api_key" and isinstance(value, str):
            value = SecretStr(value)  # assignment is not validated: keep the key a secret
        super().__setattr__(name, value)
        if name in CONNECTION_FIELDS:
            dropped = self._lazy_clients
            self._lazy_clients = None
            if dropped is not None:
                # Async pools close with their event loop (see LazyClients).
                dropped.close()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy; it opens its own connection pools when it connects differently (or ``deep``)."""
        clone = super().model_copy(update=update, deep=deep)  # type: ignore[misc]
        if deep or (update and CONNECTION_FIELDS.intersection(update)):
            object.__setattr__(clone, "__pydantic_private__", {**clone.__pydantic_private__})
            clone.__pydantic_private__["_lazy_clients"] = None
        return clone

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        """A copy that shares the caller's httpx clients and opens its own pools lazily."""
        memo = {} if memo is None else memo
        for shared in (*self._http_clients(), self._lazy_clients):
            if shared is not None:
                memo[id(shared)] = shared
        clone = super().__deepcopy__(memo)  # type: ignore[misc]
        clone.__pydantic_private__["_lazy_clients"] = None
        return clone
