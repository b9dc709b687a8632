"""The emulated CompactifAI API as a Starlette application.

Routes (all ``/v1`` routes need ``Authorization: Bearer <key>``):

- ``GET /v1/models``, ``GET /v1/models/{model_id}``
- ``POST /v1/chat/completions`` (JSON or SSE with ``stream: true``)
- ``POST /v1/completions`` (no streaming, like the service)
- ``POST /v1/usage/completions`` (unless built with ``usage_endpoint=False``)
- control plane, unauthenticated: ``GET /_emulator/health``, ``GET|POST|DELETE /_emulator/faults``,
  ``POST /_emulator/reset``, ``GET /_emulator/requests``

Request headers the emulator reads: ``x-request-id`` (echoed), ``x-emulator-fault`` (a JSON
fault applied to this request only), ``x-emulator-stream-style: minimal`` (the reference page's
framing: no role delta, no finish chunk).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._schemas import ROLES, ChatRequest, CompletionRequest
from ._schemas import Message as MessageParam
from .catalog import DEFAULT_MODELS, EmulatedModel
from .faults import STREAM_FAULT_KINDS, FaultError, FaultInjector, FaultSpec
from .generation import (
    Generated,
    Generator,
    ToolCall,
    ToolSpec,
    Turn,
    apply_limits,
    count_prompt_tokens,
    count_tokens,
)
from .usage import UsageError, UsageLedger

__all__ = ["EmulatorState", "RecordedRequest", "create_app"]

INVALID_TOKEN_DETAIL = "Token is not associated with a valid user"
DEFAULT_CHAT_MAX_TOKENS = 256
DEFAULT_COMPLETION_MAX_TOKENS = 16
MAX_TOKENS_LIMIT = 150_000
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DONE = b"data: [DONE]\n\n"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_STATUS_MESSAGES = {
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


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received (kept for tests: what did the client send?)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    timestamp: float


@dataclass
class EmulatorState:
    """Configuration and mutable state shared by the app and the :class:`Emulator`."""

    api_keys: Sequence[str] = ("test-key",)
    latency: float = 0.0
    seed: int = 0
    usage_endpoint: bool = True
    chunk_delay: float = 0.0
    models: Sequence[EmulatedModel] = DEFAULT_MODELS
    faults: FaultInjector = field(init=False)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    requests: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=1000))

    def __post_init__(self) -> None:
        if isinstance(self.api_keys, str):
            self.api_keys = (self.api_keys,)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        self.faults = FaultInjector(self.seed)
        self.generator = Generator(self.seed)
        self.users: dict[str, str] = {}
        for i, key in enumerate(self.api_keys):
            self.users.setdefault(key, f"customer-{i + 1}")
        self.model_map: dict[str, EmulatedModel] = {m.id: m for m in self.models}
        self._models_body = _DUMPS({"object": "list", "data": [m.to_json() for m in self.models]})

    def user_for_key(self, key: str) -> str | None:
        return self.users.get(key)

    def reset(self) -> None:
        self.faults.clear()
        self.ledger.clear()
        self.requests.clear()


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class _Json(Response):
    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ):
        body = content if isinstance(content, (bytes, str)) else _DUMPS(content)
        super().__init__(body, status_code=status_code, headers=headers)


class _ApiError(Exception):
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
        self.type = type or _ERROR_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        self.param = param
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {
            "error": {"type": self.type, "message": self.message, "param": self.param, "code": None}
        }
        return _Json(body, self.status, self.headers)


class _Unauthorized(Exception):
    pass


class _Unprocessable(Exception):
    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("validation error")
        self.detail = detail


class _Stream(Response):
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
# Middleware: x-request-id on every response
# --------------------------------------------------------------------------------------------


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not rid:
            rid = str(uuid.uuid4())
        scope["emulator.request_id"] = rid
        raw = rid.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", raw))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
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


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise _Unprocessable(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _Unprocessable(
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


def _model_or_400(state: EmulatorState, model_id: str) -> EmulatedModel:
    model = state.model_map.get(model_id)
    if model is None:
        raise _ApiError(400, f"The model `{model_id}` does not exist.", param="model")
    return model


def _text_of(content: Any) -> tuple[str, int, int, int]:
    """(text, image parts, audio parts, file parts) of a message's content."""
    if content is None:
        return "", 0, 0, 0
    if isinstance(content, str):
        return content, 0, 0, 0
    texts: list[str] = []
    images = audios = files = 0
    for part in content:
        kind = part.type
        if kind == "text":
            texts.append(part.text)
        elif kind == "refusal":
            texts.append(part.refusal)
        elif kind == "image_url":
            images += 1
        elif kind == "input_audio":
            audios += 1
        elif kind == "file":
            files += 1
    return "\n".join(texts), images, audios, files


def _check_files(content: Any, index: int) -> None:
    """A file part must carry its data or the id of an uploaded file (as OpenAI's API asks)."""
    for j, part in enumerate(content if isinstance(content, list) else ()):
        if part.type == "file" and not (part.file.file_data or part.file.file_id):
            raise _ApiError(
                400,
                "A file content part needs either file_data or file_id.",
                param=f"messages[{index}].content[{j}].file",
            )


def _to_turns(messages: Sequence[MessageParam], model: EmulatedModel) -> list[Turn]:
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        text, images, audios, files = _text_of(msg.content)
        if images and not model.supports_image:
            raise _ApiError(
                400,
                f"The model `{model.id}` does not support image input.",
                param=f"messages[{i}].content",
            )
        if audios and not model.supports_audio:
            raise _ApiError(
                400,
                f"The model `{model.id}` does not support audio input.",
                param=f"messages[{i}].content",
            )
        if files:
            # No capability flag for files: every emulated model takes them.
            _check_files(msg.content, i)
        calls: tuple[ToolCall, ...] = ()
        name = getattr(msg, "name", None)
        tool_call_id = getattr(msg, "tool_call_id", None)
        if msg.role == "assistant":
            calls = tuple(
                ToolCall(c.id, c.function.name, c.function.arguments)
                for c in (msg.tool_calls or ())
            )
            if msg.function_call is not None:
                calls += (ToolCall("", msg.function_call.name, msg.function_call.arguments),)
            if not text and msg.refusal:
                text = msg.refusal
        turns.append(Turn(msg.role, text, name, tool_call_id, calls, images, files))
    return turns


def _check_common(temperature: float | None, top_p: float | None, n: int | None) -> None:
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise _ApiError(
            400, f"temperature must be between 0 and 2, got {temperature}.", param="temperature"
        )
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise _ApiError(400, f"top_p must be in (0, 1], got {top_p}.", param="top_p")
    if n is not None and n != 1:
        raise _ApiError(
            400, f"n must be 1 (only one completion per request is supported), got {n}.", param="n"
        )


def _check_max(value: int | None, param: str) -> None:
    if value is not None and not 1 <= value <= MAX_TOKENS_LIMIT:
        raise _ApiError(
            400, f"{param} must be between 1 and {MAX_TOKENS_LIMIT}, got {value}.", param=param
        )


def _stops(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def _check_context(model: EmulatedModel, prompt_tokens: int, requested: int | None) -> None:
    asked = prompt_tokens + (requested or 0)
    if asked > model.context_window:
        raise _ApiError(
            400,
            f"This model's maximum context length is {model.context_window} tokens. However, you "
            f"requested {asked} tokens ({prompt_tokens} in the messages, {requested or 0} in the "
            "completion). Please reduce the length of the messages or completion.",
            param="messages",
        )


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


def _fault_for(state: EmulatorState, request: Request) -> FaultSpec | None:
    header = request.headers.get("x-emulator-fault")
    if header:
        try:
            spec = FaultSpec.from_json(json.loads(header))
        except (json.JSONDecodeError, FaultError) as exc:
            raise _ApiError(
                400, f"Bad x-emulator-fault header: {exc}", param="x-emulator-fault"
            ) from None
        if spec.matches(request.url.path) and state.faults.roll(spec):
            return spec
        return None
    return state.faults.take(request.url.path)


def _status_fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 500
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        ra = fault.retry_after
        headers["retry-after"] = (
            str(int(ra)) if isinstance(ra, (int, float)) and float(ra).is_integer() else str(ra)
        )
    if status == 401:
        return _Json({"detail": INVALID_TOKEN_DETAIL}, 401, headers)
    message = fault.message or _STATUS_MESSAGES.get(status, f"Injected error with status {status}.")
    return _ApiError(status, message, headers=headers).response()


def _html_fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 502
    phrase = {
        502: "Bad Gateway",
        503: "Service Temporarily Unavailable",
        504: "Gateway Time-out",
    }.get(status, "Error")
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(html, status_code=status, media_type="text/html")


async def _delayed(chunks: Iterable[bytes | None], seconds: float) -> AsyncIterator[bytes | None]:
    for i, chunk in enumerate(chunks):
        if i == 1:
            await asyncio.sleep(seconds)
        yield chunk


def _finish_json(payload: Any, fault: FaultSpec | None, status: int = 200) -> Response:
    """A JSON success answer, altered by a body-level fault if one applies."""
    body = _DUMPS(payload)
    if fault is None:
        return _Json(body, status)
    if fault.kind == "malformed":
        return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
    if fault.kind == "drop_stream":
        return _Stream(_aiter([body[: max(1, len(body) // 2)].encode(), None]), "application/json")
    if fault.kind == "stall_stream":
        raw = body.encode()
        half = len(raw) // 2
        return _Stream(_delayed([raw[:half], raw[half:]], fault.sleep), "application/json")
    if fault.kind == "error_in_stream":
        return _ApiError(500, fault.message or "Internal server error.").response()
    return _Json(body, status)


async def _aiter(items: Iterable[bytes | None]) -> AsyncIterator[bytes | None]:
    for item in items:
        yield item


async def _apply_stream_fault(
    events: AsyncIterator[bytes], fault: FaultSpec | None, response_id: str
) -> AsyncIterator[bytes | None]:
    """Pass SSE events through, doing what a stream fault says after ``after_chunks`` events."""
    if fault is None or (fault.kind not in STREAM_FAULT_KINDS and fault.kind != "malformed"):
        async for event in events:
            yield event
        return
    sent = 0
    async for event in events:
        if sent == fault.chunks:
            if fault.kind == "drop_stream":
                yield None
                return
            if fault.kind == "stall_stream":
                await asyncio.sleep(fault.sleep)
            elif fault.kind == "error_in_stream":
                err = {
                    "error": {
                        "type": "server_error",
                        "message": fault.message or "The inference server failed while streaming.",
                        "param": None,
                        "code": 500,
                    }
                }
                yield b"data: " + _DUMPS(err).encode() + b"\n\n"
                yield _DONE
                return
            elif fault.kind == "malformed":
                yield (
                    b'data: {"id":"'
                    + response_id.encode()
                    + b'","choices":[{"delta":{"content":"tru\n\n'
                )
        yield event
        sent += 1


# --------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------

Handler = Callable[[Request, EmulatorState, str, "FaultSpec | None"], Awaitable[Response]]


def _v1(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a /v1 handler: record, faults, latency, auth and error shapes."""

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        try:
            fault = _fault_for(state, request)
            if state.latency > 0:
                await asyncio.sleep(state.latency)
            if fault is not None:
                if fault.kind == "delay":
                    await asyncio.sleep(fault.sleep)
                    fault = None
                elif fault.kind == "status":
                    return _status_fault_response(fault)
                elif fault.kind == "html":
                    return _html_fault_response(fault)
                elif fault.kind == "wrong_content_type":
                    return Response(
                        "upstream answered: OK (this is not JSON)", 200, media_type="text/plain"
                    )
            auth = request.headers.get("authorization", "")
            scheme, _, key = auth.partition(" ")
            user = state.user_for_key(key.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise _Unauthorized()
            return await handler(request, state, user, fault)
        except _ApiError as exc:
            return exc.response()
        except _Unauthorized:
            return _Json({"detail": INVALID_TOKEN_DETAIL}, 401)
        except _Unprocessable as exc:
            return _Json({"detail": exc.detail}, 422)

    return endpoint


async def _record(request: Request, state: EmulatorState, body: Any) -> None:
    state.requests.append(
        RecordedRequest(
            request.method,
            request.url.path,
            {k: v for k, v in request.headers.items() if k != "authorization"},
            body,
            time.time(),
        )
    )


async def list_models(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    await _record(request, state, None)
    if fault is None:
        return _Json(state._models_body)
    return _finish_json(json.loads(state._models_body), fault)


async def retrieve_model(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    await _record(request, state, None)
    model_id = request.path_params["model_id"]
    model = state.model_map.get(model_id)
    if model is None:
        raise _ApiError(404, f"The model `{model_id}` does not exist.", param="model")
    return _finish_json(model.to_json(), fault)


async def chat_completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await _json_body(request)
    await _record(request, state, body)
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        for i, m in enumerate(body["messages"]):
            if isinstance(m, dict) and isinstance(m.get("role"), str) and m["role"] not in ROLES:
                raise _ApiError(
                    400,
                    f"Unknown role {m['role']!r} in messages[{i}]; expected one of {', '.join(ROLES)}.",
                    param=f"messages[{i}].role",
                )
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise _Unprocessable(_validation_detail(exc)) from None

    model = _model_or_400(state, req.model)
    if not req.messages:
        raise _ApiError(400, "messages must contain at least one message.", param="messages")
    _check_common(req.temperature, req.top_p, req.n)
    _check_max(req.max_tokens, "max_tokens")
    _check_max(req.max_completion_tokens, "max_completion_tokens")
    if req.frequency_penalty is not None and not -2.0 <= req.frequency_penalty <= 2.0:
        raise _ApiError(
            400, "frequency_penalty must be between -2 and 2.", param="frequency_penalty"
        )

    tools = [
        ToolSpec(t.function.name, t.function.description or "", t.function.parameters)
        for t in req.tools or ()
    ]
    choice: str | None
    if req.tool_choice is None or isinstance(req.tool_choice, str):
        choice = req.tool_choice
    else:
        choice = req.tool_choice.function.name
        if not any(t.name == choice for t in tools):
            raise _ApiError(
                400,
                f"tool_choice names the function `{choice}`, which is not in tools.",
                param="tool_choice",
            )
    if choice == "required" and not tools:
        raise _ApiError(400, 'tool_choice "required" needs at least one tool.', param="tool_choice")
    if tools and not model.supports_function_calling:
        raise _ApiError(
            400, f"The model `{model.id}` does not support tool calling.", param="tools"
        )

    response_format: dict[str, Any] | None = None
    if req.response_format is not None and req.response_format.type != "text":
        if req.response_format.type == "json_schema":
            if req.response_format.json_schema is None:
                raise _ApiError(
                    400,
                    "response_format of type json_schema needs a json_schema object.",
                    param="response_format.json_schema",
                )
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": req.response_format.json_schema.name,
                    "schema": req.response_format.json_schema.schema_,
                },
            }
        else:
            response_format = {"type": "json_object"}

    turns = _to_turns(req.messages, model)
    explicit_cap = req.max_completion_tokens or req.max_tokens
    prompt_tokens = count_prompt_tokens(turns, tools)
    _check_context(model, prompt_tokens, explicit_cap)

    response_id = "chatcmpl-" + uuid.uuid4().hex
    generated = state.generator.chat(
        turns,
        tools=tools,
        tool_choice=choice,
        response_format=response_format,
        temperature=req.temperature,
        new_call_id=lambda: "chatcmpl-tool-" + uuid.uuid4().hex,
        model=model.id,
    )
    created = int(time.time())
    stream = bool(req.stream)
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    minimal = request.headers.get("x-emulator-stream-style", "").lower() == "minimal"

    if generated.kind == "tool_calls":
        tokens: list[str] = []
        finish = "tool_calls"
        completion_tokens = sum(
            3 + count_tokens(c.name) + count_tokens(c.arguments) for c in generated.tool_calls
        )
    else:
        cap = explicit_cap
        if cap is None and generated.kind == "text":
            cap = DEFAULT_CHAT_MAX_TOKENS
        tokens, finish = apply_limits(
            generated.text, max_tokens=cap, stop=_stops(req.stop), ignore_eos=bool(req.ignore_eos)
        )
        completion_tokens = len(tokens)

    def record_usage() -> None:
        state.ledger.record(user, model.id, prompt_tokens, completion_tokens)

    if stream:
        events = _chat_events(
            response_id,
            created,
            model.id,
            generated,
            tokens,
            finish,
            usage=_usage(prompt_tokens, completion_tokens) if include_usage else None,
            minimal=minimal,
            chunk_delay=state.chunk_delay,
        )
        return _Stream(_apply_stream_fault(events, fault, response_id), on_complete=record_usage)

    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    if generated.kind == "tool_calls":
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in generated.tool_calls
        ]
    else:
        message["content"] = "".join(tokens)
    payload = {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model.id,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
            }
        ],
        "usage": _usage(prompt_tokens, completion_tokens),
    }
    response = _finish_json(payload, fault)
    if fault is None or fault.kind == "stall_stream":
        record_usage()
    return response


async def _chat_events(
    response_id: str,
    created: int,
    model_id: str,
    generated: Generated,
    tokens: Sequence[str],
    finish: str,
    *,
    usage: dict[str, int] | None,
    minimal: bool,
    chunk_delay: float,
) -> AsyncIterator[bytes]:
    head = (
        f'data: {{"id":"{response_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{_DUMPS(model_id)},"choices":'
    )
    open_choice = head + '[{"index":0,"delta":'
    tail = ',"logprobs":null,"finish_reason":null}]}\n\n'
    if not minimal:
        yield (open_choice + '{"role":"assistant","content":""}' + tail).encode()
    sent = 0
    if generated.kind == "tool_calls":
        for index, call in enumerate(generated.tool_calls):
            first = {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
            yield (open_choice + _DUMPS(first) + tail).encode()
            for fragment in _argument_fragments(call.arguments):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                yield (open_choice + _DUMPS(delta) + tail).encode()
                sent += 1
                if chunk_delay > 0:
                    await asyncio.sleep(chunk_delay)
                elif sent % 32 == 0:
                    await asyncio.sleep(0)
    else:
        for token in tokens:
            yield (open_choice + '{"content":' + _DUMPS(token) + "}" + tail).encode()
            sent += 1
            if chunk_delay > 0:
                await asyncio.sleep(chunk_delay)
            elif sent % 32 == 0:
                await asyncio.sleep(0)
    if not minimal:
        yield (
            open_choice
            + '{},"logprobs":null,"finish_reason":'
            + _DUMPS(finish)
            + ',"stop_reason":null}]}\n\n'
        ).encode()
    if usage is not None:
        yield (head + '[],"usage":' + _DUMPS(usage) + "}\n\n").encode()
    yield _DONE


def _argument_fragments(arguments: str) -> list[str]:
    """Split a JSON argument string into stream fragments (a few tokens each)."""
    from .generation import tokenize

    toks = tokenize(arguments)
    return ["".join(toks[i : i + 3]) for i in range(0, len(toks), 3)] or [""]


async def completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await _json_body(request)
    await _record(request, state, body)
    try:
        req = CompletionRequest.model_validate(body)
    except ValidationError as exc:
        raise _Unprocessable(_validation_detail(exc)) from None
    model = _model_or_400(state, req.model)
    if req.stream:
        raise _ApiError(
            400,
            "Streaming is not supported for /v1/completions; use /v1/chat/completions to stream.",
            param="stream",
        )
    prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
    if not prompts or any(not p for p in prompts):
        raise _ApiError(
            400, "prompt must be a non-empty string or list of non-empty strings.", param="prompt"
        )
    _check_common(req.temperature, req.top_p, req.n)
    _check_max(req.max_tokens, "max_tokens")
    cap = req.max_tokens or DEFAULT_COMPLETION_MAX_TOKENS
    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    for i, prompt in enumerate(prompts):
        p_tokens = count_tokens(prompt)
        _check_context(model, p_tokens, cap)
        text = state.generator.completion(prompt, req.temperature, model.id)
        tokens, finish = apply_limits(
            text, max_tokens=cap, stop=_stops(req.stop), ignore_eos=bool(req.ignore_eos)
        )
        prompt_tokens += p_tokens
        completion_tokens += len(tokens)
        choices.append(
            {
                "index": i,
                "text": "".join(tokens),
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
            }
        )
    payload = {
        "id": "cmpl-" + uuid.uuid4().hex,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model.id,
        "choices": choices,
        "usage": _usage(prompt_tokens, completion_tokens),
    }
    response = _finish_json(payload, fault)
    if fault is None or fault.kind == "stall_stream":
        state.ledger.record(user, model.id, prompt_tokens, completion_tokens)
    return response


async def usage_completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await _json_body(request)
    await _record(request, state, body)
    if not isinstance(body, dict):
        raise _Unprocessable(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": body,
                }
            ]
        )
    if "start_time" not in body:
        raise _Unprocessable(
            [
                {
                    "type": "missing",
                    "loc": ["body", "start_time"],
                    "msg": "Field required",
                    "input": body,
                }
            ]
        )
    try:
        result = state.ledger.query(user, body)
    except UsageError as exc:
        raise _ApiError(400, str(exc), param=exc.param) from None
    return _finish_json(result, fault)


# --------------------------------------------------------------------------------------------
# Control plane
# --------------------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    return _Json({"status": "ok", "models": len(state.models)})


async def faults_endpoint(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return _ApiError(
                400, "The body must be a JSON fault object or a list of them."
            ).response()
        items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
        items = items if isinstance(items, list) else [items]
        try:
            specs = [FaultSpec.from_json(item) for item in items]
        except FaultError as exc:
            return _ApiError(400, str(exc), param=exc.field).response()
        for spec in specs:
            state.faults.add(spec)
    return _Json({"faults": state.faults.active()})


async def reset_endpoint(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    state.reset()
    return _Json({"status": "reset"})


async def requests_endpoint(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    return _Json(
        {
            "requests": [
                {
                    "method": r.method,
                    "path": r.path,
                    "headers": r.headers,
                    "body": r.body,
                    "timestamp": r.timestamp,
                }
                for r in state.requests
            ]
        }
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _Json({"detail": exc.detail}, exc.status_code, exc.headers)


def create_app(
    api_keys: Sequence[str] = ("test-key",),
    *,
    latency: float = 0.0,
    seed: int = 0,
    usage_endpoint: bool = True,
    chunk_delay: float = 0.0,
    models: Sequence[EmulatedModel] | None = None,
    state: EmulatorState | None = None,
) -> Starlette:
    """The emulator as an ASGI app (use with ``httpx.ASGITransport`` or any ASGI server).

    The shared state is available as ``app.state.emulator`` (an :class:`EmulatorState`).
    """
    if state is None:
        state = EmulatorState(
            api_keys=tuple(api_keys),
            latency=latency,
            seed=seed,
            usage_endpoint=usage_endpoint,
            chunk_delay=chunk_delay,
            models=tuple(models) if models is not None else DEFAULT_MODELS,
        )
    routes = [
        Route("/v1/models", _v1(list_models), methods=["GET"]),
        Route("/v1/models/{model_id:path}", _v1(retrieve_model), methods=["GET"]),
        Route("/v1/chat/completions", _v1(chat_completions), methods=["POST"]),
        Route("/v1/completions", _v1(completions), methods=["POST"]),
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/faults", faults_endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/reset", reset_endpoint, methods=["POST"]),
        Route("/_emulator/requests", requests_endpoint, methods=["GET"]),
    ]
    if state.usage_endpoint:
        routes.append(Route("/v1/usage/completions", _v1(usage_completions), methods=["POST"]))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.emulator = state
    from .batches import install_batches  # files and batches live in their own module

    install_batches(app)
    return app
