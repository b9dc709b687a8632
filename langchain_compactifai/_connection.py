"""Connection settings and lazily created transport clients, shared by the chat model and LLM."""

from __future__ import annotations

import asyncio
import threading
import warnings
import weakref
from typing import Any

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai._client import DEFAULT_TIMEOUT

__all__ = ["CompactifAIConnection"]

# Guards the lazy creation of clients; creation is rare, so one lock for all objects is enough
# (and keeps model objects deep-copyable).
_CLIENT_LOCK = threading.Lock()


class CompactifAIConnection(BaseModel):
    """Fields that say where and how to reach the API; one client pair per model object."""

    # defer_build: the models' validators are built when the first one is created, not at import
    # (building them was most of what importing langchain_compactifai added to langchain_core).
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, defer_build=True)

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("COMPACTIFAI_API_KEY", default=None)
    )
    """API key; read from ``COMPACTIFAI_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=from_env("COMPACTIFAI_BASE_URL", default=None))
    """API base URL; ``COMPACTIFAI_BASE_URL`` or ``https://api.compactif.ai/v1``."""
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT
    """Request timeout in seconds (or an ``httpx.Timeout``); ``None`` waits forever."""
    max_retries: int = 2
    """Retries of connection failures, 429 and 5xx answers (with backoff)."""
    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send sync requests with (the caller closes it)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send async requests with (the caller closes it)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body fields sent with every request (e.g. ``reasoning_effort``)."""

    _client: CompactifAIClient | None = PrivateAttr(default=None)
    _async_client: AsyncCompactifAIClient | None = PrivateAttr(default=None)
    _async_loop: asyncio.AbstractEventLoop | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Unknown constructor arguments become ``model_kwargs`` (with a warning)."""
        if not isinstance(values, dict):
            return values
        known = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        if not extra:
            return values
        model_kwargs = dict(values.get("model_kwargs") or {})
        for name, value in extra.items():
            if name in model_kwargs:
                raise ValueError(f"{name} was given both directly and in model_kwargs")
            warnings.warn(
                f"{name} is not a field of {cls.__name__}; sending it as a request body "
                "field via model_kwargs.",
                UserWarning,
                stacklevel=4,
            )
            model_kwargs[name] = value
        return {**{k: v for k, v in values.items() if k in known}, "model_kwargs": model_kwargs}

    def _client_args(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key is not None else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
        }

    @property
    def client(self) -> CompactifAIClient:
        """The sync transport client, created on first use and reused by every call."""
        client = self._client
        if client is None:
            with _CLIENT_LOCK:
                client = self._client
                if client is None:
                    client = CompactifAIClient(**self._client_args(), http_client=self.http_client)
                    # Close our own connection pool when this model object goes away.
                    weakref.finalize(self, client.close)
                    self._client = client
        return client

    @property
    def async_client(self) -> AsyncCompactifAIClient:
        """The async transport client for the running event loop, created on first use there.

        Connections belong to the loop that opened them, so each loop gets its own client
        (``asyncio.run`` twice on one model works); calls in one loop share one client.
        A caller's ``http_async_client`` is always used as given.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        client = self._async_client
        if client is not None and (loop is self._async_loop or self.http_async_client is not None):
            return client
        with _CLIENT_LOCK:
            client = self._async_client
            if client is None or (loop is not self._async_loop and self.http_async_client is None):
                client = AsyncCompactifAIClient(
                    **self._client_args(), http_client=self.http_async_client
                )
                self._async_client = client
                self._async_loop = loop
        return client

    def get_num_tokens(self, text: str) -> int:
        """Approximate token count (about four characters a token).

        The API publishes no tokenizer; exact counts come back as usage on every response.
        """
        return -(-len(text) // 4)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        """A copy that shares the caller's httpx clients and opens its own transport lazily."""
        memo = {} if memo is None else memo
        shared_objects = (
            self.http_client,
            self.http_async_client,
            self._client,
            self._async_client,
            self._async_loop,
        )
        for shared in shared_objects:
            if shared is not None:
                memo[id(shared)] = shared
        clone = super().__deepcopy__(memo)
        clone._client = None
        clone._async_client = None
        clone._async_loop = None
        return clone

    def close(self) -> None:
        """Close the sync connection pool this object opened (not a caller's ``http_client``)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Close both connection pools this object opened."""
        self.close()
        if self._async_client is not None:
            await self._async_client.aclose()
