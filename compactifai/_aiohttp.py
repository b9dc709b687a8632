"""An httpx transport on aiohttp's connection pool, for the default async client.

httpcore's async pool spends time quadratic in the number of connections and waiting requests
(each finished request rescans both): 256 concurrent calls to a server answering in 50 ms take
seconds instead of about 0.1 s. aiohttp's pool does not degrade that way and its C parser
refuses malformed framing, so ``AsyncCompactifAIClient`` sends through this transport when
aiohttp is installed (``pip install "compactifai-integrations[aiohttp]"``). It is an ordinary
``httpx.AsyncBaseTransport`` behind ``httpx.AsyncClient.send``, using aiohttp's public API only.

Every failure of the aiohttp stack (its errors, timeouts, a ``RuntimeError`` from a reader
whose connection went away, an ``OSError``) becomes the httpx error httpcore raises in the
same situation, so retries and typed errors behave the same on either transport. aiohttp
itself re-sends a request on a stale keep-alive connection only for idempotent methods; a
POST (billable) is sent once per attempt of the client's retry policy.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx

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
    (OSError, httpx.ReadError),
    # aiohttp's StreamReader: "Connection closed." when its connection was closed under it.
    (RuntimeError, httpx.ReadError),
)
_MAPPED = (aiohttp.ClientError, asyncio.TimeoutError, OSError, RuntimeError)


def _mapped(exc: BaseException, request: httpx.Request | None) -> httpx.TransportError:
    """The httpx error for one of ``_MAPPED`` (a plain function: no context manager set up
    on every request and body read, where nothing fails)."""
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__, request=request)
    raise AssertionError("RuntimeError is the last entry") from exc  # pragma: no cover


def _raw_headers(response: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    raw = response.raw_headers
    if raw is None:  # a stand-in response (vcrpy's cassette replay) may have only ``headers``
        return [(k.encode(), v.encode()) for k, v in response.headers.items()]
    return list(raw)


class _ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives (no re-chunking: a server-sent event is passed on at once)."""

    __slots__ = ("_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request | None) -> None:
        self._response = response
        self._request = request

    def __aiter__(self) -> AsyncIterator[bytes]:
        # An iterator object, not an async generator: no generator for the event loop to
        # register, track and finalize on every response.
        return self

    async def __anext__(self) -> bytes:
        try:
            data = await self._response.content.readany()
        except _MAPPED as exc:
            raise _mapped(exc, self._request) from exc
        if not data:
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        response = self._response
        if response.content.is_eof():
            response.release()  # the whole body was read: back to the pool
        else:
            response.close()  # abandoned mid-body: the connection cannot be reused


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests over an ``aiohttp`` pool of ``limits.max_connections`` connections.

    The pool belongs to the event loop it was opened in; ``aclose()`` closes it (the client
    owning it does that before the loop closes, see ``compactifai._loop_pools``).
    """

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self._limits = limits
        self._verify = verify
        self._ssl: ssl.SSLContext | bool | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Read the body first (a multipart upload is a stream): aiohttp sends it in one piece.
        # A body given as bytes was read when the request was built.
        try:
            content = request.content or None
        except httpx.RequestNotRead:
            content = await request.aread() or None
        headers = request.headers
        encoding = headers.encoding  # a property that scans every header: read it once
        return await self.send_direct(
            request.method,
            request.url,
            [(k.decode(encoding), v.decode(encoding)) for k, v in headers.raw],
            content,
            request.extensions.get("timeout", {}),
            request,
        )

    async def send_direct(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str] | list[tuple[str, str]],
        content: bytes | None,
        timeout: Mapping[str, float | None],
        request: httpx.Request | None = None,
    ) -> httpx.Response:
        """Send a request given by its parts, without an ``httpx.Request``.

        Building an ``httpx.Request`` (its headers normalized twice, a URL, a byte stream) is
        most of what a call allocates before it waits for the server; a client sending on a
        pool it opened itself hands the parts here (``compactifai._own_pool.DirectRequest``).
        ``request``, when there is one, is attached to the errors raised.
        """
        session = self._session
        if session is None or session.closed:
            session = self._open()
        try:
            response = await session.request(
                method,
                str(url),
                headers=headers,
                data=content,
                allow_redirects=False,
                compress=None,
                ssl=self._ssl_for(url.scheme),
                timeout=self._timeout(timeout),
            )
        except _MAPPED as exc:
            raise _mapped(exc, request) from exc
        coding = response.headers.get("transfer-encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            # As h11 does: a coding other than chunked (gzip, compress...) is not decoded by
            # either library, so the body could not be trusted.
            response.close()
            raise httpx.RemoteProtocolError(
                f"Unsupported Transfer-Encoding {coding[:40]!r}", request=request
            )
        return httpx.Response(
            response.status,
            headers=_raw_headers(response),
            stream=_ResponseStream(response, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _timeout(self, timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        cached = self._timeouts.get(key)
        if cached is None:
            connect, read, pool = key
            cached = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None,
                # aiohttp's connect timeout covers waiting for a free connection of the pool.
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
        return cached

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
