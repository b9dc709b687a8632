"""An httpx transport on aiohttp's connection pool, for the default async client.

httpcore's async pool spends time quadratic in the number of connections and waiting requests
(each finished request rescans both): 256 concurrent calls to a server answering in 50 ms take
seconds instead of about 0.1 s. aiohttp's C-accelerated HTTP parser and its pool do not
degrade that way, so ``AsyncCompactifAIClient`` sends through this transport when aiohttp is
installed (``pip install "compactifai-integrations[aiohttp]"``); the public API stays httpx
(requests, responses, errors, a caller's own ``httpx.AsyncClient``).

aiohttp's errors are mapped to the httpx errors httpcore raises in the same situation, so
retries and typed errors behave the same on either transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx

from compactifai._mocked import async_mocked

__all__ = ["AiohttpTransport"]

# Most specific first: the first match wins.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
    (asyncio.TimeoutError, httpx.TimeoutException),
)


@contextmanager
def _mapped_errors(request: httpx.Request | None) -> Iterator[None]:
    try:
        yield
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__, request=request) from exc
        raise  # pragma: no cover - ClientError is the last entry


def _raw_headers(response: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    raw = response.raw_headers
    if raw is None:  # a stand-in response (vcrpy's cassette replay) may have only ``headers``
        return [(k.encode(), v.encode()) for k, v in response.headers.items()]
    return list(raw)


class _ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives (no re-chunking: a server-sent event is passed on at once)."""

    __slots__ = ("_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors(self._request):
            async for data in self._response.content.iter_any():
                yield data

    async def aclose(self) -> None:
        response = self._response
        if response.content.is_eof():
            response.release()  # back to the pool
        else:
            response.close()  # abandoned mid-body: the connection cannot be reused


class _ConnectionView:
    __slots__ = ("_idle", "_protocol")

    def __init__(self, protocol: Any, idle: bool) -> None:
        self._protocol = protocol
        self._idle = idle

    def is_idle(self) -> bool:
        return self._idle

    def is_closed(self) -> bool:
        return not self._protocol.is_connected()


class _PoolView:
    """An httpcore-shaped look at the pool: ``connections`` with ``is_idle()``/``is_closed()``."""

    def __init__(self, connector: aiohttp.BaseConnector | None) -> None:
        self._connector = connector

    @property
    def connections(self) -> list[_ConnectionView]:
        connector = self._connector
        if connector is None:
            return []
        busy = [_ConnectionView(p, False) for p in getattr(connector, "_acquired", ())]
        idle = [
            _ConnectionView(protocol, True)
            for queue in getattr(connector, "_conns", {}).values()
            for protocol, _ in queue
        ]
        return busy + idle


def _close_quietly(session: aiohttp.ClientSession) -> None:
    """A transport dropped without ``aclose()`` (as httpx allows): close its sockets silently."""
    connector = session.connector
    if connector is not None and not connector.closed:
        # The synchronous half of ``connector.close()``; with the loop already closed it only
        # marks the pool closed and leaves the sockets to the garbage collector, like httpcore.
        with contextlib.suppress(Exception):
            connector._close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests over an ``aiohttp`` pool of ``limits.max_connections`` connections."""

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self._limits = limits
        self._verify = verify
        self._fallback: httpx.AsyncHTTPTransport | None = None
        self._ssl: ssl.SSLContext | bool | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def _pool(self) -> _PoolView:
        return _PoolView(self._session.connector if self._session is not None else None)

    def _open(self) -> aiohttp.ClientSession:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,  # type: ignore[arg-type]
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            auto_decompress=False,  # httpx decodes content-encoding
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # httpx closes nothing when a client is garbage collected; aiohttp would log an error.
        weakref.finalize(self, _close_quietly, self._session)
        return self._session

    def _ssl_for(self, scheme: str) -> ssl.SSLContext | bool:
        if scheme != "https":
            return True  # aiohttp's default; unused for http
        if self._ssl is None:
            # The same trust store as httpx (certifi, SSL_CERT_FILE...).
            self._ssl = (
                self._verify
                if isinstance(self._verify, ssl.SSLContext)
                else httpx.create_ssl_context(verify=self._verify)
            )
        return self._ssl

    def mocked(self) -> bool:
        """While tests patch httpx's transport, requests go through it (see ``_mocked``)."""
        return async_mocked()

    def _httpx_transport(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            verify = self._verify
            self._fallback = httpx.AsyncHTTPTransport(verify=verify, limits=self._limits)
        return self._fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if async_mocked():
            return await self._httpx_transport().handle_async_request(request)
        session = self._session
        if session is None or session.closed:
            session = self._open()
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            content: bytes | None = request.content or None
        except httpx.RequestNotRead:  # pragma: no cover - the client sends bytes bodies
            content = await request.aread() or None
        with _mapped_errors(request):
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=content,
                allow_redirects=False,
                compress=None,
                ssl=self._ssl_for(request.url.scheme),
                timeout=self._timeout(timeout),
            )
        return httpx.Response(
            response.status,
            headers=_raw_headers(response),
            stream=_ResponseStream(response, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _timeout(self, timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        cached = self._timeouts.get(key)
        if cached is None:
            connect, read, pool = key
            cached = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None,
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
        return cached

    async def fetch(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        timeout: dict[str, float | None],
    ) -> tuple[int, Mapping[str, str], list[tuple[bytes, bytes]], bytes]:
        """One whole exchange without httpx's request and response objects (the client's fast path).

        Returns the status, the headers (case-insensitive), the raw headers and the body as
        sent (not decoded); errors are httpx's, as from ``handle_async_request``.
        """
        session = self._session
        if session is None or session.closed:
            session = self._open()
        with _mapped_errors(None):
            async with session.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                compress=None,
                ssl=self._ssl_for("https" if url.startswith("https:") else "http"),
                timeout=self._timeout(timeout),
            ) as response:
                body = await response.read()
        return response.status, response.headers, _raw_headers(response), body

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None
