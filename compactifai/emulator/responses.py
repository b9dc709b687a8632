"""``POST /v1/responses`` and ``GET /v1/responses/{response_id}`` (the Responses API).

Served on the models whose capabilities say ``supports_responses``; any other known model gets
400 ``{"detail": ...}`` (the service's guidance shape for this route), an unknown one the chat
route's 400 naming the models served. Answers come from the same generator as chat:
reasoning items for reasoning models, ``function_call`` items when ``tools`` are given,
JSON following ``text.format``. ``store`` defaults to false; a stored response is readable by
``GET`` and usable as ``previous_response_id`` only with the key that created it. Streams are
data-only SSE (each JSON's ``type`` names the event, with a ``sequence_number``) ending with
``data: [DONE]``, in the event order the OpenAI SDK expects.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from ._checks import (
    EffortField,
    check_context,
    check_max_tokens,
    check_sampling,
    check_tool_choice,
    reasoning_effort,
    served_model_or_400,
    unsupported_input,
)
from ._fault_responses import apply_stream_fault, finish_json
from ._http import (
    SSE_DONE,
    ApiError,
    JsonResponse,
    StreamResponse,
    Unprocessable,
    dumps,
    validation_detail,
)
from ._output import Output, cut_and_count
from ._reply import ReplySpec, compose_reply
from .catalog import EmulatedModel
from .conversation import (
    ToolCall,
    ToolSpec,
    Turn,
    count_prompt_tokens,
)
from .faults import FaultSpec
from .state import EmulatorState, record_request, recorded_json_body
from .tokenizer import argument_fragments

__all__ = ["MAX_STORED_RESPONSES", "StoredResponse", "create_response", "retrieve_response"]

# Stored responses kept per emulator (the oldest go first): a bound on its memory.
MAX_STORED_RESPONSES = 10_000
ROLES = ("user", "assistant", "system", "developer")
# The ``Reasoning.effort`` schema still has OpenAI's four older levels (service-2026.md §2.1).
ResponsesReasoningEffort = Literal["minimal", "low", "medium", "high"]
RESPONSES_EFFORT = EffortField("reasoning.effort", get_args(ResponsesReasoningEffort))


# --------------------------------------------------------------------------------------------
# Request schema (types only: value checks answer 400 in the handler, like chat)
# --------------------------------------------------------------------------------------------


class _M(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class InputPart(_M):
    type: str
    text: str | None = None
    refusal: str | None = None


class InputItem(_M):
    type: str | None = None
    role: str | None = None
    content: str | list[InputPart] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[InputPart] | None = None


class FunctionTool(_M):
    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class NamedToolChoice(_M):
    type: str
    name: str | None = None


class Reasoning(_M):
    effort: ResponsesReasoningEffort | None = None
    summary: str | None = None


class TextFormat(_M):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextParam(_M):
    format: TextFormat | None = None


class ResponsesRequest(_M):
    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    stream: bool | None = None
    store: bool | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    text: TextParam | None = None
    metadata: dict[str, str] | None = None
    previous_response_id: str | None = None
    truncation: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class StoredResponse:
    """A response created with ``store: true``: its owner, its JSON, and the conversation it
    ends (input and output) for a later ``previous_response_id``."""

    owner: str
    payload: dict[str, Any]
    turns: tuple[Turn, ...]


# --------------------------------------------------------------------------------------------
# Validation and the conversation
# --------------------------------------------------------------------------------------------


def _responses_model(state: EmulatorState, model_id: str) -> EmulatedModel:
    model = served_model_or_400(state, model_id)
    if not model.supports_responses:
        serving = ", ".join(m.id for m in state.model_map.values() if m.supports_responses)
        raise _Detail(
            400,
            f"Model '{model_id}' does not support the Responses API (/v1/responses). "
            f"Models that do: [{serving}]; use /v1/chat/completions for this one.",
        )
    return model


class _Detail(Exception):
    """An answer in FastAPI's ``{"detail": "..."}`` shape (this route's guidance shape)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def response(self) -> Response:
        return JsonResponse({"detail": self.detail}, self.status)


def _content_text(
    content: str | list[InputPart] | None, model: EmulatedModel, where: str
) -> tuple[str, int, int]:
    """(text, images, files) of an item's content; an input the model cannot read is a 400."""
    if content is None or isinstance(content, str):
        return content or "", 0, 0
    texts: list[str] = []
    images = files = 0
    for j, part in enumerate(content):
        if part.type in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
            texts.append(part.text or "")
        elif part.type == "refusal":
            texts.append(part.refusal or "")
        elif part.type == "input_image":
            if not model.supports_image:
                raise unsupported_input(model, "image", f"{where}.content[{j}]")
            images += 1
        elif part.type == "input_audio":
            if not model.supports_audio:
                raise unsupported_input(model, "audio", f"{where}.content[{j}]")
        elif part.type == "input_file":
            files += 1
        else:
            raise ApiError(
                400, f"Unknown content part type {part.type!r}.", param=f"{where}.content[{j}]"
            )
    return "\n".join(texts), images, files


def _to_turns(req: ResponsesRequest, model: EmulatedModel) -> list[Turn]:
    if isinstance(req.input, str):
        if not req.input:
            raise ApiError(400, "input must not be empty.", param="input")
        return [Turn("user", req.input)]
    if not req.input:
        raise ApiError(400, "input must hold at least one item.", param="input")
    turns: list[Turn] = []
    for i, item in enumerate(req.input):
        where = f"input[{i}]"
        kind = item.type or "message"
        if kind == "message":
            if item.role not in ROLES:
                raise ApiError(
                    400,
                    f"Unknown role {item.role!r} in {where}; expected one of {', '.join(ROLES)}.",
                    param=f"{where}.role",
                )
            text, images, files = _content_text(item.content, model, where)
            turns.append(Turn(item.role, text, images=images, files=files))
        elif kind == "function_call":
            if not item.call_id or not item.name:
                raise ApiError(400, "A function_call item needs a call_id and a name.", param=where)
            call = ToolCall(item.call_id, item.name, item.arguments or "")
            last = turns[-1] if turns else None
            if last is not None and last.role == "assistant" and last.tool_calls and not last.text:
                turns[-1] = Turn("assistant", "", tool_calls=(*last.tool_calls, call))
            else:
                turns.append(Turn("assistant", "", tool_calls=(call,)))
        elif kind == "function_call_output":
            if not item.call_id:
                raise ApiError(
                    400, "A function_call_output item needs a call_id.", param=f"{where}.call_id"
                )
            output = item.output if isinstance(item.output, str) else None
            if output is None:
                output, _, _ = _content_text(item.output, model, where)
            turns.append(Turn("tool", output, tool_call_id=item.call_id))
        elif kind == "reasoning":
            continue  # an earlier answer's thinking: not part of the prompt
        else:
            raise ApiError(
                400,
                f"Unsupported input item type {kind!r}; this server takes message, "
                "function_call, function_call_output and reasoning items.",
                param=f"{where}.type",
            )
    return turns


def _tools(req: ResponsesRequest, model: EmulatedModel) -> tuple[list[ToolSpec], str | None]:
    tools: list[ToolSpec] = []
    for i, tool in enumerate(req.tools or ()):
        if tool.type != "function":
            raise ApiError(
                400,
                f"Tool type {tool.type!r} is not supported: only function tools are.",
                param=f"tools[{i}].type",
            )
        if not tool.name:
            raise ApiError(400, "A function tool needs a name.", param=f"tools[{i}].name")
        tools.append(ToolSpec(tool.name, tool.description or "", tool.parameters))
    if req.tool_choice is None or isinstance(req.tool_choice, str):
        return tools, check_tool_choice(model, tools, req.tool_choice)
    return tools, check_tool_choice(model, tools, req.tool_choice.name, named=True)


def _response_format(req: ResponsesRequest) -> dict[str, Any] | None:
    fmt = req.text.format if req.text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    if fmt.schema_ is None or not fmt.name:
        raise ApiError(
            400, "A json_schema text format needs a name and a schema.", param="text.format"
        )
    return {"type": "json_schema", "json_schema": {"name": fmt.name, "schema": fmt.schema_}}


def _stored(state: EmulatorState, response_id: str, user: str) -> StoredResponse | None:
    stored = state.stored_responses.get(response_id)
    return stored if isinstance(stored, StoredResponse) and stored.owner == user else None


# --------------------------------------------------------------------------------------------
# The answer
# --------------------------------------------------------------------------------------------


def _hex() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class _Items:
    """The ids of the answer's output items (the same in every event and the final object)."""

    reasoning_id: str
    message_id: str
    call_ids: tuple[str, ...]


def _reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "reasoning_text", "text": text}] if text else []
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [],
        "content": content,
        "encrypted_content": None,
        "status": status,
    }


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = (
        []
        if text is None
        else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    )
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _call_item(item_id: str, call: ToolCall, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


def _output(answer: Output, ids: _Items) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if answer.reasoning_model and answer.reasoning_tokens:
        output.append(
            _reasoning_item(ids.reasoning_id, "".join(answer.reasoning_tokens), "completed")
        )
    for item_id, call in zip(ids.call_ids, answer.tool_calls, strict=True):
        output.append(_call_item(item_id, call, call.arguments, "completed"))
    if not answer.tool_calls and (answer.tokens or not answer.cut_short):
        status = "incomplete" if answer.cut_short else "completed"
        output.append(_message_item(ids.message_id, "".join(answer.tokens), status))
    return output


def _usage(answer: Output) -> dict[str, Any]:
    return {
        "input_tokens": answer.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": answer.completion_tokens,
        "output_tokens_details": {
            "reasoning_tokens": len(answer.reasoning_tokens) if answer.reasoning_model else 0
        },
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _response_object(
    req: ResponsesRequest,
    response_id: str,
    created: int,
    model: EmulatedModel,
    effort: str | None,
    body: dict[str, Any],
) -> dict[str, Any]:
    """The response object without its outcome (``status``, ``output``, ``usage``...)."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "completed_at": None,
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": None,
        "model": model.id,
        "output": [],
        "parallel_tool_calls": True if req.parallel_tool_calls is None else req.parallel_tool_calls,
        "previous_response_id": req.previous_response_id,
        "reasoning": {"effort": effort, "summary": None},
        "service_tier": "auto",
        "store": bool(req.store),
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "truncation": req.truncation or "disabled",
        "usage": None,
        "user": req.user,
        "metadata": req.metadata or {},
    }


def _finished(
    pending: dict[str, Any], answer: Output, ids: _Items, completed_at: int
) -> dict[str, Any]:
    return {
        **pending,
        "status": "incomplete" if answer.cut_short else "completed",
        "completed_at": completed_at,
        "incomplete_details": {"reason": "max_output_tokens"} if answer.cut_short else None,
        "output": _output(answer, ids),
        "usage": _usage(answer),
    }


def _answer_turn(answer: Output) -> Turn:
    if answer.tool_calls:
        return Turn("assistant", "", tool_calls=tuple(answer.tool_calls))
    return Turn("assistant", "".join(answer.tokens))


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


async def create_response(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await recorded_json_body(request, state)
    try:
        return await _create(request, state, user, fault, body)
    except _Detail as exc:
        return exc.response()


async def _create(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None, body: Any
) -> Response:
    try:
        req = ResponsesRequest.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(validation_detail(exc)) from None
    model = _responses_model(state, req.model)
    check_sampling(req.temperature, req.top_p, None)
    check_max_tokens(req.max_output_tokens, "max_output_tokens")
    tools, choice = _tools(req, model)
    response_format = _response_format(req)
    requested = req.reasoning.effort if req.reasoning is not None else None
    effort = reasoning_effort(model, requested, RESPONSES_EFFORT)
    turns = _to_turns(req, model)
    history: tuple[Turn, ...] = ()
    if req.previous_response_id is not None:
        previous = _stored(state, req.previous_response_id, user)
        if previous is None:
            raise _Detail(
                400,
                f"Previous response with id '{req.previous_response_id}' not found (only "
                "responses created with store: true by this key can be continued).",
            )
        history = previous.turns
    context = [*history, *turns]
    prompt = [Turn("system", req.instructions), *context] if req.instructions else context
    input_tokens = count_prompt_tokens(prompt, tools)
    check_context(model, input_tokens, req.max_output_tokens)

    spec = ReplySpec(tools, choice, response_format, req.temperature, model.id, effort)
    generated = await compose_reply(state.generator, prompt, spec, "call_")
    # As on vLLM, ``max_output_tokens`` bounds everything generated, the reasoning first.
    answer = cut_and_count(
        generated,
        cap=req.max_output_tokens,
        prompt_tokens=input_tokens,
        reasoning_model=model.supports_reasoning,
    )

    response_id = "resp_" + _hex()
    created = int(time.time())
    ids = _Items("rs_" + _hex(), "msg_" + _hex(), tuple("fc_" + _hex() for _ in answer.tool_calls))
    pending = _response_object(req, response_id, created, model, effort, body)
    final = _finished(pending, answer, ids, int(time.time()))
    if req.store:
        _store(state, response_id, StoredResponse(user, final, (*context, _answer_turn(answer))))

    def record_usage() -> None:
        state.ledger.record(user, model.id, answer.prompt_tokens, answer.completion_tokens)

    if req.stream:
        events = _events(pending, final, answer, ids, state.chunk_delay)
        return StreamResponse(_stream_fault(events, fault, response_id), on_complete=record_usage)
    response = finish_json(final, fault)
    if fault is None or fault.kind == "stall_stream":
        record_usage()
    return response


def _store(state: EmulatorState, response_id: str, stored: StoredResponse) -> None:
    responses = state.stored_responses
    responses[response_id] = stored
    while len(responses) > MAX_STORED_RESPONSES:
        del responses[next(iter(responses))]


async def retrieve_response(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    await record_request(request, state, None)
    response_id = request.path_params["response_id"]
    stored = _stored(state, response_id, user)
    if stored is None:
        return JsonResponse({"detail": f"Response with id '{response_id}' not found."}, 404)
    return finish_json(stored.payload, fault)


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------


def _event_list(
    pending: dict[str, Any], final: dict[str, Any], answer: Output, ids: _Items
) -> Iterator[dict[str, Any]]:
    """The events of a streamed answer, without their sequence numbers."""
    yield {"type": "response.created", "response": pending}
    yield {"type": "response.in_progress", "response": pending}
    index = 0
    if answer.reasoning_model and answer.reasoning_tokens:
        item_id = ids.reasoning_id
        text = "".join(answer.reasoning_tokens)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        yield {
            "type": "response.output_item.added",
            "output_index": index,
            "item": _reasoning_item(item_id, "", "in_progress"),
        }
        yield {
            "type": "response.content_part.added",
            **where,
            "part": {"type": "reasoning_text", "text": ""},
        }
        for token in answer.reasoning_tokens:
            yield {"type": "response.reasoning_text.delta", **where, "delta": token}
        yield {"type": "response.reasoning_text.done", **where, "text": text}
        yield {
            "type": "response.content_part.done",
            **where,
            "part": {"type": "reasoning_text", "text": text},
        }
        yield {
            "type": "response.output_item.done",
            "output_index": index,
            "item": _reasoning_item(item_id, text, "completed"),
        }
        index += 1
    for item_id, call in zip(ids.call_ids, answer.tool_calls, strict=True):
        where = {"item_id": item_id, "output_index": index}
        yield {
            "type": "response.output_item.added",
            "output_index": index,
            "item": _call_item(item_id, call, "", "in_progress"),
        }
        for fragment in argument_fragments(call.arguments):
            yield {"type": "response.function_call_arguments.delta", **where, "delta": fragment}
        yield {
            "type": "response.function_call_arguments.done",
            **where,
            "name": call.name,
            "arguments": call.arguments,
        }
        yield {
            "type": "response.output_item.done",
            "output_index": index,
            "item": _call_item(item_id, call, call.arguments, "completed"),
        }
        index += 1
    if not answer.tool_calls and (answer.tokens or not answer.cut_short):
        item_id = ids.message_id
        text = "".join(answer.tokens)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        status = "incomplete" if answer.cut_short else "completed"
        yield {
            "type": "response.output_item.added",
            "output_index": index,
            "item": _message_item(item_id, None, "in_progress"),
        }
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield {"type": "response.content_part.added", **where, "part": empty}
        for token in answer.tokens:
            yield {"type": "response.output_text.delta", **where, "delta": token, "logprobs": []}
        yield {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
        yield {"type": "response.content_part.done", **where, "part": {**empty, "text": text}}
        yield {
            "type": "response.output_item.done",
            "output_index": index,
            "item": _message_item(item_id, text, status),
        }
    end = "response.incomplete" if answer.cut_short else "response.completed"
    yield {"type": end, "response": final}


async def _events(
    pending: dict[str, Any],
    final: dict[str, Any],
    answer: Output,
    ids: _Items,
    chunk_delay: float,
) -> AsyncIterator[bytes]:
    for number, event in enumerate(_event_list(pending, final, answer, ids)):
        event["sequence_number"] = number
        yield b"data: " + dumps(event).encode() + b"\n\n"
        if chunk_delay > 0 and event["type"].endswith(".delta"):
            await asyncio.sleep(chunk_delay)
        elif number % 32 == 31:
            await asyncio.sleep(0)
    yield SSE_DONE


def _stream_error(message: str, sent: int) -> dict[str, Any]:
    """This API's ``error`` event, numbered after the events sent before it."""
    return {
        "type": "error",
        "code": "server_error",
        "message": message,
        "param": None,
        "sequence_number": sent,
    }


def _stream_fault(
    events: AsyncIterator[bytes], fault: FaultSpec | None, response_id: str
) -> AsyncIterator[bytes | None]:
    """Stream faults as for chat; ``error_in_stream`` sends this API's ``error`` event."""
    return apply_stream_fault(events, fault, response_id, error_event=_stream_error)
