"""The client's logic without I/O: operations, request bodies, response parsing, retry decisions.

The sync and async clients in ``_client`` are thin drivers over these objects (the "sans-IO"
idea of h11 and httpcore), so every rule here is written, and tested, once.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Protocol, TypeVar
from urllib.parse import quote, unquote

import pydantic
import pydantic_core

from compactifai._churn import not_found_message
from compactifai._sse import SSEDecoder, SSELineTooLong
from compactifai.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    CompactifAIError,
    IncompleteStreamError,
    RequestValidationError,
    status_error_from_response,
)
from compactifai.types import (
    APIObject,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    Model,
    ModelList,
    UsageReport,
    UsageRequest,
    with_request_id,
)

if TYPE_CHECKING:
    from compactifai.capabilities import GatedRoute

T = TypeVar("T")
M = TypeVar("M", bound=APIObject)

logger = logging.getLogger("compactifai")

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
USAGE_NOT_OFFERED = (
    "This server does not offer usage statistics (POST /usage/completions answered 404; the "
    "vendor removed the endpoint from the live service in 2026)."
)


FileField = tuple[str, "BinaryIO | bytes", str]  # (file name, content, content type)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call, fully described before anything is sent.

    ``body`` is JSON; ``files`` and ``form`` make a multipart upload instead (encoded by httpx;
    a file object is rewound when a retry sends it again); ``params`` is the query string;
    ``raw`` hands the body to ``parse`` as bytes whatever its content type.
    """

    method: str
    path: str
    parse: Callable[[bytes, str | None], T]
    body: bytes | None = None
    stream: bool = False
    not_found_message: str | None = None
    params: Mapping[str, str | int] | None = None
    files: Mapping[str, FileField] | None = None
    form: Mapping[str, str | Sequence[str]] | None = None  # a sequence repeats the field
    raw: bool = False
    # The model the request names and the route's gate: the drivers turn a 400 refusing it
    # (at any point of the call or stream) into the churn error (``capabilities.refused_model``).
    model: str | None = None
    gate: GatedRoute | None = None


# ---------------------------------------------------------------------------- validation


def _field_path(loc: Sequence[int | str], params: Any, missing: bool = False) -> str:
    """``messages[0].content`` from pydantic's loc, without the names of union members.

    pydantic puts a union member's name (a role tag, ``str``, ``list[...]``) into the
    location; walking the input alongside tells a real field from such a name.
    """
    path = ""
    value = params
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            value = value[part] if isinstance(value, Sequence) and part < len(value) else None
        elif isinstance(value, Mapping) and (
            part in value or (missing and position == len(loc) - 1)
        ):
            path += f".{part}" if path else part
            value = value.get(part) if isinstance(value, Mapping) else None
    return path


def _validation_error(
    exc: pydantic.ValidationError, params: Mapping[str, Any]
) -> RequestValidationError:
    errors = exc.errors(include_url=False)

    # In a union, each member reports; the most specific complaint has the longest path.
    def path(error: Any) -> str:
        return _field_path(error["loc"], params, error["type"] == "missing")

    error = max(errors, key=lambda e: len(path(e)))
    field = path(error) or "request"
    reason = error["msg"]
    if error["type"] == "union_tag_invalid":
        discriminator = str(error.get("ctx", {}).get("discriminator", "")).strip("'")
        field = f"{field}.{discriminator}" if discriminator else field
    elif error["type"] != "missing":
        value = repr(error.get("input"))
        reason += f" (got {value if len(value) <= 60 else value[:57] + '...'})"
    return RequestValidationError(field, reason)


def _encode(request_model: type[pydantic.BaseModel], params: Mapping[str, Any]) -> bytes:
    try:
        request = request_model.model_validate(params)
    except pydantic.ValidationError as exc:
        raise _validation_error(exc, params) from None
    for name, value in (request.model_extra or {}).items():
        try:
            pydantic_core.to_json(value)
        except pydantic_core.PydanticSerializationError:
            raise RequestValidationError(
                name, f"{type(value).__name__} is not JSON-serializable"
            ) from None
    return request.model_dump_json(exclude_none=True, by_alias=True).encode()


# An HTTP header name is an RFC 9110 token; a value may not break the header line it is in.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINE_BREAKING = re.compile(r"[\r\n\0]")


# Headers that frame the message or steer the connection: httpx sets them from the request
# itself, and a caller's copy would contradict it (Transfer-Encoding next to Content-Length,
# a Content-Length that cuts the body short: request smuggling on a shared proxy).
FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "expect",
    }
)


def check_headers(headers: Mapping[str, str], field: str) -> None:
    """Refuse a header that would change the request's framing (CR, LF or NUL: header
    injection and request smuggling; a framing header such as ``Content-Length``) or that no
    server accepts, before anything is sent."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise RequestValidationError(
                f"{field}[{name!r}]",
                "is not a valid HTTP header name (a token: no spaces, ':', CR, LF or NUL)",
            )
        if name.lower() in FRAMING_HEADERS:
            raise RequestValidationError(
                f"{field}[{name!r}]",
                f"{name} frames the request or steers the connection; the HTTP client sets it "
                "from the request itself",
            )
        if not isinstance(value, str):
            raise RequestValidationError(
                f"{field}[{name!r}]", f"a header value must be a str (got {type(value).__name__})"
            )
        if _LINE_BREAKING.search(value):
            raise RequestValidationError(
                f"{field}[{name!r}]", "a header value may not contain CR, LF or NUL characters"
            )


# ---------------------------------------------------------------------------- parsing


def _excerpt(content: bytes) -> str:
    return content[:200].decode("utf-8", errors="replace")


_parsers: dict[tuple[type[APIObject], int], Callable[[bytes, str | None], Any]] = {}


def _parser(model: type[M], status_code: int = 200) -> Callable[[bytes, str | None], M]:
    """The parser of ``model`` bodies, made once a model: operations are built on every call."""
    parse = _parsers.get((model, status_code))
    if parse is None:
        parse = _parsers[model, status_code] = _make_parser(model, status_code)
    return parse


def _make_parser(model: type[M], status_code: int) -> Callable[[bytes, str | None], M]:
    def parse(content: bytes, request_id: str | None) -> M:
        try:
            value = model.model_validate_json(content)
        except pydantic.ValidationError as exc:
            kind = (
                "malformed JSON" if exc.errors()[0]["type"] == "json_invalid" else "unexpected JSON"
            )
            raise APIResponseValidationError(
                f"The server answered with {kind} for a {model.__name__}",
                status_code=status_code,
                request_id=request_id,
                body=_excerpt(content),
            ) from None
        with_request_id(value, request_id, content)
        return value

    return parse


def _parse_model_list(content: bytes, request_id: str | None) -> list[Model]:
    return _parser(ModelList)(content, request_id).data


# ---------------------------------------------------------------------------- operations


def list_models() -> Operation[list[Model]]:
    return Operation("GET", "/models", _parse_model_list)


# In an id sent as a URL path segment: characters that end or split the segment, and spaces
# and control characters (no id has them; a server or proxy may trim or split on them).
_NOT_IN_PATH_SEGMENT = re.compile(r"[/\\?#\s\x00-\x1f\x7f-\x9f]")


def path_segment(name: str, value: str) -> str:
    """``value`` as one URL path segment, or a :class:`RequestValidationError` naming ``name``.

    Every operation with an id in its path uses this. Refused: a non-string or empty id, the
    dot segments ``.`` and ``..`` (URL normalisation would remove them, so ``cancel_batch("..")``
    would post to ``/v1/cancel``), and ids containing ``/``, a backslash, ``?``, ``#``, whitespace
    or control characters, also once percent-decoded (a server or proxy may decode twice).
    Ids like ``glm-5.1`` or ``org:model_v2`` pass; what is left is percent-encoded.
    """
    if not isinstance(value, str) or not value:
        raise RequestValidationError(name, "a non-empty id is required")
    for form in (value, unquote(value)):
        if form in (".", ".."):
            raise RequestValidationError(name, f"{value!r} is not an id (a URL dot segment)")
        bad = _NOT_IN_PATH_SEGMENT.search(form)
        if bad is not None:
            raise RequestValidationError(
                name,
                f"an id may not contain {bad.group()!r} (/, \\, ?, #, spaces or control characters)",
            )
    return quote(value, safe="")


def retrieve_model(model_id: str) -> Operation[Model]:
    return Operation(
        "GET",
        f"/models/{path_segment('model_id', model_id)}",
        _parser(Model),
        not_found_message=not_found_message(model_id),
    )


def create_chat_completion(params: Mapping[str, Any]) -> Operation[ChatCompletion]:
    if params.get("stream"):
        raise RequestValidationError("stream", "use stream_chat_completion() to stream")
    body = _encode(ChatCompletionRequest, params)
    return Operation(
        "POST", "/chat/completions", _parser(ChatCompletion), body, model=params["model"]
    )


def stream_chat_completion(params: Mapping[str, Any]) -> Operation[ChatCompletionChunk]:
    body = _encode(ChatCompletionRequest, {**params, "stream": True})
    return Operation(
        "POST",
        "/chat/completions",
        _parser(ChatCompletionChunk),
        body,
        stream=True,
        model=params["model"],
    )


def create_completion(params: Mapping[str, Any]) -> Operation[Completion]:
    if params.get("stream"):
        raise RequestValidationError("stream", "the completions endpoint does not stream")
    body = _encode(CompletionRequest, params)
    return Operation("POST", "/completions", _parser(Completion), body, model=params["model"])


def get_usage(
    start_time: str | datetime,
    end_time: str | datetime | None,
    window_size: str,
    window_timezone: str,
    group_by: Sequence[str] | None,
    filter_group_by: Mapping[str, Sequence[str]] | None,
) -> Operation[UsageReport]:
    """The usage request; the defaults are the clients' (``get_usage``), written once there."""
    params = {
        "start_time": start_time,
        "end_time": end_time,
        "window_size": window_size,
        "window_timezone": window_timezone,
        "group_by": list(group_by) if group_by is not None else None,
        "filter_group_by": (
            {k: list(v) for k, v in filter_group_by.items()}
            if filter_group_by is not None
            else None
        ),
    }
    return Operation(
        "POST",
        "/usage/completions",
        _parser(UsageReport),
        _encode(UsageRequest, params),
        not_found_message=USAGE_NOT_OFFERED,
    )


# ---------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry, and how long to wait: exponential backoff with jitter, honouring Retry-After."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise RequestValidationError("max_retries", "must be 0 or more")

    @staticmethod
    def is_retryable_status(status_code: int) -> bool:
        return status_code in RETRYABLE_STATUS_CODES or status_code >= 500

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay: float = min(self.initial_delay * 2 ** (attempt - 1), self.max_delay)
        return delay * (1 - 0.25 * random.random())

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        """The server's requested wait, if it sent a usable one."""
        value = headers.get("retry-after-ms")
        if value is not None:
            try:
                seconds = float(value) / 1000
            except ValueError:
                seconds = -1.0
        else:
            value = headers.get("retry-after")
            if value is None:
                return None
            try:
                seconds = float(value)
            except ValueError:
                try:
                    seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = -1.0
        return float(seconds) if 0 <= seconds <= self.max_retry_after else None

    def delay_after_status(
        self, attempt: int, status_code: int, headers: Mapping[str, str]
    ) -> float | None:
        """Seconds to wait before retrying a response with this status, or None to give up."""
        if attempt > self.max_retries or not self.is_retryable_status(status_code):
            return None
        server_wait = self.retry_after(headers)
        return server_wait if server_wait is not None else self.backoff(attempt)

    def delay_after_connection_error(self, attempt: int) -> float | None:
        return None if attempt > self.max_retries else self.backoff(attempt)


# ---------------------------------------------------------------------------- one call's attempts

# A non-success body is read for its message, never kept whole.
ERROR_BODY_LIMIT = 1024 * 1024
# A JSON answer (or a raw body read whole) larger than this is refused, not buffered.
RESPONSE_BODY_LIMIT = 256 * 1024 * 1024
# Bytes after a stream's [DONE] that are read (so the connection can be reused) before giving up.
TRAILER_LIMIT = 64 * 1024


def _transport_error_is_retryable(exc: Exception) -> bool:
    import httpx

    # Errors of our own making (a malformed URL, a header h11 refuses) are not worth a retry.
    return not isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError))


def connection_error(exc: Exception, request_id: str | None, attempts: int) -> APIConnectionError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"Request timed out ({type(exc).__name__})", request_id=request_id, attempts=attempts
        )
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(
        f"Connection error: {detail}", request_id=request_id, attempts=attempts
    )


def check_content_type(
    content_type: str, *, stream: bool, status_code: int, request_id: str | None, content: bytes
) -> None:
    expected = "text/event-stream" if stream else "application/json"
    if expected not in content_type and not (not stream and "+json" in content_type):
        raise APIResponseValidationError(
            f"Expected {expected} but the server sent {content_type or 'no content type'}",
            status_code=status_code,
            request_id=request_id,
            body=_excerpt(content),
        )


class _Body(Protocol):
    """What one response body becomes: fed the bytes as they arrive, asked for the result at the end."""

    @property
    def started(self) -> bool:
        """Something was delivered to the caller: a retry would repeat it."""

    @property
    def complete(self) -> bool:
        """The answer is whole before the body ends (a stream's [DONE])."""

    def feed(self, data: bytes) -> list[Any]: ...

    def end(self) -> list[Any]: ...

    def interrupted(self, exc: Exception, attempts: int) -> CompactifAIError: ...


class _Collected:
    """A whole body in memory (JSON answers and error bodies); parts are joined once, at the end.

    Past ``limit`` bytes, ``too_large`` gives the error to raise; without it (an error body,
    read only for its message) the rest is not read: the body counts as complete, truncated,
    and its connection is closed rather than reused.
    """

    started: bool = False
    complete: bool = False

    def __init__(
        self,
        finish: Callable[[bytes], list[Any]],
        limit: int | None = None,
        too_large: Callable[[bytes], CompactifAIError] | None = None,
    ) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._limit = RESPONSE_BODY_LIMIT if limit is None else limit
        self._finish = finish
        self._too_large = too_large

    def feed(self, data: bytes) -> list[Any]:
        self._parts.append(data)
        self._size += len(data)
        if self._size > self._limit:
            if self._too_large is not None:
                raise self._too_large(self._parts[0])
            self.complete = True
        return []

    def end(self) -> list[Any]:
        return self._finish(b"".join(self._parts)[: self._limit])

    def interrupted(self, exc: Exception, attempts: int) -> CompactifAIError:  # pragma: no cover
        raise AssertionError("a collected body delivers nothing before its end")


def _unexpected(content: bytes) -> list[Any]:  # pragma: no cover - start() always comes first
    raise AssertionError("a body ended before its response started")


# Before a response starts (and between attempts): one shared, never fed placeholder, rather
# than a new body object for every call.
_NOT_STARTED = _Collected(_unexpected)


class _Download:
    """A body written to the caller's binary sink as it arrives."""

    complete: bool = False

    def __init__(self, sink: BinaryIO, request_id: str | None) -> None:
        self._sink = sink
        self._request_id = request_id
        self.written = 0

    @property
    def started(self) -> bool:
        return self.written > 0

    def feed(self, data: bytes) -> list[int]:
        self._sink.write(data)
        self.written += len(data)
        return []

    def end(self) -> list[int]:
        return [self.written]

    def interrupted(self, exc: Exception, attempts: int) -> CompactifAIError:
        return APIConnectionError(
            f"The download broke after {self.written} bytes ({type(exc).__name__}: {exc})",
            request_id=self._request_id,
            attempts=attempts,
        )


class Exchange(Generic[T]):
    """One call from its first send to its result or typed error, without I/O.

    The driver sends the request and reports what happens: ``start`` with a response's status
    and headers, ``feed`` with each piece of its body (passing on the items returned), ``end``
    when the body ends (or ``complete`` turns true: a stream's ``[DONE]``), or ``failed`` with a
    transport error. Every decision is made here, once for both drivers: a typed error is
    raised, or ``retry_delay`` says to send again after that many seconds (None: finished).
    A retry happens only before anything reached the caller (a stream's first chunk, a
    download's first byte), and at most ``max_retries`` times.
    """

    def __init__(
        self,
        op: Operation[T],
        policy: RetryPolicy,
        request_id: str | None,
        sink: BinaryIO | None = None,
        url_path: str | None = None,
    ) -> None:
        self.op = op
        self.url_path = url_path or op.path
        self.policy = policy
        self.request_id = request_id
        self.attempt = 1
        self.retry_delay: float | None = None
        self._sink = sink
        self._body: _Body = _NOT_STARTED

    @property
    def complete(self) -> bool:
        return self._body.complete

    def start(self, status_code: int, headers: Mapping[str, str]) -> None:
        """A response head arrived: choose how to read its body."""
        self.retry_delay = None
        request_id = headers.get("x-request-id") or self.request_id
        op = self.op
        logger.debug(
            "%s %s -> %d (request id %s)", op.method, self.url_path, status_code, request_id
        )
        if not 200 <= status_code < 300:
            self._body = _Collected(
                lambda content: self._status(status_code, headers, content, request_id),
                limit=ERROR_BODY_LIMIT,
            )
            return
        content_type = headers.get("content-type", "")
        if self._sink is not None:
            self._body = _Download(self._sink, request_id)
        elif op.stream and "text/event-stream" in content_type:
            self._body = ChunkStreamParser(op.parse, request_id)  # type: ignore[arg-type]
        else:

            def parse(content: bytes) -> list[T]:
                if not op.raw:
                    check_content_type(
                        content_type,
                        stream=op.stream,
                        status_code=status_code,
                        request_id=request_id,
                        content=content,
                    )
                return [op.parse(content, request_id)]

            def too_large(start: bytes) -> CompactifAIError:
                return APIResponseValidationError(
                    f"The response body is larger than {RESPONSE_BODY_LIMIT} bytes",
                    status_code=status_code,
                    request_id=request_id,
                    body=_excerpt(start),
                )

            self._body = _Collected(parse, too_large=too_large)

    def feed(self, data: bytes) -> list[T]:
        return self._body.feed(data)  # type: ignore[no-any-return]

    def end(self) -> list[T]:
        return self._body.end()  # type: ignore[no-any-return]

    def failed(self, exc: Exception) -> None:
        """The transport failed (connecting, sending or reading): retry or raise its typed error."""
        if self._body.started:
            raise self._body.interrupted(exc, self.attempt) from exc
        delay = None
        if _transport_error_is_retryable(exc):
            delay = self.policy.delay_after_connection_error(self.attempt)
        if delay is None:
            raise connection_error(exc, self.request_id, self.attempt) from exc
        self._retry(delay, type(exc).__name__)

    def _status(
        self, status_code: int, headers: Mapping[str, str], content: bytes, request_id: str | None
    ) -> list[T]:
        delay = self.policy.delay_after_status(self.attempt, status_code, headers)
        if delay is None:
            raise status_error_from_response(
                status_code,
                content,
                request_id,
                attempts=self.attempt,
                not_found_message=self.op.not_found_message,
            )
        self._retry(delay, f"answered {status_code}")
        return []

    def _retry(self, delay: float, why: str) -> None:
        logger.info(
            "%s %s %s; retrying in %.2fs (attempt %d, request id %s)",
            self.op.method, self.url_path, why, delay, self.attempt, self.request_id,
        )  # fmt: skip
        self.retry_delay = delay
        self.attempt += 1
        self._body = _NOT_STARTED


class ChunkStreamParser:
    """Turns the bytes of a chat completion event stream into typed chunks."""

    def __init__(
        self, parse: Callable[[bytes, str | None], ChatCompletionChunk], request_id: str | None
    ) -> None:
        self._decoder = SSEDecoder()
        self._parse = parse
        self.request_id = request_id
        self.done = False
        self.chunks_received = 0
        self._trailing = 0
        self._pending_error: CompactifAIError | None = None

    @property
    def started(self) -> bool:
        return self.chunks_received > 0

    @property
    def complete(self) -> bool:
        """The server said [DONE] and what it sent after is small enough to read to its end."""
        return self.done and self._trailing <= TRAILER_LIMIT

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks ``data`` completes; an error in the stream is raised after the chunks before it."""
        if self._pending_error is not None:
            raise self._pending_error
        chunks: list[ChatCompletionChunk] = []
        if self.done:
            self._trailing += len(data)
            return chunks
        try:
            events = self._decoder.feed(data)
        except SSELineTooLong as exc:
            raise APIResponseValidationError(
                f"The event stream is not readable: {exc}",
                status_code=200,
                request_id=self.request_id,
                body=_excerpt(data),
            ) from None
        for event in events:
            payload = event.data.strip()
            if payload == "[DONE]":
                self.done = True
                break
            if not payload:
                continue
            try:
                chunks.append(self._chunk(payload))
            except CompactifAIError as exc:
                if not chunks:
                    raise
                self._pending_error = exc
                break
        self.chunks_received += len(chunks)
        return chunks

    def _chunk(self, payload: str) -> ChatCompletionChunk:
        raw = payload.encode()
        if '"error"' in payload:  # an error member, or vLLM's "object": "error"
            _raise_stream_error(payload, raw, self.request_id)
        return self._parse(raw, self.request_id)

    def end(self) -> list[ChatCompletionChunk]:
        self.finish()
        return []

    def finish(self) -> None:
        """The connection ended: raise unless the server said ``[DONE]``."""
        if self._pending_error is not None:
            raise self._pending_error
        if self.done:
            return
        for event in self._decoder.flush():
            if event.data.strip() == "[DONE]":
                self.done = True
                return
        raise IncompleteStreamError(
            "The stream ended before the server's [DONE] marker",
            request_id=self.request_id,
            chunks_received=self.chunks_received,
        )

    def interrupted(self, exc: Exception, attempts: int = 1) -> CompactifAIError:
        """The error to raise when the connection broke while reading the stream."""
        return IncompleteStreamError(
            f"The stream broke before the server's [DONE] marker ({type(exc).__name__}: {exc})",
            request_id=self.request_id,
            chunks_received=self.chunks_received,
        )


def _raise_stream_error(payload: str, raw: bytes, request_id: str | None) -> None:
    """Raise the typed error an event carries: an ``error`` member at its top level (OpenAI,
    vLLM's mid-stream errors) or vLLM's own ``{"object": "error", "message", "code"}``."""
    try:
        body = json.loads(payload)
    except ValueError:
        return  # not JSON: the chunk parser reports it
    if not isinstance(body, dict):
        return
    error = body.get("error")
    if error is None and body.get("object") != "error":
        return
    code = error.get("code") if isinstance(error, dict) else body.get("code")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    status = code if isinstance(code, int) and 400 <= code <= 599 else 500
    raise status_error_from_response(status, raw, request_id)


__all__ = [
    "USAGE_NOT_OFFERED",
    "APIStatusError",
    "ChunkStreamParser",
    "Exchange",
    "Operation",
    "RetryPolicy",
    "check_content_type",
    "check_headers",
    "connection_error",
    "create_chat_completion",
    "create_completion",
    "get_usage",
    "list_models",
    "path_segment",
    "retrieve_model",
    "stream_chat_completion",
]


# ---------------------------------------------------------------------------- files and batches

from compactifai.types import Batch, BatchCreateRequest, BatchList, FileObject  # noqa: E402

FILE_NOT_FOUND = "File not found (GET /v1/files/{id}/content answered 404)"
BATCH_NOT_FOUND = "Batch not found"
MAX_BATCH_LIST_LIMIT = 100


_path_id = path_segment


def upload_file(
    filename: str, content: BinaryIO | bytes, purpose: str = "batch"
) -> Operation[FileObject]:
    """``POST /files`` (multipart): ``content`` is sent as the part named ``file``."""
    if not isinstance(purpose, str) or not purpose:
        raise RequestValidationError("purpose", "a non-empty purpose is required, e.g. 'batch'")
    if not filename or "/" in filename or "\\" in filename:
        raise RequestValidationError("filename", f"a bare file name is required (got {filename!r})")
    return Operation(
        "POST",
        "/files",
        _parser(FileObject),
        files={"file": (filename, content, "application/jsonl")},
        form={"purpose": purpose},
    )


def _raw_bytes(content: bytes, request_id: str | None) -> bytes:
    return content


def download_file(file_id: str) -> Operation[bytes]:
    """``GET /files/{id}/content``: the raw bytes (drivers can also stream them to a sink)."""
    path = f"/files/{_path_id('file_id', file_id)}/content"
    return Operation("GET", path, _raw_bytes, raw=True, not_found_message=FILE_NOT_FOUND)


def create_batch(
    input_file_id: str,
    endpoint: str = "/v1/chat/completions",
    metadata: Mapping[str, str] | None = None,
    completion_window: str = "24h",
) -> Operation[Batch]:
    params = {
        "input_file_id": input_file_id,
        "endpoint": endpoint,
        "completion_window": completion_window,
        "metadata": dict(metadata) if metadata is not None else None,
    }
    return Operation("POST", "/batches", _parser(Batch), _encode(BatchCreateRequest, params))


def retrieve_batch(batch_id: str) -> Operation[Batch]:
    path = f"/batches/{_path_id('batch_id', batch_id)}"
    return Operation("GET", path, _parser(Batch), not_found_message=BATCH_NOT_FOUND)


def cancel_batch(batch_id: str) -> Operation[Batch]:
    path = f"/batches/{_path_id('batch_id', batch_id)}/cancel"
    return Operation("POST", path, _parser(Batch), not_found_message=BATCH_NOT_FOUND)


def list_batches(after: str | None = None, limit: int = 20) -> Operation[BatchList]:
    """One page of ``GET /batches``; pass the page's ``last_id`` as ``after`` for the next."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise RequestValidationError("limit", f"must be an integer from 1 to 100 (got {limit!r})")
    params: dict[str, str | int] = {"limit": limit}
    if after is not None:
        params["after"] = after
    return Operation("GET", "/batches", _parser(BatchList), params=params)


__all__ += [
    "cancel_batch",
    "create_batch",
    "download_file",
    "list_batches",
    "retrieve_batch",
    "upload_file",
]
