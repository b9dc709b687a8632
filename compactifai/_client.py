"""Sync and async clients: thin drivers over the I/O-free logic in ``_protocol``.

Every request goes through ``httpx.Client.send`` / ``httpx.AsyncClient.send``, so proxies,
cookies, event hooks, vcrpy cassettes, respx and a user's own mocks see it like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import platform
import threading
import time
import urllib.request
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Generic, Literal, Protocol, TypeVar, Union, overload
from urllib.parse import urlsplit

import httpx

from compactifai import _protocol as ops
from compactifai import _served_catalog, capabilities
from compactifai import responses as _responses
from compactifai._defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    env_api_key,
    env_base_url,
    env_setting,
)
from compactifai._loop_pools import aclose_pool, close_with_loop
from compactifai._own_pool import DirectRequest, OwnPool
from compactifai._protocol import Exchange, Operation, RetryPolicy
from compactifai._version import __version__
from compactifai.audio import (
    DEFAULT_TRANSCRIPTION_MODEL,
    AudioInput,
    ResponseFormat,
    Transcription,
    check_transcription_model,
    open_audio,
    transcription,
)
from compactifai.errors import (
    BadRequestError,
    CompactifAIError,
    MissingAPIKeyError,
    RequestValidationError,
)
from compactifai.types import (
    Batch,
    BatchList,
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    FileObject,
    Model,
    ResponsesResult,
    ResponseStreamEvent,
    UsageReport,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "AsyncCompactifAIClient",
    "CompactifAIClient",
]

logger = logging.getLogger("compactifai")

# httpx's default pool (100 connections) queues a burst of concurrent agent calls.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=256, max_keepalive_connections=64, keepalive_expiry=30
)
USER_AGENT = f"compactifai-integrations/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
# After a stream's [DONE], how long the end of its body may take to arrive: reading it lets the
# connection go back to the pool; a server slower than this costs a new connection, not a wait.
DRAIN_TIMEOUT = 0.5

_warned_cleartext_hosts: set[str] = set()
# Module attributes so tests can observe the waits without waiting.
_sleep = time.sleep
_async_sleep = asyncio.sleep

# "aiohttp" (when installed) or "httpx": what the default async client sends through.
ASYNC_BACKEND = env_setting("COMPACTIFAI_ASYNC_BACKEND", "aiohttp")


def _environment_proxies() -> bool:
    """Whether HTTP(S)_PROXY/ALL_PROXY are set: httpx honours them only with its own transport."""
    return any(urllib.request.getproxies().get(k) for k in ("http", "https", "all"))


def _default_async_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """aiohttp's pool when it is installed and not switched off, else httpx's own; None
    (httpx's client mounting them) with proxies from the environment.

    httpcore's async pool slows down steeply with many concurrent requests (see ``_aiohttp``).
    """
    if _environment_proxies():
        return None
    if ASYNC_BACKEND == "aiohttp":
        try:
            from compactifai._aiohttp import AiohttpTransport
        except ImportError:
            pass
        else:
            return AiohttpTransport(limits)
    return httpx.AsyncHTTPTransport(limits=limits)


def _default_sync_transport(limits: httpx.Limits) -> httpx.BaseTransport | None:
    """httpx's own pool; None (httpx's client mounting them) with proxies from the environment."""
    return None if _environment_proxies() else httpx.HTTPTransport(limits=limits)


# ---------------------------------------------------------------------------- files (I/O helpers)

FileInput = Union[str, "PathLike[str]", bytes, BinaryIO]


@contextlib.contextmanager
def _upload_source(file: FileInput, filename: str | None) -> Iterator[tuple[str, BinaryIO | bytes]]:
    """(file name, content) for a multipart upload; a path is opened here and closed after."""
    if isinstance(file, (bytes, bytearray)):
        yield filename or "input.jsonl", bytes(file)
    elif isinstance(file, (str, PathLike)):
        path = Path(file)
        with path.open("rb") as handle:
            yield filename or path.name, handle
    elif hasattr(file, "read"):
        yield filename or Path(str(getattr(file, "name", "input.jsonl"))).name, file
    else:
        raise RequestValidationError(
            "file", f"expected a path, bytes or a binary file object (got {type(file).__name__})"
        )


@contextlib.contextmanager
def _download_sink(destination: str | PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    """A writable binary sink; a path is written beside itself and renamed once complete,
    so an interrupted download never leaves a truncated file under the final name."""
    if not isinstance(destination, (str, PathLike)):
        yield destination
        return
    path = Path(destination)
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as handle:
            yield handle
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _next_cursor(page: BatchList) -> str | None:
    return page.last_id if page.has_more and page.last_id and page.data else None


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


class _Addressed(Protocol):
    @property
    def url(self) -> httpx.URL: ...


# What a driver sends: an ``httpx.Request``, or for the async client's own aiohttp pool a
# ``DirectRequest`` (see ``_own_pool``).
RequestT = TypeVar("RequestT", bound=_Addressed)


class _BaseClient(Generic[HttpClientT, RequestT]):
    """Configuration and request building shared by both drivers."""

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
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        key = _secret_value(api_key) or env_api_key()
        if key is not None and ops._LINE_BREAKING.search(key):
            raise RequestValidationError("api_key", "may not contain CR, LF or NUL characters")
        self._api_key = _Secret(key) if key else None
        self.base_url = (base_url or env_base_url() or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        ops.check_headers(default_headers or {}, "default_headers")
        self.default_headers = dict(default_headers or {})
        self.limits = limits
        self._http: HttpClientT | None = http_client
        self._owns_http = http_client is None
        # The pool opened by this client, sent on without httpx's client layer (``_own_pool``).
        self._own_pool: OwnPool[Any, Any] | None = None
        self._closer: weakref.finalize[Any, Any]
        self._lock = threading.Lock()
        self._urls: dict[str, httpx.URL] = {}
        _warn_if_cleartext(self.base_url)

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    @property
    def _catalog_key(self) -> _served_catalog.CatalogKey:
        """Where this client's ``GET /models`` answers are kept (see ``_served_catalog``)."""
        return _served_catalog.catalog_key(
            self.base_url, self._api_key.get() if self._api_key else None
        )

    @property
    def _served_models(self) -> tuple[Model, ...] | None:
        """The catalog this client's server last listed (None: not listed in this process)."""
        return _served_catalog.cached(self._catalog_key)

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self.max_retries}, api_key={'set' if self._api_key else 'unset'})"
        )

    def _headers(
        self, op: Operation[Any], extra_headers: Mapping[str, str] | None
    ) -> dict[str, str]:
        if extra_headers:
            ops.check_headers(extra_headers, "extra_headers")
        if self._api_key is None:
            raise MissingAPIKeyError()
        headers = {
            "user-agent": USER_AGENT,
            "accept": "text/event-stream" if op.stream else "application/json",
            **{k.lower(): v for k, v in self.default_headers.items()},
            **{k.lower(): v for k, v in (extra_headers or {}).items()},
            "authorization": f"Bearer {self._api_key.get()}",
        }
        if op.body is not None:
            headers["content-type"] = "application/json"
        if op.raw:
            headers["accept"] = "*/*"
        headers.setdefault("x-request-id", uuid.uuid4().hex)
        return headers

    def _build(self, op: Operation[Any], headers: dict[str, str]) -> RequestT:
        raise NotImplementedError

    def _httpx_request(self, op: Operation[Any], headers: dict[str, str]) -> httpx.Request:
        http = self.http_client  # first: opening the pool is what sets _own_pool
        pool = self._own_pool
        if pool is not None:
            return pool.request(
                op.method,
                self._url(op.path),
                headers,
                content=op.body,
                params=op.params,
                files=op.files,
                data=op.form,
            )
        return http.build_request(
            op.method,
            self._url(op.path),
            content=op.body,
            params=op.params,
            files=op.files,
            data=op.form,
            headers=headers,
            timeout=self.timeout,
        )

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of a path (parsing costs more than the rest of building a request)."""
        address = self.base_url + path
        url = self._urls.get(address)
        if url is None:
            if len(self._urls) >= 64:  # retrieve_model paths vary: keep the cache small
                self._urls.clear()
            url = self._urls[address] = httpx.URL(address)
        return url

    @property
    def http_client(self) -> HttpClientT:
        raise NotImplementedError

    @contextmanager
    def _transcription(
        self,
        file: AudioInput,
        model: str,
        filename: str | None,
        content_type: str | None,
        options: Mapping[str, Any],
    ) -> Iterator[Operation[Transcription | str]]:
        """The request ``transcribe`` sends, checked against the catalog this client's server
        listed last (the server's refusal is read by the driver, ``_run``)."""
        check_transcription_model(model, self._served_models)
        with open_audio(file, filename, content_type) as upload:
            yield transcription(upload, model=model, **options)

    def _prepare(
        self, op: Operation[T], extra_headers: Mapping[str, str] | None, sink: BinaryIO | None
    ) -> tuple[RequestT, Exchange[T]]:
        """The request to send (as often as the exchange says) and the exchange deciding."""
        headers = self._headers(op, extra_headers)
        request = self._build(op, headers)
        exchange = Exchange(op, self.retry_policy, headers["x-request-id"], sink, request.url.path)
        return request, exchange


class CompactifAIClient(_BaseClient[httpx.Client, httpx.Request]):
    """Synchronous client for the CompactifAI API.

    >>> with CompactifAIClient() as client:  # reads COMPACTIFAI_API_KEY
    ...     reply = client.create_chat_completion(
    ...         model="hypernova-60b", messages=[{"role": "user", "content": "Hi"}]
    ...     )
    """

    @property
    def http_client(self) -> httpx.Client:
        http = self._http
        if http is None:
            with self._lock:  # threads sharing a client share one pool (and its limits)
                http = self._http
                if http is None:
                    transport = _default_sync_transport(self.limits)
                    http = httpx.Client(
                        timeout=self.timeout, limits=self.limits, transport=transport
                    )
                    if transport is not None:
                        self._own_pool = OwnPool(http, transport)
                    self._http = http
                    # A client nobody holds any more (no caller, no stream) closes its own pool.
                    self._closer = weakref.finalize(self, http.close)
        return http

    def close(self) -> None:
        """Close the connection pool, unless the caller passed it in."""
        if self._owns_http and self._http is not None:
            self._closer.detach()
            self._http.close()
            self._http = self._own_pool = None

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
        models = self._call(ops.list_models())
        _served_catalog.remember(self._catalog_key, models)
        return models

    def retrieve_model(self, model_id: str) -> Model:
        return self._call(ops.retrieve_model(model_id))

    def create_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ChatCompletion:
        return self._call(ops.create_chat_completion(params), extra_headers)

    def stream_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Iterator[ChatCompletionChunk]:
        """Validate now; return an iterator that sends the request when first advanced."""
        return self._stream(ops.stream_chat_completion(params), extra_headers)

    def create_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Completion:
        return self._call(ops.create_completion(params), extra_headers)

    # ------------------------------------------------------------------ Responses API

    def create_response(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ResponsesResult:
        """``POST /responses`` (see ``compactifai.responses``); validated before sending."""
        return self._call(_responses.create_response(params, self._served_models), extra_headers)

    def stream_response(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Iterator[ResponseStreamEvent]:
        """Validate now; return an iterator of typed events that sends the request when first
        advanced (an ``error`` or ``response.failed`` event raises its typed error)."""
        op = _responses.stream_response(params, self._served_models)
        return self._stream(op, extra_headers)

    def retrieve_response(self, response_id: str) -> ResponsesResult:
        """A response created with ``store=True`` by this key (else NotFoundError)."""
        return self._call(_responses.retrieve_response(response_id))

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

    # ------------------------------------------------------------------ files and batches

    def upload_file(
        self, file: FileInput, purpose: str = "batch", *, filename: str | None = None
    ) -> FileObject:
        """Upload a file (a path, bytes or a binary file object), e.g. a batch's JSONL input."""
        with _upload_source(file, filename) as (name, content):
            return self._call(ops.upload_file(name, content, purpose))

    @overload
    def download_file(self, file_id: str) -> bytes: ...
    @overload
    def download_file(self, file_id: str, destination: str | PathLike[str] | BinaryIO) -> int: ...
    def download_file(
        self, file_id: str, destination: str | PathLike[str] | BinaryIO | None = None
    ) -> bytes | int:
        """A file's content as bytes, or streamed to ``destination`` (returns bytes written)."""
        op = ops.download_file(file_id)
        if destination is None:
            return self._call(op)
        with _download_sink(destination) as sink:
            return self._download(op, sink)

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        metadata: Mapping[str, str] | None = None,
    ) -> Batch:
        return self._call(ops.create_batch(input_file_id, endpoint, metadata))

    def retrieve_batch(self, batch_id: str) -> Batch:
        return self._call(ops.retrieve_batch(batch_id))

    def cancel_batch(self, batch_id: str) -> Batch:
        return self._call(ops.cancel_batch(batch_id))

    def list_batches(self, after: str | None = None, limit: int = 20) -> BatchList:
        """One page of batches; ``iter_batches`` walks all of them."""
        return self._call(ops.list_batches(after, limit))

    def iter_batches(self, limit: int = 100) -> Iterator[Batch]:
        """Every batch, fetching pages of ``limit`` as the iteration goes."""
        after: str | None = None
        while True:
            page = self.list_batches(after, limit)
            yield from page.data
            after = _next_cursor(page)
            if after is None:
                return

    # ------------------------------------------------------------------ audio

    @overload
    def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json", "verbose_json"] = ...,
        temperature: float | None = ...,
        timestamp_granularities: Sequence[str] | None = ...,
        filename: str | None = ...,
        content_type: str | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
    ) -> Transcription: ...
    @overload
    def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["text", "srt", "vtt"],
        temperature: float | None = ...,
        timestamp_granularities: Sequence[str] | None = ...,
        filename: str | None = ...,
        content_type: str | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
    ) -> str: ...
    def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = DEFAULT_TRANSCRIPTION_MODEL,
        language: str | None = None,
        prompt: str | None = None,
        response_format: ResponseFormat = "json",
        temperature: float | None = None,
        timestamp_granularities: Sequence[str] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Transcription | str:
        """Transcribe an audio file (a path, bytes or a binary file object, at most 25 MB).

        A :class:`~compactifai.audio.Transcription` for ``json``/``verbose_json`` (the latter
        with ``language``, ``duration`` and ``segments``), the text itself for ``text``,
        ``srt`` and ``vtt``. The file name and MIME type are inferred (``filename``,
        ``content_type`` override them). Billed per second of audio: a file the service would
        refuse is refused before sending (:class:`RequestValidationError`), and a model that
        cannot transcribe raises :class:`ModelCapabilityError` (before sending when known).
        """
        options = {
            "language": language,
            "prompt": prompt,
            "response_format": response_format,
            "temperature": temperature,
            "timestamp_granularities": timestamp_granularities,
        }
        with self._transcription(file, model, filename, content_type, options) as op:
            return self._call(op, extra_headers)

    def _call(self, op: Operation[T], extra_headers: Mapping[str, str] | None = None) -> T:
        (result,) = self._run(op, extra_headers)
        return result

    def _stream(
        self, op: Operation[T], extra_headers: Mapping[str, str] | None = None
    ) -> Iterator[T]:
        return self._run(op, extra_headers)

    def _download(
        self, op: Operation[Any], sink: BinaryIO, extra_headers: Mapping[str, str] | None = None
    ) -> int:
        """Write the body to ``sink`` as it arrives; the number of bytes written."""
        (written,) = self._run(op, extra_headers, sink)
        return int(written)

    def _run(
        self,
        op: Operation[T],
        extra_headers: Mapping[str, str] | None = None,
        sink: BinaryIO | None = None,
    ) -> Iterator[T]:
        """The one sync driver: send, feed the exchange, wait and resend when it says so;
        a refusal of the request's model, wherever it arrives, with the served models."""
        request, exchange = self._prepare(op, extra_headers, sink)
        try:
            while True:
                try:
                    response = self._send(request)
                    try:
                        exchange.start(response.status_code, response.headers)
                        raw = _undecoded(response)
                        body = response.iter_raw() if raw else response.iter_bytes()
                        for data in body:
                            yield from exchange.feed(data)
                            if exchange.complete:
                                _drain(response, body)
                                break
                        yield from exchange.end()
                    finally:
                        response.close()
                except httpx.TransportError as exc:
                    exchange.failed(exc)
                if exchange.retry_delay is None:
                    return
                _sleep(exchange.retry_delay)
        except BadRequestError as exc:
            refusal = capabilities.refused_model(exc, op.model, op.gate) if op.model else None
            if refusal is None:
                raise
            raise refusal.typed_error(self._served_for(refusal)) from exc

    def _served_for(self, refusal: capabilities.ModelRefusal) -> list[Model] | None:
        """The ``GET /models`` a refusal needs (None: not needed, or it failed too)."""
        if not refusal.needs_listing:
            return None
        try:
            return self.list_models()
        except CompactifAIError:
            return None

    def _build(self, op: Operation[Any], headers: dict[str, str]) -> httpx.Request:
        return self._httpx_request(op, headers)

    def _send(self, request: httpx.Request) -> httpx.Response:
        pool = self._own_pool
        if pool is None:
            return self.http_client.send(request, stream=True)
        return pool.received(request, pool.transport.handle_request(request))


def _undecoded(response: httpx.Response) -> bool:
    """Whether the body can be read as sent, skipping httpx's decoder layer (a cost per
    streamed event): no content coding, and not already read (a mock's response is)."""
    return "content-encoding" not in response.headers and not response.is_stream_consumed


def _drain(response: httpx.Response, body: Iterator[bytes]) -> None:
    """Read the end of a finished stream's body (a few bytes), so its connection is reused.

    The end is usually buffered already. A read it still needs waits at most what is left of
    ``DRAIN_TIMEOUT``, through the network stream's own read timeout: a server slow to end the
    body gets a read timeout, and the connection is closed with the response, never reused.
    No thread or timer per stream. Over HTTP/2 (a caller's client) the connection is shared by
    other streams and closing the response resets this stream only: nothing to drain.
    """
    if response.http_version != "HTTP/1.1":
        return
    stream = response.extensions.get("network_stream")
    deadline = time.monotonic() + DRAIN_TIMEOUT
    try:
        with _reads_until(stream, deadline) if stream is not None else contextlib.nullcontext():
            received = 0
            for data in body:
                received += len(data)
                if received > ops.TRAILER_LIMIT:
                    break  # not the end of a body: the connection is closed with the response
    except httpx.TransportError as exc:
        logger.debug("the end of a finished stream could not be read: %r", exc)


@contextmanager
def _reads_until(stream: Any, deadline: float) -> Iterator[None]:
    """Cap each read of an httpcore network stream at ``deadline``, for the ``with`` block.

    httpcore takes a body's read timeout from the request once, when the body starts, so the
    remaining bytes of a stream cannot get a shorter one through ``request.extensions``; the
    cap goes on the stream's ``read`` (its documented ``read(max_bytes, timeout)``) instead.
    """
    read = stream.read

    def read_until_deadline(max_bytes: int, timeout: float | None = None) -> bytes:
        left = max(deadline - time.monotonic(), 0.001)
        return read(max_bytes, left if timeout is None else min(timeout, left))  # type: ignore[no-any-return]

    own = getattr(stream, "__dict__", {}).get("read")
    try:
        stream.read = read_until_deadline
        capped = True
    except (AttributeError, TypeError):  # a stream that takes no attribute: its own timeout
        capped = False
    try:
        yield
    finally:  # the stream's own method again, for the next request on the connection
        if capped and own is None:
            del stream.read
        elif capped:
            stream.read = own


class AsyncCompactifAIClient(_BaseClient[httpx.AsyncClient, httpx.Request | DirectRequest]):
    """Asynchronous client for the CompactifAI API; the same methods, awaitable.

    ``stream_chat_completion`` returns an async iterator: ``async for chunk in client.stream_chat_completion(...)``.
    """

    @property
    def http_client(self) -> httpx.AsyncClient:
        http = self._http
        # A pool closed at the end of its event loop is replaced: a later asyncio.run gets its own.
        if http is None or (self._owns_http and http.is_closed):
            transport = _default_async_transport(self.limits)
            http = self._http = httpx.AsyncClient(
                timeout=self.timeout, limits=self.limits, transport=transport
            )
            self._own_pool = OwnPool(http, transport) if transport is not None else None
            # Closed before its event loop closes, or when this client is collected first.
            self._closer = close_with_loop(self, http)
        return http

    async def aclose(self) -> None:
        """Close the connection pool, unless the caller passed it in."""
        if self._owns_http and self._http is not None:
            self._closer.detach()
            http, self._http, self._own_pool = self._http, None, None
            await aclose_pool(http)

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
        models = await self._call(ops.list_models())
        _served_catalog.remember(self._catalog_key, models)
        return models

    async def retrieve_model(self, model_id: str) -> Model:
        return await self._call(ops.retrieve_model(model_id))

    async def create_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ChatCompletion:
        return await self._call(ops.create_chat_completion(params), extra_headers)

    def stream_chat_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Validate now; return an async iterator that sends the request when first advanced."""
        return self._stream(ops.stream_chat_completion(params), extra_headers)

    async def create_completion(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> Completion:
        return await self._call(ops.create_completion(params), extra_headers)

    # ------------------------------------------------------------------ Responses API

    async def create_response(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> ResponsesResult:
        """``POST /responses`` (see ``compactifai.responses``); validated before sending."""
        op = _responses.create_response(params, self._served_models)
        return await self._call(op, extra_headers)

    def stream_response(
        self, *, extra_headers: Mapping[str, str] | None = None, **params: Any
    ) -> AsyncIterator[ResponseStreamEvent]:
        """Validate now; return an async iterator of typed events that sends the request when
        first advanced (an ``error`` or ``response.failed`` event raises its typed error)."""
        op = _responses.stream_response(params, self._served_models)
        return self._stream(op, extra_headers)

    async def retrieve_response(self, response_id: str) -> ResponsesResult:
        """A response created with ``store=True`` by this key (else NotFoundError)."""
        return await self._call(_responses.retrieve_response(response_id))

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

    # ------------------------------------------------------------------ files and batches

    async def upload_file(
        self, file: FileInput, purpose: str = "batch", *, filename: str | None = None
    ) -> FileObject:
        """Upload a file (a path, bytes or a binary file object), e.g. a batch's JSONL input."""
        with _upload_source(file, filename) as (name, content):
            return await self._call(ops.upload_file(name, content, purpose))

    @overload
    async def download_file(self, file_id: str) -> bytes: ...
    @overload
    async def download_file(
        self, file_id: str, destination: str | PathLike[str] | BinaryIO
    ) -> int: ...
    async def download_file(
        self, file_id: str, destination: str | PathLike[str] | BinaryIO | None = None
    ) -> bytes | int:
        """A file's content as bytes, or streamed to ``destination`` (returns bytes written)."""
        op = ops.download_file(file_id)
        if destination is None:
            return await self._call(op)
        with _download_sink(destination) as sink:
            return await self._download(op, sink)

    async def create_batch(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        metadata: Mapping[str, str] | None = None,
    ) -> Batch:
        return await self._call(ops.create_batch(input_file_id, endpoint, metadata))

    async def retrieve_batch(self, batch_id: str) -> Batch:
        return await self._call(ops.retrieve_batch(batch_id))

    async def cancel_batch(self, batch_id: str) -> Batch:
        return await self._call(ops.cancel_batch(batch_id))

    async def list_batches(self, after: str | None = None, limit: int = 20) -> BatchList:
        """One page of batches; ``iter_batches`` walks all of them."""
        return await self._call(ops.list_batches(after, limit))

    async def iter_batches(self, limit: int = 100) -> AsyncIterator[Batch]:
        """Every batch, fetching pages of ``limit`` as the iteration goes."""
        after: str | None = None
        while True:
            page = await self.list_batches(after, limit)
            for batch in page.data:
                yield batch
            after = _next_cursor(page)
            if after is None:
                return

    # ------------------------------------------------------------------ audio

    @overload
    async def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json", "verbose_json"] = ...,
        temperature: float | None = ...,
        timestamp_granularities: Sequence[str] | None = ...,
        filename: str | None = ...,
        content_type: str | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
    ) -> Transcription: ...
    @overload
    async def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["text", "srt", "vtt"],
        temperature: float | None = ...,
        timestamp_granularities: Sequence[str] | None = ...,
        filename: str | None = ...,
        content_type: str | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
    ) -> str: ...
    async def transcribe(
        self,
        file: AudioInput,
        *,
        model: str = DEFAULT_TRANSCRIPTION_MODEL,
        language: str | None = None,
        prompt: str | None = None,
        response_format: ResponseFormat = "json",
        temperature: float | None = None,
        timestamp_granularities: Sequence[str] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Transcription | str:
        """Transcribe an audio file (a path, bytes or a binary file object, at most 25 MB).

        A :class:`~compactifai.audio.Transcription` for ``json``/``verbose_json`` (the latter
        with ``language``, ``duration`` and ``segments``), the text itself for ``text``,
        ``srt`` and ``vtt``. The file name and MIME type are inferred (``filename``,
        ``content_type`` override them). Billed per second of audio: a file the service would
        refuse is refused before sending (:class:`RequestValidationError`), and a model that
        cannot transcribe raises :class:`ModelCapabilityError` (before sending when known).
        """
        options = {
            "language": language,
            "prompt": prompt,
            "response_format": response_format,
            "temperature": temperature,
            "timestamp_granularities": timestamp_granularities,
        }
        with self._transcription(file, model, filename, content_type, options) as op:
            return await self._call(op, extra_headers)

    async def _call(self, op: Operation[T], extra_headers: Mapping[str, str] | None = None) -> T:
        # A loop, not an async list comprehension: no comprehension coroutine per call.
        results: list[T] = []
        async for item in self._run(op, extra_headers):
            results.append(item)
        (result,) = results
        return result

    def _stream(
        self, op: Operation[T], extra_headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[T]:
        return self._run(op, extra_headers)

    async def _download(
        self, op: Operation[Any], sink: BinaryIO, extra_headers: Mapping[str, str] | None = None
    ) -> int:
        """Write the body to ``sink`` as it arrives; the number of bytes written."""
        (written,) = [item async for item in self._run(op, extra_headers, sink)]
        return int(written)

    async def _run(
        self,
        op: Operation[T],
        extra_headers: Mapping[str, str] | None = None,
        sink: BinaryIO | None = None,
    ) -> AsyncIterator[T]:
        """The one async driver: send, feed the exchange, wait and resend when it says so;
        a refusal of the request's model, wherever it arrives, with the served models."""
        request, exchange = self._prepare(op, extra_headers, sink)
        try:
            while True:
                try:
                    response = await self._send(request)
                    try:
                        exchange.start(response.status_code, response.headers)
                        raw = _undecoded(response)
                        body = response.aiter_raw() if raw else response.aiter_bytes()
                        async for data in body:
                            for item in exchange.feed(data):
                                yield item
                            if exchange.complete:
                                await _adrain(body)
                                break
                        for item in exchange.end():
                            yield item
                    finally:
                        await response.aclose()
                except httpx.TransportError as exc:
                    exchange.failed(exc)
                if exchange.retry_delay is None:
                    return
                await _async_sleep(exchange.retry_delay)
        except BadRequestError as exc:
            refusal = capabilities.refused_model(exc, op.model, op.gate) if op.model else None
            if refusal is None:
                raise
            raise refusal.typed_error(await self._served_for(refusal)) from exc

    async def _served_for(self, refusal: capabilities.ModelRefusal) -> list[Model] | None:
        """The ``GET /models`` a refusal needs (None: not needed, or it failed too)."""
        if not refusal.needs_listing:
            return None
        try:
            return await self.list_models()
        except CompactifAIError:
            return None

    def _build(self, op: Operation[Any], headers: dict[str, str]) -> httpx.Request | DirectRequest:
        self.http_client  # noqa: B018 (opening the pool is what sets _own_pool)
        pool = self._own_pool
        if pool is not None and op.files is None and op.form is None and op.params is None:
            direct = pool.direct_request(op.method, self._url(op.path), headers, op.body)
            if direct is not None:
                return direct
        return self._httpx_request(op, headers)

    async def _send(self, request: httpx.Request | DirectRequest) -> httpx.Response:
        pool = self._own_pool
        if pool is None:
            http = self.http_client  # reopened if it was closed since the request was built
            pool = self._own_pool
            if pool is None:  # a caller's client, or proxies from the environment
                if isinstance(request, DirectRequest):
                    method, url, headers, content = request
                    request = http.build_request(method, url, headers=headers, content=content)
                return await http.send(request, stream=True)
        if isinstance(request, DirectRequest):
            return await pool.send_direct(request)
        return pool.received(request, await pool.transport.handle_async_request(request))


async def _adrain(body: AsyncIterator[bytes]) -> None:
    """``_drain`` for the async driver: the end of the body, within ``DRAIN_TIMEOUT``."""

    async def read() -> None:
        received = 0
        async for data in body:
            received += len(data)
            if received > ops.TRAILER_LIMIT:
                return

    try:
        await asyncio.wait_for(read(), DRAIN_TIMEOUT)
    except (httpx.TransportError, asyncio.TimeoutError) as exc:
        logger.debug("the end of a finished stream could not be read: %r", exc)
