"""Whether a test library has patched httpx's transports (vcrpy, respx, ``unittest.mock``).

Our own transports (``_sync_http``, ``_aiohttp``) talk to sockets and aiohttp directly; while
httpx's or httpcore's send methods are patched, they hand requests to httpx's own transport
instead, so that cassettes and mocks in the user's tests see every request, as before.

A send method counts as patched unless it is the plain function its package defines: mock
objects are not functions, and wrappers (``functools.wraps``) carry ``__wrapped__``.
"""

from __future__ import annotations

import sys
from types import FunctionType

import httpx

__all__ = ["async_mocked", "sync_mocked"]


def _patched(owner: type, name: str) -> bool:
    method = owner.__dict__.get(name)
    return not (
        isinstance(method, FunctionType)
        and not hasattr(method, "__wrapped__")
        and method.__module__.split(".", 1)[0] in ("httpx", "httpcore")
    )


def sync_mocked() -> bool:
    if _patched(httpx.HTTPTransport, "handle_request"):
        return True
    httpcore = sys.modules.get("httpcore")  # not imported: nothing can have patched it
    return httpcore is not None and _patched(httpcore.ConnectionPool, "handle_request")


def async_mocked() -> bool:
    if _patched(httpx.AsyncHTTPTransport, "handle_async_request"):
        return True
    httpcore = sys.modules.get("httpcore")
    return httpcore is not None and _patched(httpcore.AsyncConnectionPool, "handle_async_request")
