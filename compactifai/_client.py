"""Sync and async clients: thin drivers over the I/O-free logic in ``_protocol``."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import platform
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from compactifai import _churn
from compactifai import _protocol as ops
from compactifai._defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    env_api_key,
    env_base_url,
    env_setting,
)
from compactifai._protocol import ChunkStreamParser, Operation, Retry, RetryPolicy
from compactifai._version import __version__
from compactifai.errors import (
    BadRequestError,
    MissingAPIKeyError,
    status_error_from_response,
)
from compactifai.types import ChatCompletion, ChatCompletionChunk, Completion, Model, UsageReport

if TYPE_CHECKING:
    from compactifai._aiohttp import AiohttpTransport

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "AsyncCompactifAIClient",
    "CompactifAIClient",
]

logger = logging.getLogger("compactifai")
_httpx_logger = logging.getLogger("httpx")

# httpx's default pool (100 connections) queues a burst of concurrent agent calls.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=256, max_keepalive_connections=64, keepalive_expiry=30
)
USER_AGENT = f"compactifai-integrations/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"

# Errors of our own making (a malformed URL) are not worth a retry.
_NOT_RETRYABLE_TRANSPORT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
_warned_cleartext_hosts: set[str] = set()
# Module attributes so tests can observe the waits without waiting.
_sleep = time.sleep
_async_sleep = asyncio.sleep

# "aiohttp" (when installed) or "httpx": what the default async client sends through.
ASYNC_BACKEND = env_setting("COMPACTIFAI_ASYNC_BACKEND", "aiohttp")
# "socket" (``_sync_http``, a lean HTTP/1.1 transport) or "httpx": the default sync client's.
SYNC_BACKEND = env_setting("COMPACTIFAI_SYNC_BACKEND", "socket")


_aiohttp_transport: type[AiohttpTransport] | None = None


def _environment_proxies() -> bool:
    """Whether HTTP(S)_PROXY/ALL_PROXY are set: httpx honours them only with its own transport."""
    return any(urllib.request.getproxies().get(k) for k in ("http", "https", "all"))


def _default_sync_transport() -> httpx.BaseTransport | None:
    if SYNC_BACKEND != "socket" or _environment_proxies():
        return None
    from compactifai._sync_http import SocketTransport

    return SocketTransport(DEFAULT_LIMITS)


def _default_async_transport() -> httpx.AsyncBaseTransport | None:
    """aiohttp's pool when it is installed and not switched off, else httpx's own (None).

    httpcore's async pool slows down steeply with many concurrent requests (see ``_aiohttp``).
    """
    global _aiohttp_transport
    if ASYNC_BACKEND != "aiohttp" or _environment_proxies():
        return None
    try:
        from compactifai._aiohttp import AiohttpTransport
    except ImportError:
        return None
    _aiohttp_transport = AiohttpTransport
    return AiohttpTransport(DEFAULT_LIMITS)


HttpClientT = TypeVar("HttpClientT", httpx.Client, httpx.AsyncClient)
T = TypeVar("T")


class _Secret:
    """Holds the API key so that no repr, str or log line can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'**********'"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("The API key is not picklable")


def _secret_value(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)  # pydantic SecretStr
    return str(getter() if callable(getter) else value) or None


def _warn_if_cleartext(base_url: str) -> None:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "http" or host in _warned_cleartext_hosts:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        _warned_cleartext_hosts.add(host)
        logger.warning(
            "base_url %s uses plain http:// to a non-loopback host: the API key travels unencrypted.",
            base_url,
        )


class _BaseClient(Generic[HttpClientT]):
    """Configuration, request building and response checks shared by both drivers."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: HttpClientT | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        key = _secret_value(api_key) or env_api_key()
        self._api_key = _Secret(key) if key else None
        self.base_url = (base_url or env_base_url() or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self.default_headers = dict(default_headers or {})
        self._http: HttpClientT | None = http_client
        self._owns_http = http_client is None
        self._urls: dict[str, httpx.URL] = {}
        self._default_pool_headers: list[tuple[str, str]] | None = None
        self._timeout_extension = self.timeout.as_dict()
        _warn_if_cleartext(self.base_url)

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self.max_retries}, api_key={'set' if self._api_key else 'unset'})"
        )

    def _headers(self, stream: bool, extra_headers: Mapping[str, str] | None) -> dict[str, str]:
        if self._api_key is None:
            raise MissingAPIKeyError()
        headers = {
            "user-agent": USER_AGENT,
            "accept": "text/event-stream" if stream else "application/json",
            **{k.lower(): v for k, v in self.default_headers.items()},
            **{k.lower(): v for k, v in (extra_headers or {}).items()},
            "authorization": f"Bearer {self._api_key.get()}",
        }
        headers.setdefault("x-request-id", uuid.uuid4().hex)
        return headers

    def _build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        op: Operation[Any],
        extra_headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        ours = self._headers(op.stream, extra_headers)
        if op.body is not None:
            ours["content-type"] = "application/json"
        if self._direct(http):
            # What build_request makes for a client with no base URL, cookies, params or
            # auth, without re-parsing the URL and re-normalising the client's headers each call.
            return httpx.Request(
                op.method,
                self._url(op.path),
                headers=self._pool_headers(http) + list(ours.items()),
                content=op.body,
                extensions={"timeout": self._timeout_extension},
            )
        return http.build_request(
            op.method,
            self.base_url + op.path,
            content=op.body,
            headers=ours,
            timeout=self.timeout,
        )

    def _direct(self, http: httpx.Client | httpx.AsyncClient) -> bool:
        """Whether requests may go straight to the transport of our own pool.

        ``Client.send`` costs about as much CPU as the HTTP exchange itself (auth and redirect
        generators, a cookie jar pass, URL merging). For the pool this object created (no auth,
        redirects off, no event hooks) that work only matters when the environment set a proxy
        (a mounted transport) or the server set a cookie: then requests take the ordinary path.
        """
        return (
            self._owns_http
            and not any(http._mounts.values())  # proxies from the environment
            and not http.cookies.jar
        )

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
            if len(self._urls) > 64:  # retrieve_model paths vary; keep the cache small
                self._urls.clear()
        return url

    def _pool_headers(self, http: httpx.Client | httpx.AsyncClient) -> list[tuple[str, str]]:
        """The client's default headers that ours do not override (accept-encoding, connection)."""
        if self._default_pool_headers is None:
            ours = {"user-agent", "accept", "authorization", "x-request-id", "content-type"}
            ours.update(k.lower() for k in self.default_headers)
            self._default_pool_headers = [
                (k, v) for k, v in http.headers.multi_items() if k.lower() not in ours
            ]
        return self._default_pool_headers

    def _direct_response(
        self,
        http: httpx.Client | httpx.AsyncClient,
        request: httpx.Request,
        response: httpx.Response,
    ) -> httpx.Response:
        """What ``Client.send`` adds to a transport's response: request, cookies, log line."""
        response.request = request
        response.default_encoding = http._default_encoding
        if "set-cookie" in response.headers:
            http.cookies.extract_cookies(response)
        if _httpx_logger.isEnabledFor(logging.INFO):
            _httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method, request.url, response.http_version, response.status_code,
                response.reason_phrase,
            )  # fmt: skip
        return response

    def _after_transport_error(
        self, exc: httpx.TransportError, request: httpx.Request, attempt: int
    ) -> Retry:
        request_id = request.headers.get("x-request-id")
        delay = None
        if not isinstance(exc, _NOT_RETRYABLE_TRANSPORT):
            delay = self.retry_policy.delay_after_connection_error(attempt)
        if delay is None:
            raise ops.connection_error(exc, request_id, attempt) from exc
        logger.info(
            "%s %s failed (%s); retrying in %.2fs (attempt %d, request id %s)",
            request.method, request.url.path, type(exc).__name__, delay, attempt, request_id,
        )  # fmt: skip
        return Retry(delay)

    def _parse_success(self, op: Operation[T], response: httpx.Response, content: bytes) -> T:
        request_id = self._request_id(response)
        logger.debug(
            "%s %s -> %d (request id %s)",
            response.request.method, response.request.url.path, response.status_code, request_id,
        )  # fmt: skip
        ops.check_content_type(
            response.headers.get("content-type", ""),
            stream=op.stream,
            status_code=response.status_code,
            request_id=request_id,
            content=content,
        )
        return op.parse(content, request_id)

    def _retry_or_raise(
        self, op: Operation[Any], response: httpx.Response, content: bytes, attempt: int
    ) -> Retry:
        """A failed response: wait and retry when the policy allows, else raise its typed error."""
        request_id = self._request_id(response)
        delay = self.retry_policy.delay_after_status(
            attempt, response.status_code, response.headers
        )
        if delay is None:
            raise status_error_from_response(
                response.status_code,
                content,
                request_id,
                attempts=attempt,
                not_found_message=op.not_found_message,
            )
        logger.info(
            "%s %s answered %d; retrying in %.2fs (attempt %d, request id %s)",
            response.request.method, response.request.url.path, response.status_code, delay,
            attempt, request_id,
        )  # fmt: skip
        return Retry(delay)

    @staticmethod
    def _request_id(response: httpx.Response) -> str | None:
        request_id: str | None = response.headers.get("x-request-id")
        return request_id or response.request.headers.get("x-request-id")

    def _stream_parser(
        self, op: Operation[ChatCompletionChunk], response: httpx.Response
    ) -> ChunkStreamParser:
        return ChunkStreamParser(op.parse, self._request_id(response))

    @staticmethod
    def _is_event_stream(response: httpx.Response) -> bool:
        return response.is_success and "text/event-stream" in response.headers.get(
            "content-type", ""
        )


class CompactifAIClient(_BaseClient[httpx.Client]):
    """Synchronous client for the CompactifAI API.

    >>> with CompactifAIClient() as client:  # reads COMPACTIFAI_API_KEY
    ...     reply = client.create_chat_completion(
    ...         model="hypernova-60b", messages=[{"role": "user", "content": "Hi"}]
    ...     )
    """

    @property
    def http_client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.timeout, limits=DEFAULT_LIMITS, transport=_default_sync_transport()
            )
        return self._http

    def close(self) -> None:
        """Close the connection pool, unless the caller passed it in."""
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> CompactifAIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def list_models(self) -> list[Model]:
        return self._call(ops.list_models())

    def retrieve_model(self, model_id: str) -> Model:
        return self._call(ops.retrieve_model(model_id))

    def create_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ChatCompletion:
        with self._naming_missing_model(params):
            return self._call(ops.create_chat_completion(params), extra_headers)

    def stream_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Iterator[ChatCompletionChunk]:
        """Validate now; return an iterator that sends the request when first advanced."""
        op = ops.stream_chat_completion(params)
        return self._stream_naming_missing_model(self._stream(op, extra_headers), params)

    def create_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Completion:
        with self._naming_missing_model(params):
            return self._call(ops.create_completion(params), extra_headers)

    @contextmanager
    def _naming_missing_model(self, params: Mapping[str, Any]) -> Iterator[None]:
        """A 400 for a withdrawn model becomes a ModelNotFoundError listing the served ones."""
        try:
            yield
        except BadRequestError as exc:
            _churn.raise_if_missing_model(exc, params.get("model"), self._served_ids)
            raise

    def _served_ids(self) -> list[str]:
        return [model.id for model in self.list_models()]

    def _stream_naming_missing_model(
        self, chunks: Iterator[ChatCompletionChunk], params: Mapping[str, Any]
    ) -> Iterator[ChatCompletionChunk]:
        with self._naming_missing_model(params):
            yield from chunks

    def get_usage(
        self,
        start_time: str | datetime,
        end_time: str | datetime | None = None,
        window_size: str = "DAY",
        window_timezone: str = "UTC",
        group_by: Sequence[str] | None = None,
        filter_group_by: Mapping[str, Sequence[str]] | None = None,
    ) -> UsageReport:
        return self._call(
            ops.get_usage(
                start_time, end_time, window_size, window_timezone, group_by, filter_group_by
            )
        )

    def _send(self, request: httpx.Request, stream: bool = False) -> httpx.Response:
        http = self.http_client
        if not self._direct(http):
            return http.send(request, stream=stream)
        response = self._direct_response(http, request, http._transport.handle_request(request))
        if not stream:
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        return response

    def _call(self, op: Operation[T], extra_headers: Mapping[str, str] | None = None) -> T:
        request = self._build(self.http_client, op, extra_headers)
        attempt = 1
        while True:
            try:
                response = self._send(request)
            except httpx.TransportError as exc:
                outcome = self._after_transport_error(exc, request, attempt)
            else:
                if response.is_success:
                    return self._parse_success(op, response, response.content)
                outcome = self._retry_or_raise(op, response, response.content, attempt)
            _sleep(outcome.delay)
            attempt += 1

    def _stream(
        self, op: Operation[ChatCompletionChunk], extra_headers: Mapping[str, str] | None
    ) -> Iterator[ChatCompletionChunk]:
        request = self._build(self.http_client, op, extra_headers)
        attempt = 1
        while True:
            try:
                response = self._send(request, stream=True)
            except httpx.TransportError as exc:
                outcome = self._after_transport_error(exc, request, attempt)
            else:
                try:
                    if not response.is_success:
                        outcome = self._retry_or_raise(op, response, response.read(), attempt)
                    elif not self._is_event_stream(response):
                        self._parse_success(
                            op, response, response.read()
                        )  # raises: not an event stream
                        return
                    else:
                        parser = self._stream_parser(op, response)
                        try:
                            for data in response.iter_bytes():
                                yield from parser.feed(data)
                                if parser.done:
                                    return
                        except httpx.TransportError as exc:
                            if parser.chunks_received:
                                raise parser.interrupted(exc) from exc
                            outcome = self._after_transport_error(exc, request, attempt)
                        else:
                            parser.finish()
                            return
                finally:
                    response.close()
            _sleep(outcome.delay)
            attempt += 1


class AsyncCompactifAIClient(_BaseClient[httpx.AsyncClient]):
    """Asynchronous client for the CompactifAI API; the same methods, awaitable.

    ``stream_chat_completion`` returns an async iterator: ``async for chunk in client.stream_chat_completion(...)``.
    """

    @property
    def http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.timeout, limits=DEFAULT_LIMITS, transport=_default_async_transport()
            )
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool, unless the caller passed it in."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    close = aclose

    async def __aenter__(self) -> AsyncCompactifAIClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def list_models(self) -> list[Model]:
        return await self._call(ops.list_models())

    async def retrieve_model(self, model_id: str) -> Model:
        return await self._call(ops.retrieve_model(model_id))

    async def create_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ChatCompletion:
        async with self._naming_missing_model(params):
            return await self._call(ops.create_chat_completion(params), extra_headers)

    def stream_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Validate now; return an async iterator that sends the request when first advanced."""
        op = ops.stream_chat_completion(params)
        return self._stream_naming_missing_model(self._stream(op, extra_headers), params)

    async def create_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Completion:
        async with self._naming_missing_model(params):
            return await self._call(ops.create_completion(params), extra_headers)

    @asynccontextmanager
    async def _naming_missing_model(self, params: Mapping[str, Any]) -> AsyncIterator[None]:
        """A 400 for a withdrawn model becomes a ModelNotFoundError listing the served ones."""
        try:
            yield
        except BadRequestError as exc:
            model = params.get("model")
            served = await _churn.served_ids(exc, model, self.list_models)
            _churn.raise_if_missing_model(exc, model, lambda: served)
            raise

    async def _stream_naming_missing_model(
        self, chunks: AsyncIterator[ChatCompletionChunk], params: Mapping[str, Any]
    ) -> AsyncIterator[ChatCompletionChunk]:
        # The server refuses a model before the first chunk: only that wait is watched.
        try:
            async with self._naming_missing_model(params):
                first = await anext(chunks, None)
            if first is None:
                return
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    async def get_usage(
        self,
        start_time: str | datetime,
        end_time: str | datetime | None = None,
        window_size: str = "DAY",
        window_timezone: str = "UTC",
        group_by: Sequence[str] | None = None,
        filter_group_by: Mapping[str, Sequence[str]] | None = None,
    ) -> UsageReport:
        return await self._call(
            ops.get_usage(
                start_time, end_time, window_size, window_timezone, group_by, filter_group_by
            )
        )

    async def _send(self, request: httpx.Request, stream: bool = False) -> httpx.Response:
        http = self.http_client
        if not self._direct(http):
            return await http.send(request, stream=stream)
        response = self._direct_response(
            http,
            request,
            await http._transport.handle_async_request(request),
        )
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response

    async def _call(self, op: Operation[T], extra_headers: Mapping[str, str] | None = None) -> T:
        http = self.http_client
        transport = http._transport
        if type(transport) is _aiohttp_transport and self._direct(http) and not transport.mocked():
            return await self._call_aiohttp(http, transport, op, extra_headers)
        request = self._build(http, op, extra_headers)
        attempt = 1
        while True:
            try:
                response = await self._send(request)
            except httpx.TransportError as exc:
                outcome = self._after_transport_error(exc, request, attempt)
            else:
                if response.is_success:
                    return self._parse_success(op, response, response.content)
                outcome = self._retry_or_raise(op, response, response.content, attempt)
            await _async_sleep(outcome.delay)
            attempt += 1

    async def _call_aiohttp(
        self,
        http: httpx.AsyncClient,
        transport: AiohttpTransport,
        op: Operation[T],
        extra_headers: Mapping[str, str] | None,
    ) -> T:
        """``_call`` on our aiohttp pool without httpx request and response objects.

        A plain success (JSON, not compressed, no cookie, httpx's log line off) is parsed straight
        from aiohttp's answer; anything else becomes an httpx response and takes the usual path.
        """
        ours = self._headers(op.stream, extra_headers)
        if op.body is not None:
            ours["content-type"] = "application/json"
        headers = self._pool_headers(http) + list(ours.items())
        url = self.base_url + op.path
        attempt = 1
        while True:
            try:
                status, found, raw, content = await transport.fetch(
                    op.method, url, headers, op.body, self._timeout_extension
                )
            except httpx.TransportError as exc:
                request = httpx.Request(op.method, url, headers=headers, content=op.body)
                outcome = self._after_transport_error(exc, request, attempt)
            else:
                if (
                    200 <= status < 300
                    and "set-cookie" not in found
                    and "content-encoding" not in found
                    and not _httpx_logger.isEnabledFor(logging.INFO)
                ):
                    request_id = found.get("x-request-id") or ours["x-request-id"]
                    logger.debug(
                        "%s %s -> %d (request id %s)", op.method, op.path, status, request_id
                    )
                    ops.check_content_type(
                        found.get("content-type", ""),
                        stream=op.stream,
                        status_code=status,
                        request_id=request_id,
                        content=content,
                    )
                    return op.parse(content, request_id)
                request = httpx.Request(op.method, url, headers=headers, content=op.body)
                response = self._direct_response(
                    http, request, httpx.Response(status, headers=raw, content=content)
                )
                if response.is_success:
                    return self._parse_success(op, response, response.content)
                outcome = self._retry_or_raise(op, response, response.content, attempt)
            await _async_sleep(outcome.delay)
            attempt += 1

    async def _stream(
        self, op: Operation[ChatCompletionChunk], extra_headers: Mapping[str, str] | None
    ) -> AsyncIterator[ChatCompletionChunk]:
        request = self._build(self.http_client, op, extra_headers)
        attempt = 1
        while True:
            try:
                response = await self._send(request, stream=True)
            except httpx.TransportError as exc:
                outcome = self._after_transport_error(exc, request, attempt)
            else:
                try:
                    if not response.is_success:
                        outcome = self._retry_or_raise(
                            op, response, await response.aread(), attempt
                        )
                    elif not self._is_event_stream(response):
                        self._parse_success(op, response, await response.aread())  # raises
                        return
                    else:
                        parser = self._stream_parser(op, response)
                        try:
                            async for data in response.aiter_bytes():
                                for chunk in parser.feed(data):
                                    yield chunk
                                if parser.done:
                                    return
                        except httpx.TransportError as exc:
                            if parser.chunks_received:
                                raise parser.interrupted(exc) from exc
                            outcome = self._after_transport_error(exc, request, attempt)
                        else:
                            parser.finish()
                            return
                finally:
                    await response.aclose()
            await _async_sleep(outcome.delay)
            attempt += 1
