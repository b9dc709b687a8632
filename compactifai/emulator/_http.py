"""HTTP plumbing shared by every route: JSON and SSE responses, the service's error shapes,
the request-id middleware and JSON body parsing."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "INVALID_TOKEN_DETAIL",
    "NOT_FOUND",
    "SSE_DONE",
    "STATUS_MESSAGES",
    "ApiError",
    "BodyTooLarge",
    "JsonResponse",
    "ServiceMiddleware",
    "StreamResponse",
    "Unauthorized",
    "Unprocessable",
    "dumps",
    "json_body",
    "validation_detail",
]

INVALID_TOKEN_DETAIL = "Token is not associated with a valid user"
NOT_FOUND = {"detail": "Not Found"}

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
SSE_DONE = b"data: [DONE]\n\n"

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
STATUS_MESSAGES = {
    429: "Rate limit exceeded. Please retry after a short wait.",
    500: "Internal server error.",
    502: "Bad gateway: the upstream inference server did not answer correctly.",
    503: "Service temporarily unavailable. Please retry later.",
    504: "Gateway timeout: the upstream inference server took too long to answer.",
}


class _DropFilter(logging.Filter):
    """Silence uvicorn's complaint when a ``drop_stream`` fault closes a response early."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


class JsonResponse(Response):
    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ):
        body = content if isinstance(content, (bytes, str)) else dumps(content)
        super().__init__(body, status_code=status_code, headers=headers)


class ApiError(Exception):
    """An error answered in the service's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or ERROR_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        self.param = param
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {
            "error": {"type": self.type, "message": self.message, "param": self.param, "code": None}
        }
        return JsonResponse(body, self.status, self.headers)


class Unauthorized(Exception):
    pass


class Unprocessable(Exception):
    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("validation error")
        self.detail = detail


class StreamResponse(Response):
    """A streamed body from an async iterator of byte chunks; a ``None`` item drops the
    connection (the response is never completed). Stops when the client disconnects."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes | None],
        media_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
        on_complete: Callable[[], None] | None = None,
    ) -> None:
        self.chunks = chunks
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.on_complete = on_complete
        self.init_headers({"cache-control": "no-cache", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_disconnect)
            completed = False
            try:
                async for chunk in self.chunks:
                    if chunk is None:
                        break
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                else:
                    completed = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:  # pragma: no cover - client went away mid-write
                completed = False
            finally:
                tg.cancel_scope.cancel()
            if completed and self.on_complete is not None:
                self.on_complete()


# --------------------------------------------------------------------------------------------
# Middleware: the service's headers on every response, and the request-body limit
# --------------------------------------------------------------------------------------------


# Routes whose bodies may be larger than ``max_body_bytes``: path -> their own limit (the file
# upload of ``batches``: batch input files of up to 200 MB).
LARGER_BODIES: dict[str, int] = {}


class BodyTooLarge(ApiError):
    """A request body passed its limit while it was read (answered 413)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            413,
            f"Request body too large ({size} bytes or more): this server accepts at most "
            f"{limit} bytes.",
        )


class ServiceMiddleware:
    """What the service's gateway does around every route.

    Adds ``x-request-id`` (the client's, else a fresh UUID), ``x-served-by-region`` and
    ``x-envoy-upstream-service-time`` (milliseconds until the response started) to every
    response, and answers 413 to a body larger than ``max_body_bytes``: from
    ``Content-Length`` before anything is read, or, for a chunked body, as soon as the bytes
    read pass the limit. Nothing is buffered here: a route that answers without reading the
    body (a bad key) never pulls it off the socket, and its answer closes the connection.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, region: str) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.region = region.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        limit = max(self.max_body_bytes, LARGER_BODIES.get(scope["path"], 0))
        rid = ""
        declared: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-request-id" and not rid:
                rid = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
            elif name == b"transfer-encoding":
                chunked = True
        if not rid:
            rid = str(uuid.uuid4())
        scope["emulator.request_id"] = rid
        raw = rid.encode("latin-1")
        body_read = not chunked and not declared
        size = 0
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", raw))
                elapsed = max(0, round((time.perf_counter() - started) * 1000))
                headers.append((b"x-served-by-region", self.region))
                headers.append((b"x-envoy-upstream-service-time", str(elapsed).encode()))
                if not body_read:
                    # Answered before the body was read (a bad key, a body too large): the rest
                    # of the body is never read, so the connection cannot carry another request.
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        async def bounded_receive() -> Message:
            nonlocal size, body_read
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise BodyTooLarge(size, limit)
                if not message.get("more_body", False):
                    body_read = True
            return message

        if declared is not None and declared > limit:
            # The server holds the body to its Content-Length: the header is the whole check.
            await BodyTooLarge(declared, limit).response()(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except BodyTooLarge as exc:  # a route that does not answer ApiErrors itself
            if response_started:
                raise
            await exc.response()(scope, receive, send_with_headers)


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {
            "type": err["type"],
            "loc": ["body", *err["loc"]],
            "msg": err["msg"],
            "input": err.get("input"),
        }
        ctx = err.get("ctx")
        if ctx:
            item["ctx"] = {
                k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                for k, v in ctx.items()
            }
        out.append(item)
    return out


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Unprocessable(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise Unprocessable(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": msg},
                }
            ]
        ) from None
