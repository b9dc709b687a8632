"""``POST /v1/chat/completions``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, get_args

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from ._checks import (
    DEFAULT_CHAT_MAX_TOKENS,
    EffortField,
    check_context,
    check_generation,
    check_max_tokens,
    check_tool_choice,
    model_or_400,
    reasoning_effort,
    stop_strings,
    unsupported_input,
    usage_object,
)
from ._fault_responses import (
    apply_stream_fault,
    finish_json,
)
from ._http import (
    SSE_DONE,
    ApiError,
    StreamResponse,
    Unprocessable,
    dumps,
    validation_detail,
)
from ._output import Output, cut_and_count
from ._reply import ReplySpec, compose_reply
from ._schemas import ROLES, ChatReasoningEffort, ChatRequest
from ._schemas import Message as MessageParam
from .catalog import EmulatedModel
from .conversation import (
    Generated,
    ToolCall,
    ToolSpec,
    Turn,
    count_prompt_tokens,
)
from .faults import FaultSpec
from .state import EmulatorState, recorded_json_body
from .tokenizer import argument_fragments

__all__ = [
    "CHAT_EFFORT",
    "account",
    "chat_completions",
    "chat_payload",
    "chat_usage",
    "response_format_of",
    "tool_choice_of",
    "validate_chat_request",
]


CHAT_EFFORT = EffortField("reasoning_effort", get_args(ChatReasoningEffort))


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
            raise ApiError(
                400,
                "A file content part needs either file_data or file_id.",
                param=f"messages[{index}].content[{j}].file",
            )


def _to_turns(messages: Sequence[MessageParam], model: EmulatedModel) -> list[Turn]:
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        text, images, audios, files = _text_of(msg.content)
        if images and not model.supports_image:
            raise unsupported_input(model, "image", f"messages[{i}].content")
        if audios and not model.supports_audio:
            raise unsupported_input(model, "audio", f"messages[{i}].content")
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


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_chat_request(body: Any, state: EmulatorState) -> tuple[ChatRequest, EmulatedModel]:
    """The parsed request and its model, or the service's 400/422 answer."""
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        for i, m in enumerate(body["messages"]):
            if isinstance(m, dict) and isinstance(m.get("role"), str) and m["role"] not in ROLES:
                raise ApiError(
                    400,
                    f"Unknown role {m['role']!r} in messages[{i}]; expected one of {', '.join(ROLES)}.",
                    param=f"messages[{i}].role",
                )
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(validation_detail(exc)) from None
    model = model_or_400(state, req.model)
    if not req.messages:
        raise ApiError(400, "messages must contain at least one message.", param="messages")
    check_generation(req.temperature, req.top_p, req.n, req.max_tokens)
    check_max_tokens(req.max_completion_tokens, "max_completion_tokens")
    if req.frequency_penalty is not None and not -2.0 <= req.frequency_penalty <= 2.0:
        raise ApiError(
            400, "frequency_penalty must be between -2 and 2.", param="frequency_penalty"
        )
    return req, model


# --------------------------------------------------------------------------------------------
# Tool choice and response format
# --------------------------------------------------------------------------------------------


def tool_choice_of(req: ChatRequest, model: EmulatedModel) -> tuple[list[ToolSpec], str | None]:
    """The tools offered and the choice: ``none``/``auto``/``required``, a function's name, or
    ``None`` (not given)."""
    tools = [
        ToolSpec(t.function.name, t.function.description or "", t.function.parameters)
        for t in req.tools or ()
    ]
    if req.tool_choice is None or isinstance(req.tool_choice, str):
        return tools, check_tool_choice(model, tools, req.tool_choice)
    return tools, check_tool_choice(model, tools, req.tool_choice.function.name, named=True)


def response_format_of(req: ChatRequest) -> dict[str, Any] | None:
    """The requested JSON output (``None`` for plain text)."""
    if req.response_format is None or req.response_format.type == "text":
        return None
    if req.response_format.type == "json_object":
        return {"type": "json_object"}
    if req.response_format.json_schema is None:
        raise ApiError(
            400,
            "response_format of type json_schema needs a json_schema object.",
            param="response_format.json_schema",
        )
    return {
        "type": "json_schema",
        "json_schema": {
            "name": req.response_format.json_schema.name,
            "schema": req.response_format.json_schema.schema_,
        },
    }


# --------------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------------


def chat_usage(out: Output) -> dict[str, Any]:
    """The ``usage`` object (a reasoning model's also counts its reasoning tokens)."""
    usage: dict[str, Any] = usage_object(out.prompt_tokens, out.completion_tokens)
    if out.reasoning_model:
        usage["completion_tokens_details"] = {"reasoning_tokens": len(out.reasoning_tokens)}
    return usage


def account(
    generated: Generated, req: ChatRequest, model: EmulatedModel, prompt_tokens: int
) -> Output:
    """The reply cut to the request's ``max_completion_tokens``/``max_tokens`` (a text answer
    without either to :data:`DEFAULT_CHAT_MAX_TOKENS`) and stop strings, counted."""
    cap = req.max_completion_tokens or req.max_tokens
    if cap is None and generated.kind == "text":
        cap = DEFAULT_CHAT_MAX_TOKENS
    return cut_and_count(
        generated,
        cap=cap,
        prompt_tokens=prompt_tokens,
        reasoning_model=model.supports_reasoning,
        stop=stop_strings(req.stop),
        ignore_eos=bool(req.ignore_eos),
    )


# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------


def chat_payload(
    response_id: str, created: int, model: EmulatedModel, out: Output, reasoning_field: str
) -> dict[str, Any]:
    """The whole ``chat.completion`` object (vLLM's shape, as the service passes it on)."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    if out.reasoning_model:
        message[reasoning_field] = "".join(out.reasoning_tokens) or None
    if out.finish == "tool_calls":
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in out.tool_calls
        ]
    else:
        message["content"] = "".join(out.tokens)
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model.id,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": out.finish,
                "stop_reason": None,
            }
        ],
        "usage": chat_usage(out),
    }


# --------------------------------------------------------------------------------------------
# The route
# --------------------------------------------------------------------------------------------


async def chat_completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await recorded_json_body(request, state)
    req, model = validate_chat_request(body, state)
    tools, choice = tool_choice_of(req, model)
    response_format = response_format_of(req)
    turns = _to_turns(req.messages, model)
    prompt_tokens = count_prompt_tokens(turns, tools)
    check_context(model, prompt_tokens, req.max_completion_tokens or req.max_tokens)

    effort = reasoning_effort(
        model, req.reasoning_effort, CHAT_EFFORT, enabled=req.reasoning_enabled
    )

    response_id = "chatcmpl-" + uuid.uuid4().hex
    spec = ReplySpec(tools, choice, response_format, req.temperature, model.id, effort)
    generated = await compose_reply(state.generator, turns, spec, "chatcmpl-tool-")
    out = account(generated, req, model, prompt_tokens)
    created = int(time.time())

    def record_usage() -> None:
        state.ledger.record(user, model.id, out.prompt_tokens, out.completion_tokens)

    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        minimal = request.headers.get("x-emulator-stream-style", "").lower() == "minimal"
        events = _chat_events(
            response_id,
            created,
            model.id,
            out,
            usage=chat_usage(out) if include_usage else None,
            minimal=minimal,
            chunk_delay=state.chunk_delay,
            reasoning_field=state.reasoning_field,
        )
        return StreamResponse(
            apply_stream_fault(events, fault, response_id), on_complete=record_usage
        )
    response = finish_json(
        chat_payload(response_id, created, model, out, state.reasoning_field), fault
    )
    if fault is None or fault.kind == "stall_stream":
        record_usage()
    return response


async def _chat_events(
    response_id: str,
    created: int,
    model_id: str,
    out: Output,
    *,
    usage: dict[str, Any] | None,
    minimal: bool,
    chunk_delay: float,
    reasoning_field: str,
) -> AsyncIterator[bytes]:
    """The SSE events of a streamed answer: the role, the reasoning's deltas, then the
    answer's (text or tool calls), the finish reason, usage if asked for, ``[DONE]``."""
    head = (
        f'data: {{"id":"{response_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{dumps(model_id)},"choices":'
    )
    open_choice = head + '[{"index":0,"delta":'
    tail = ',"logprobs":null,"finish_reason":null}]}\n\n'
    if not minimal:
        yield (open_choice + '{"role":"assistant","content":""}' + tail).encode()
    sent = 0
    reasoning_key = '{"' + reasoning_field + '":'
    for token in out.reasoning_tokens:
        yield (open_choice + reasoning_key + dumps(token) + "}" + tail).encode()
        sent += 1
        if chunk_delay > 0:
            await asyncio.sleep(chunk_delay)
        elif sent % 32 == 0:
            await asyncio.sleep(0)
    if out.finish == "tool_calls":
        for index, call in enumerate(out.tool_calls):
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
            yield (open_choice + dumps(first) + tail).encode()
            for fragment in argument_fragments(call.arguments):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                yield (open_choice + dumps(delta) + tail).encode()
                sent += 1
                if chunk_delay > 0:
                    await asyncio.sleep(chunk_delay)
                elif sent % 32 == 0:
                    await asyncio.sleep(0)
    else:
        for token in out.tokens:
            yield (open_choice + '{"content":' + dumps(token) + "}" + tail).encode()
            sent += 1
            if chunk_delay > 0:
                await asyncio.sleep(chunk_delay)
            elif sent % 32 == 0:
                await asyncio.sleep(0)
    if not minimal:
        yield (
            open_choice
            + '{},"logprobs":null,"finish_reason":'
            + dumps(out.finish)
            + ',"stop_reason":null}]}\n\n'
        ).encode()
    if usage is not None:
        yield (head + '[],"usage":' + dumps(usage) + "}\n\n").encode()
    yield SSE_DONE
