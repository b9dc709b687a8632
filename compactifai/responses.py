"""The Responses API (``POST /v1/responses``): its operations, request mapping and the stream
accumulator that the CLI and both framework integrations read streams with.

CompactifAI serves ``/v1/responses`` on the models whose ``GET /v1/models`` capabilities say
``supports_responses``; reasoning arrives as ``reasoning`` output items, tool calls as
``function_call`` items, and a stream is data-only SSE (each JSON's ``type`` names the event)
ending with ``data: [DONE]`` (``service-2026.md`` section 4). The operations are sans-IO like
those of ``_protocol``: the clients send them through the same transport and ``Exchange``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compactifai._protocol import Operation, _encode, _parser, path_segment
from compactifai.capabilities import GatedRoute, check_model
from compactifai.chat import (
    AnswerPieces,
    ParsedToolCall,
    function_tool,
    joined_pieces,
    json_schema_response_format,
)
from compactifai.chat import usage_dict as chat_usage_dict
from compactifai.errors import RequestValidationError, status_error_from_response
from compactifai.types import (
    Model,
    ResponseFunctionCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponsesRequest,
    ResponsesResult,
    ResponseStreamEvent,
    ResponseUsage,
    Usage,
)

__all__ = [
    "RESPONSES_GATE",
    "RESPONSES_ROUTE",
    "ResponseDelta",
    "ResponseStreamAccumulator",
    "ResponseToolCallDelta",
    "chat_usage",
    "check_response_id",
    "create_response",
    "input_from_chat_messages",
    "responses_body",
    "responses_tool",
    "responses_tool_choice",
    "retrieve_response",
    "stream_response",
    "text_format_json_schema",
    "tool_calls_of_response",
    "usage_dict",
]

RESPONSES_ROUTE = "/v1/responses"
# Served on the models whose capabilities say so. The service's refusal is a ``detail`` about
# the Responses API; one about a previous response is not about the model.
RESPONSES_GATE = GatedRoute(
    RESPONSES_ROUTE,
    "supports_responses",
    action="serve the Responses API",
    models="Responses API models",
    refusal=re.compile(r"^(?!.*previous[ _]response).*respons", re.IGNORECASE | re.DOTALL),
)
# Event types that end a stream's answer (the server then sends [DONE]).
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


# ---------------------------------------------------------------------------- operations


def _not_found(response_id: str) -> str:
    return (
        f"Response {response_id!r} not found: only responses created with store=True are kept, "
        "and only for the API key that created them."
    )


def check_response_id(response_id: Any, field: str = "response_id") -> str:
    """``response_id`` as a path segment, or a :class:`RequestValidationError` naming ``field``.

    An id that is empty, holds ``/``, ``?``, ``#``, spaces or control characters, or is
    ``.``/``..`` would address another URL than the response's: it is refused rather than
    escaped into one (the rule of every id in a path: :func:`compactifai._protocol.path_segment`).
    """
    return path_segment(field, response_id)


def create_response(
    params: Mapping[str, Any], served: Sequence[Model] | None = None
) -> Operation[ResponsesResult]:
    """``POST /responses``, validated (with field paths) before anything is sent; a model the
    catalog (``served``, the one the server last listed, else the bundled table) knows does
    not serve the route is refused (see :mod:`compactifai.capabilities`)."""
    if params.get("stream"):
        raise RequestValidationError("stream", "use stream_response() to stream")
    body = _encode(ResponsesRequest, params)
    model = params["model"]
    check_model(RESPONSES_GATE, model, served)
    return Operation(
        "POST", "/responses", _parser(ResponsesResult), body, model=model, gate=RESPONSES_GATE
    )


def stream_response(
    params: Mapping[str, Any], served: Sequence[Model] | None = None
) -> Operation[ResponseStreamEvent]:
    """``POST /responses`` with ``stream: true``: typed events; error events raise. Checked
    as :func:`create_response` is."""
    body = _encode(ResponsesRequest, {**params, "stream": True})
    model = params["model"]
    check_model(RESPONSES_GATE, model, served)
    return Operation(
        "POST", "/responses", _parse_event, body, stream=True, model=model, gate=RESPONSES_GATE
    )


def retrieve_response(response_id: str) -> Operation[ResponsesResult]:
    """``GET /responses/{id}``: a response created with ``store: true`` by the same key."""
    path = f"/responses/{check_response_id(response_id)}"
    return Operation(
        "GET", path, _parser(ResponsesResult), not_found_message=_not_found(response_id)
    )


_event_parser = _parser(ResponseStreamEvent)
# An error code the Responses API writes as a word -> the HTTP status it stands for.
_ERROR_CODES = {
    "invalid_request_error": 400,
    "invalid_prompt": 400,
    "bad_request": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found": 404,
    "not_found_error": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "server_error": 500,
    "internal_error": 500,
}


def _status_of(code: Any) -> int:
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return code if 400 <= code <= 599 else 500
    return _ERROR_CODES.get(code, 500) if isinstance(code, str) else 500


def _parse_event(content: bytes, request_id: str | None) -> ResponseStreamEvent:
    """One event, or the typed error an ``error`` / ``response.failed`` event carries."""
    event = _event_parser(content, request_id)
    if event.type == "error":
        raise status_error_from_response(_status_of(event.code), content, request_id)
    if event.type == "response.failed":
        error = event.response.error if event.response is not None else None
        body = {
            "error": {
                "message": (error.message if error else "") or "The response failed",
                "code": error.code if error else None,
            }
        }
        raise status_error_from_response(
            _status_of(error.code if error else None), json.dumps(body).encode(), request_id
        )
    return event


# ---------------------------------------------------------------------------- request mapping


def responses_tool(
    name: str,
    description: str | None,
    parameters: Mapping[str, Any] | None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """A ``tools`` entry in the Responses API's flat shape ``{"type": "function", "name", ...}``."""
    return _flat_tool(function_tool(name, description, parameters, strict))


def _flat_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        return {"type": "function", **tool["function"]}
    return dict(tool)


def responses_tool_choice(choice: Any) -> Any:
    """A chat-shaped ``tool_choice`` (``{"type": "function", "function": {"name"}}``) in the
    Responses shape (``{"type": "function", "name"}``); the words pass through."""
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        return {"type": "function", "name": choice["function"].get("name")}
    return choice


def text_format_json_schema(
    name: str,
    schema: Mapping[str, Any],
    *,
    description: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """The ``text`` parameter asking for JSON that follows ``schema``."""
    chat_format = json_schema_response_format(name, schema, description=description, strict=strict)
    return {"format": _text_format(chat_format)}


def _input_part(part: Any) -> Any:
    """A chat content part as a Responses input part (others pass through for the server)."""
    if not isinstance(part, Mapping):
        return part
    kind = part.get("type")
    if kind == "text":
        return {"type": "input_text", "text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url") or {}
        url = image.get("url") if isinstance(image, Mapping) else image
        out: dict[str, Any] = {"type": "input_image", "image_url": url}
        if isinstance(image, Mapping) and image.get("detail"):
            out["detail"] = image["detail"]
        return out
    if kind == "file":
        return {"type": "input_file", **dict(part.get("file") or {})}
    return dict(part)


def _message_content(content: Any, role: str) -> Any:
    if isinstance(content, str) or content is None:
        return content or ""
    parts = [_input_part(p) for p in content]
    if role == "assistant":
        return "".join(p.get("text", "") for p in parts if isinstance(p, Mapping))
    return parts


def input_from_chat_messages(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages (``role``/``content``/``tool_calls``/``tool_call_id``) as Responses input
    items: messages, ``function_call`` items for an assistant's calls and
    ``function_call_output`` items for tool results."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            content = message.get("content")
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id") or "",
                    "output": content
                    if isinstance(content, str)
                    else _message_content(content, "assistant"),
                }
            )
            continue
        content = _message_content(message.get("content"), str(role))
        calls = message.get("tool_calls") or []
        if content or not calls:
            items.append({"role": role, "content": content})
        for call in calls:
            function = call.get("function") or {}
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.get("id") or "",
                    "name": function.get("name") or "",
                    "arguments": function.get("arguments") or "",
                }
            )
    return items


# A framework setting's name -> the Responses body field it is sent as.
_BODY_NAMES = {"max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens"}


def responses_body(
    model: str,
    input: str | list[dict[str, Any]],
    settings: Iterable[tuple[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``POST /responses`` body of one call, the same for both integrations.

    ``settings``, ``extra`` and ``overrides`` (later ones win) may use chat's names:
    ``max_tokens`` is sent as ``max_output_tokens``, ``reasoning_effort`` as
    ``reasoning.effort``, a chat ``response_format`` as ``text.format``, chat-shaped
    ``tools``/``tool_choice`` in the flat shape; ``stream_options`` (chat only) and unset
    values (None, ``[]``) are left out. ``input`` is a string or input items (see
    :func:`input_from_chat_messages`).
    """
    body: dict[str, Any] = {"model": model}
    for name, value in [*settings, *(extra or {}).items(), *(overrides or {}).items()]:
        if value is None or value == [] or name == "stream_options":
            continue
        if name == "response_format":
            body["text"] = {**body.get("text", {}), "format": _text_format(value)}
        elif name == "reasoning_effort":
            body["reasoning"] = {**body.get("reasoning", {}), "effort": value}
        elif name == "tools":
            body["tools"] = [_flat_tool(t) for t in value]
        elif name == "tool_choice":
            body["tool_choice"] = responses_tool_choice(value)
        else:
            body[_BODY_NAMES.get(name, name)] = value
    body["input"] = input
    return body


def _text_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """Chat's ``response_format`` as a Responses ``text.format`` (the schema's fields flat)."""
    kind = response_format.get("type")
    json_schema = response_format.get("json_schema")
    if kind == "json_schema" and isinstance(json_schema, Mapping):
        return {"type": "json_schema", **json_schema}
    return dict(response_format)


# ---------------------------------------------------------------------------- reading results


def tool_calls_of_response(result: ResponsesResult) -> list[ParsedToolCall]:
    """The function calls of a response, arguments parsed."""
    return [
        ParsedToolCall.from_parts(call.call_id or call.id or "", call.name, call.arguments)
        for call in result.function_calls
    ]


def chat_usage(usage: ResponseUsage | None) -> Usage | None:
    """Responses token counts under their chat names (``input_tokens`` -> ``prompt_tokens``...),
    details included."""
    if usage is None:
        return None
    return Usage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total,
        prompt_tokens_details=usage.input_tokens_details,
        completion_tokens_details=usage.output_tokens_details,
    )


def usage_dict(usage: ResponseUsage | None) -> dict[str, Any] | None:
    """Responses usage in chat's words (what both integrations report), ``reasoning_tokens``
    added when the server counted them."""
    return chat_usage_dict(chat_usage(usage))


@dataclass(frozen=True)
class ResponseToolCallDelta:
    """A piece of a function call: ``index`` counts the response's calls from 0; ``call_id``
    and ``name`` come with a call's first piece, ``arguments`` is a fragment of its JSON."""

    index: int
    call_id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class ResponseDelta:
    """What one event added: answer text, reasoning text, function-call pieces."""

    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ResponseToolCallDelta, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.text or self.reasoning or self.tool_calls)


_NOTHING = ResponseDelta()


@dataclass
class _Call:
    index: int
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    sent: int = 0  # characters of arguments delivered

    def joined(self) -> str:
        return joined_pieces(self.arguments)


class ResponseStreamAccumulator(AnswerPieces):
    """Everything a Responses stream has said so far, and what each event adds.

    :meth:`add` folds an event in and returns its :class:`ResponseDelta`. A server that sends
    an item whole (only ``.done`` events, or only ``response.completed``) still gets its text,
    reasoning and calls delivered once, as a delta of the event that carried them. At the
    end, :attr:`text`, :attr:`reasoning`, :attr:`tool_calls`, :attr:`usage` and
    :attr:`response` (the final response object) hold the whole answer.
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        # Characters delivered per (output item, content part), text and reasoning apart.
        self._sent: dict[tuple[str, Any, int], int] = {}
        self._calls: dict[Any, _Call] = {}
        self._parsed: list[ParsedToolCall] | None = None
        self.response: ResponsesResult | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.request_id: str | None = None
        self.events = 0

    # -- reading

    @property
    def refusal(self) -> str | None:
        return joined_pieces(self._refusal) if self._refusal else None

    @property
    def usage(self) -> ResponseUsage | None:
        return self.response.usage if self.response is not None else None

    @property
    def status(self) -> str | None:
        return self.response.status if self.response is not None else None

    @property
    def incomplete_reason(self) -> str | None:
        details = self.response.incomplete_details if self.response is not None else None
        return details.reason if details is not None else None

    @property
    def finished(self) -> bool:
        """Whether the final response object (``response.completed``/``incomplete``) arrived."""
        return self.response is not None

    @property
    def tool_call_parts(self) -> list[tuple[str, str, str]]:
        """``(call_id, name, arguments so far)`` of each call, unparsed."""
        return [(c.call_id, c.name, c.joined()) for c in self._calls.values()]

    @property
    def tool_calls(self) -> list[ParsedToolCall]:
        """The calls with their arguments parsed (once, until another piece arrives)."""
        if self._parsed is None:
            self._parsed = [ParsedToolCall.from_parts(*parts) for parts in self.tool_call_parts]
        return self._parsed

    # -- folding

    def add(self, event: ResponseStreamEvent) -> ResponseDelta:
        """Fold ``event`` in; return what it added."""
        self.events += 1
        if self.request_id is None:
            self.request_id = event.request_id
        kind = event.type
        key = event.output_index if event.output_index is not None else event.item_id
        part = event.content_index or 0
        if kind == "response.output_text.delta":
            return self._more("text", key, part, event.delta or "")
        if kind == "response.output_text.done":
            return self._upto("text", key, part, event.text)
        if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            return self._more(
                "reasoning", key, event.content_index or _summary_index(event), event.delta or ""
            )
        if kind in ("response.reasoning_text.done", "response.reasoning_summary_text.done"):
            return self._upto(
                "reasoning", key, event.content_index or _summary_index(event), event.text
            )
        if kind == "response.refusal.delta" and event.delta:
            self._refusal.append(event.delta)
            return _NOTHING
        if kind == "response.function_call_arguments.delta":
            return self._call_piece(key, None, None, event.delta or "")
        if kind == "response.function_call_arguments.done":
            return self._call_upto(key, None, event.name, event.arguments)
        if kind == "response.output_item.added" and isinstance(event.item, ResponseFunctionCall):
            item = event.item
            return self._call_piece(key, item.call_id or item.id, item.name, item.arguments)
        if kind == "response.output_item.done" and event.item is not None:
            return self._item(key, event.item)
        if event.response is not None:
            if self.id is None:
                self.id = event.response.id or None
                self.model = event.response.model or None
            if kind in TERMINAL_EVENTS:
                self.response = event.response
                return self._catch_up(event.response)
        return _NOTHING

    def _more(self, what: str, key: Any, part: int, delta: str) -> ResponseDelta:
        if not delta:
            return _NOTHING
        slot = (what, key, part)
        self._sent[slot] = self._sent.get(slot, 0) + len(delta)
        if what == "text":
            self._text.append(delta)
            return ResponseDelta(text=delta)
        self._reasoning.append(delta)
        return ResponseDelta(reasoning=delta)

    def _upto(self, what: str, key: Any, part: int, full: str | None) -> ResponseDelta:
        """Deliver what of ``full`` was not delivered piece by piece."""
        if not full:
            return _NOTHING
        sent = self._sent.get((what, key, part), 0)
        return self._more(what, key, part, full[sent:])

    def _call(self, key: Any) -> _Call:
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call(index=len(self._calls))
        return call

    def _call_piece(
        self, key: Any, call_id: str | None, name: str | None, arguments: str
    ) -> ResponseDelta:
        call = self._call(key)
        new_id = call_id if call_id and not call.call_id else None
        new_name = name if name and not call.name else None
        if new_id:
            call.call_id = new_id
        if new_name:
            call.name = new_name
        if arguments:
            call.arguments.append(arguments)
            call.sent += len(arguments)
        if not (new_id or new_name or arguments):
            return _NOTHING
        self._parsed = None
        piece = ResponseToolCallDelta(call.index, new_id, new_name, arguments)
        return ResponseDelta(tool_calls=(piece,))

    def _call_upto(
        self, key: Any, call_id: str | None, name: str | None, arguments: str | None
    ) -> ResponseDelta:
        call = self._call(key)
        rest = (arguments or "")[call.sent :]
        return self._call_piece(key, call_id, name, rest)

    def _item(self, key: Any, item: Any) -> ResponseDelta:
        """An output item arrived whole (``output_item.done`` or the final response)."""
        if isinstance(item, ResponseFunctionCall):
            return self._call_upto(key, item.call_id or item.id, item.name, item.arguments)
        if isinstance(item, ResponseOutputMessage):
            if item.refusal and not self._refusal:  # sent whole, not as refusal deltas
                self._refusal.append(item.refusal)
            pieces = [
                self._upto("text", key, j, p.text)
                for j, p in enumerate(item.content)
                if isinstance(p, ResponseOutputText)
            ]
            return ResponseDelta(text="".join(p.text for p in pieces))
        if isinstance(item, ResponseReasoningItem):
            parts = item.content or item.summary
            pieces = [self._upto("reasoning", key, j, p.text) for j, p in enumerate(parts)]
            return ResponseDelta(reasoning="".join(p.reasoning for p in pieces))
        return _NOTHING

    def _catch_up(self, response: ResponsesResult) -> ResponseDelta:
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ResponseToolCallDelta] = []
        for index, item in enumerate(response.output):
            key: Any = index
            item_id = getattr(item, "id", None)
            if not self._known(index) and item_id and self._known(item_id):
                key = item_id
            delta = self._item(key, item)
            text.append(delta.text)
            reasoning.append(delta.reasoning)
            calls.extend(delta.tool_calls)
        return ResponseDelta("".join(text), "".join(reasoning), tuple(calls))

    def _known(self, key: Any) -> bool:
        return key in self._calls or any(slot[1] == key for slot in self._sent)


def _summary_index(event: ResponseStreamEvent) -> int:
    """The summary part a reasoning-summary event is about (0 when it does not say)."""
    index = getattr(event, "summary_index", None)
    return index if isinstance(index, int) else 0
