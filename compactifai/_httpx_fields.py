"""Field types for a caller's httpx objects on a framework model, without importing httpx.

httpx loads with the first client, not with an integration's module: its import brings its own
command line (rich, click, pygments) when those are installed, about a tenth of what importing
LangChain's chat models costs and more than the rest of our package. The fields still accept
only httpx's types, checked when a value is given (httpx is imported then).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Any

__all__ = ["HttpxAsyncClient", "HttpxClient", "HttpxTimeout"]

if TYPE_CHECKING:
    import httpx

    HttpxClient = httpx.Client
    HttpxAsyncClient = httpx.AsyncClient
    HttpxTimeout = httpx.Timeout
else:
    from pydantic import AfterValidator

    def _httpx_instance(name: str) -> Any:
        def check(value: Any) -> Any:
            expected = getattr(importlib.import_module("httpx"), name)
            if not isinstance(value, expected):
                raise ValueError(f"expected an httpx.{name}, got {type(value).__name__}")
            return value

        return Annotated[Any, AfterValidator(check)]

    HttpxClient = _httpx_instance("Client")
    HttpxAsyncClient = _httpx_instance("AsyncClient")
    HttpxTimeout = _httpx_instance("Timeout")
