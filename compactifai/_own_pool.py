"""Sending on the connection pool a client opened itself, through its transport's public API.

httpx's client layer (``Client.build_request`` and ``Client.send``) costs about as much as the
rest of one of our calls: header merging through ``httpx.Headers``, the auth and redirect
generators, and, on every response, a pass of the standard library's cookie jar through
urllib request/response adapters. On a pool the client opened itself none of that is
configured (no auth, no redirects followed, no event hooks, no base URL, no mounts), so its
requests go to the transport directly, through ``BaseTransport.handle_request`` /
``AsyncBaseTransport.handle_async_request``, and this module does the little the client
layer would have done: the client's default headers, the timeout extension, and its cookies
(sent when the jar holds any, stored when a response sets any).

On the async client's aiohttp pool, a request with a JSON body (or none) is not even built
as an ``httpx.Request``: its parts go to the transport's ``send_direct`` as a
``DirectRequest``. The ``httpx.Request`` (fifteen-odd objects: its headers normalized twice,
a URL, a byte stream) is most of what a call allocates before it waits for the server, and
with hundreds of calls in flight those objects are what drive the garbage collector's full
collections (bench/README.md). Uploads, query strings and a jar holding cookies take the
``httpx.Request`` path.

What still sees every request: vcrpy (it patches httpx's transports and aiohttp's session),
respx's default mocker (httpcore's pool, under ``httpx.HTTPTransport``) and the client's cookie
jar (``http_client.cookies``). A caller's own ``http_client``, and a pool with proxies from
the environment (httpx mounts those inside the client), always go through ``Client.send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

import httpx

__all__ = ["DirectRequest", "OwnPool"]

ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class DirectRequest(NamedTuple):
    """A request for a transport that sends one given by its parts (``send_direct``, as the
    aiohttp transport does): one object per call where an ``httpx.Request`` is about fifteen,
    all of them alive while the call waits for the server. ``headers`` include the pool's."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    content: bytes | None


class OwnPool(Generic[ClientT, TransportT]):
    """An httpx client we created around ``transport``, and what sending on it needs, once."""

    __slots__ = ("_default_headers", "_send_direct", "_timeout", "http", "transport")

    http: ClientT
    transport: TransportT

    def __init__(self, http: ClientT, transport: TransportT) -> None:
        self.http = http
        self.transport = transport
        # Invariant per pool: computed once here, not merged again on every request.
        self._default_headers = {name.lower(): value for name, value in http.headers.items()}
        self._timeout = http.timeout.as_dict()
        self._send_direct: Callable[..., Awaitable[httpx.Response]] | None = getattr(
            transport, "send_direct", None
        )

    def request(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str],
        *,
        content: bytes | None = None,
        params: Any = None,
        files: Any = None,
        data: Any = None,
    ) -> httpx.Request:
        """What ``build_request`` would build: ``headers`` over the client's own, its cookies."""
        if self.http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        return httpx.Request(
            method,
            url,
            content=content,
            params=params,
            files=files,
            data=data,
            headers={**self._default_headers, **headers},
            cookies=self.http.cookies or None,
            extensions={"timeout": self._timeout},
        )

    def direct_request(
        self, method: str, url: httpx.URL, headers: Mapping[str, str], content: bytes | None
    ) -> DirectRequest | None:
        """The request as its parts, when the transport sends such (None: build an
        ``httpx.Request``, which also carries the cookies of a jar that holds any)."""
        if self._send_direct is None or self.http.cookies:
            return None
        if self.http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        return DirectRequest(method, url, {**self._default_headers, **headers}, content)

    async def send_direct(self, request: DirectRequest) -> httpx.Response:
        """Send a ``direct_request`` on the transport; cookies it sets are kept."""
        assert self._send_direct is not None, "direct_request made it"
        response: httpx.Response = await self._send_direct(*request, self._timeout)
        if "set-cookie" in response.headers:
            # The jar reads the URL from the request: only now is an httpx.Request needed.
            method, url, headers, content = request
            return self.received(self.request(method, url, headers, content=content), response)
        return response

    def received(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """The transport's response, tied to its request; cookies it sets are kept."""
        response.request = request
        if "set-cookie" in response.headers:
            self.http.cookies.extract_cookies(response)
        return response
