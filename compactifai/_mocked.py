"""Whether a test library has patched httpx's transports (vcrpy, respx, ``unittest.mock``).

Our own transports (``_sync_http``, ``_aiohttp``) talk to sockets and aiohttp directly; while
httpx's or httpcore's send methods are patched, they hand requests to httpx's own transport
instead, so that cassettes and mocks in the user's tests see every request, as before.
"""

from __future__ import annotations

import inspect
from typing import Any

import httpcore
import httpx

__all__ = ["async_mocked", "sync_mocked"]


def _original(owner: type, name: str) -> Any:
    return inspect.unwrap(owner.__dict__[name])  # unwrap: patched before we were imported


_SYNC = (
    (httpx.HTTPTransport, "handle_request"),
    (httpcore.ConnectionPool, "handle_request"),
)
_ASYNC = (
    (httpx.AsyncHTTPTransport, "handle_async_request"),
    (httpcore.AsyncConnectionPool, "handle_async_request"),
)
_ORIGINALS = {(owner, name): _original(owner, name) for owner, name in (*_SYNC, *_ASYNC)}


def sync_mocked() -> bool:
    return any(owner.__dict__.get(name) is not _ORIGINALS[owner, name] for owner, name in _SYNC)


def async_mocked() -> bool:
    return any(owner.__dict__.get(name) is not _ORIGINALS[owner, name] for owner, name in _ASYNC)
