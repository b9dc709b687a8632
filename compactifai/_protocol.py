"""The client's logic without I/O: operations, request bodies, response parsing, retry decisions.

The sync and async clients in ``_client`` are thin drivers over these objects (the "sans-IO"
idea of h11 and httpcore), so every rule here is written, and tested, once.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import pydantic
import pydantic_core

from compactifai._churn import not_found_message
from compactifai._sse import SSEDecoder
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
    APIResponse,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    Model,
    ModelList,
    UsageReport,
    UsageRequest,
)

T = TypeVar("T")
M = TypeVar("M", bound=APIResponse)

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
USAGE_NOT_OFFERED = (
    "This server does not offer usage statistics (POST /usage/completions answered 404; the "
    "vendor removed the endpoint from the live service in 2026)."
)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call, fully described before anything is sent."""

    method: str
    path: str
    parse: Callable[[bytes, str | None], T]
    body: bytes | None = None
    stream: bool = False
    not_found_message: str | None = None


# ---------------------------------------------------------------------------- validation


def _field_path(loc: Sequence[int | str], params: Any) -> str:
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
        elif (isinstance(value, Mapping) and part in value) or position == len(loc) - 1:
            path += f".{part}" if path else part
            value = value.get(part) if isinstance(value, Mapping) else None
    return path


def _validation_error(
    exc: pydantic.ValidationError, params: Mapping[str, Any]
) -> RequestValidationError:
    errors = exc.errors(include_url=False)
    # In a union, each member reports; the most specific complaint has the longest path.
    error = max(errors, key=lambda e: len(_field_path(e["loc"], params)))
    field = _field_path(error["loc"], params) or "request"
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


# ---------------------------------------------------------------------------- parsing


def _excerpt(content: bytes) -> str:
    return content[:200].decode("utf-8", errors="replace")


def _parser(model: type[M], status_code: int = 200) -> Callable[[bytes, str | None], M]:
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
        value._request_id = request_id
        return value

    return parse


def _parse_model_list(content: bytes, request_id: str | None) -> list[Model]:
    return _parser(ModelList)(content, request_id).data


# ---------------------------------------------------------------------------- operations


def list_models() -> Operation[list[Model]]:
    return Operation("GET", "/models", _parse_model_list)


def retrieve_model(model_id: str) -> Operation[Model]:
    if not model_id or not isinstance(model_id, str):
        raise RequestValidationError("model_id", "a non-empty model id is required")
    return Operation(
        "GET",
        f"/models/{quote(model_id, safe='')}",
        _parser(Model),
        not_found_message=not_found_message(model_id),
    )


def create_chat_completion(params: Mapping[str, Any]) -> Operation[ChatCompletion]:
    if params.get("stream"):
        raise RequestValidationError("stream", "use stream_chat_completion() to stream")
    return Operation(
        "POST", "/chat/completions", _parser(ChatCompletion), _encode(ChatCompletionRequest, params)
    )


def stream_chat_completion(params: Mapping[str, Any]) -> Operation[ChatCompletionChunk]:
    body = _encode(ChatCompletionRequest, {**params, "stream": True})
    return Operation("POST", "/chat/completions", _parser(ChatCompletionChunk), body, stream=True)


def create_completion(params: Mapping[str, Any]) -> Operation[Completion]:
    if params.get("stream"):
        raise RequestValidationError("stream", "the completions endpoint does not stream")
    return Operation(
        "POST", "/completions", _parser(Completion), _encode(CompletionRequest, params)
    )


def get_usage(
    start_time: str | datetime,
    end_time: str | datetime | None = None,
    window_size: str = "DAY",
    window_timezone: str = "UTC",
    group_by: Sequence[str] | None = None,
    filter_group_by: Mapping[str, Sequence[str]] | None = None,
) -> Operation[UsageReport]:
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


# ---------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Retry:
    delay: float


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
        self._pending_error: CompactifAIError | None = None

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks ``data`` completes; an error in the stream is raised after the chunks before it."""
        if self._pending_error is not None:
            raise self._pending_error
        chunks: list[ChatCompletionChunk] = []
        if self.done:
            return chunks
        for event in self._decoder.feed(data):
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
        if payload.startswith("{") and '"error"' in payload[:20]:
            try:
                body = json.loads(payload)
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" in body and "choices" not in body:
                error = body["error"]
                code = error.get("code") if isinstance(error, dict) else None
                status = code if isinstance(code, int) and code >= 400 else 500
                raise status_error_from_response(status, raw, self.request_id)
        return self._parse(raw, self.request_id)

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

    def interrupted(self, exc: Exception) -> CompactifAIError:
        """The error to raise when the connection broke while reading the stream."""
        return IncompleteStreamError(
            f"The stream broke before the server's [DONE] marker ({type(exc).__name__}: {exc})",
            request_id=self.request_id,
            chunks_received=self.chunks_received,
        )


__all__ = [
    "USAGE_NOT_OFFERED",
    "APIStatusError",
    "ChunkStreamParser",
    "Operation",
    "Retry",
    "RetryPolicy",
    "check_content_type",
    "connection_error",
    "create_chat_completion",
    "create_completion",
    "get_usage",
    "list_models",
    "retrieve_model",
    "stream_chat_completion",
]
