"""Framework-neutral chat mapping shared by the LangChain and LlamaIndex integrations.

Both adapters turn their own tool and schema types into JSON schemas, then use these helpers
to build the API's ``tools``/``tool_choice``/``response_format`` parameters, and to read tool
calls and usage back from responses and streams. Keeping it here means the two integrations
never disagree on how CompactifAI is spoken to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compactifai.errors import RequestValidationError
from compactifai.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChoiceDelta,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "AUDIO_FORMATS",
    "AnswerPieces",
    "ParsedToolCall",
    "StreamAccumulator",
    "StreamMetadata",
    "assistant_message",
    "audio_format",
    "chat_body",
    "completion_body",
    "file_part",
    "function_tool",
    "image_url_part",
    "input_audio_part",
    "joined_pieces",
    "json_schema_response_format",
    "parse_tool_arguments",
    "reasoning_settings",
    "refuse_unreadable",
    "settings_body",
    "tool_calls_of",
    "usage_dict",
]


def function_tool(
    name: str,
    description: str | None,
    parameters: Mapping[str, Any] | None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """An API ``tools`` entry; the parameters must be a JSON schema object."""
    if parameters is not None and not isinstance(parameters, Mapping):
        raise RequestValidationError(f"tools[{name}].parameters", "must be a JSON schema object")
    schema = dict(parameters) if parameters is not None else {"type": "object", "properties": {}}
    if schema.get("type", "object") != "object":
        raise RequestValidationError(
            f"tools[{name}].parameters",
            f"must be a schema of type 'object', not {schema.get('type')!r}",
        )
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    function: dict[str, Any] = {"name": name, "parameters": schema}
    if description:
        function["description"] = description
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def tool_choice_param(
    choice: str | bool | Mapping[str, Any] | None, tool_names: Sequence[str]
) -> Any:
    """Map the spellings users know (LangChain's ``any``, ``True``, a bare tool name) to the API's."""
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        name = (
            choice.get("function", {}).get("name")
            if choice.get("type") == "function"
            else choice.get("name")
        )
        if not name:
            raise RequestValidationError(
                "tool_choice", f"cannot read a tool name from {dict(choice)!r}"
            )
        choice = str(name)
    if choice is True or choice == "any":
        return "required" if len(tool_names) != 1 else _named(tool_names[0])
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, str):
        if choice not in tool_names:
            raise RequestValidationError(
                "tool_choice", f"{choice!r} is not one of the bound tools {list(tool_names)}"
            )
        return _named(choice)
    raise RequestValidationError("tool_choice", f"unsupported value {choice!r}")


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def json_schema_response_format(
    name: str,
    schema: Mapping[str, Any],
    *,
    description: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    json_schema: dict[str, Any] = {"name": name, "schema": dict(schema)}
    if description:
        json_schema["description"] = description
    if strict is not None:
        json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


def parse_tool_arguments(arguments: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """(arguments, None) when they are a JSON object; (None, why not) otherwise."""
    if arguments is None or not arguments.strip():
        return {}, None
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"arguments are JSON {type(value).__name__}, not an object"
    return value, None


def usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    """OpenAI-style usage as a plain dict (what LlamaIndex's token counter reads).

    ``reasoning_tokens`` is added when the server counted them.
    """
    if usage is None:
        return None
    counts: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total,
    }
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


# ---------------------------------------------------------------------------- request bodies

# A framework setting's name -> the body field it is sent as (the schema deprecates max_tokens).
_BODY_NAMES = {"max_tokens": "max_completion_tokens"}


def _set(body: dict[str, Any], name: str, value: Any) -> None:
    sent_as = _BODY_NAMES.get(name)
    if sent_as is None:
        body[name] = value
        return
    # Checked here, so that an error names the field the caller wrote.
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 150_000
    ):
        raise RequestValidationError(name, f"must be an integer from 1 to 150000 (got {value!r})")
    body[sent_as] = value


def settings_body(
    model: str,
    settings: Iterable[tuple[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body fields a framework object sends with every chat request.

    ``settings`` are its sampling and reasoning fields (``temperature``, ``max_tokens``,
    ``reasoning_effort``...); unset ones (None, ``[]``) are left out, ``max_tokens`` is sent as
    ``max_completion_tokens`` (an explicit ``max_completion_tokens`` wins). ``extra`` is the
    object's free-form body fields (LangChain's ``model_kwargs``, LlamaIndex's
    ``additional_kwargs``), sent as given.
    """
    body: dict[str, Any] = {"model": model}
    explicit_max = False
    for name, value in settings:
        if value is None or value == []:
            continue
        if name == "max_completion_tokens":
            explicit_max = True
        elif name == "max_tokens" and explicit_max:
            continue
        _set(body, name, value)
    if extra:
        body.update(extra)
    return body


def chat_body(
    model: str,
    messages: list[dict[str, Any]],
    settings: Iterable[tuple[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    stream: bool = False,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The ``POST /chat/completions`` body of one call, the same for both integrations.

    The object's settings and extras (see :func:`settings_body`), then the call's
    ``overrides`` (a call-time ``max_tokens`` is sent as ``max_completion_tokens`` too), then
    the messages. A stream asks for token usage (``stream_options.include_usage``) unless
    ``stream_usage`` is off or the caller set ``stream_options`` itself. The body is validated
    (with field paths) when the client sends it.
    """
    body = settings_body(model, settings, extra)
    for name, value in (overrides or {}).items():
        _set(body, name, value)
    body["messages"] = messages
    if stream and stream_usage:
        body.setdefault("stream_options", {"include_usage": True})
    return body


def completion_body(
    model: str,
    prompt: str | list[str] | None,
    settings: Iterable[tuple[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``POST /completions`` body of one call (``max_tokens`` keeps its name there).

    ``prompt=None`` gives the object's own fields (what LangChain reports as its params).
    """
    body: dict[str, Any] = {"model": model}
    body.update((name, value) for name, value in settings if value is not None and value != [])
    if extra:
        body.update(extra)
    if overrides:
        body.update(overrides)
    if prompt is not None:
        body["prompt"] = prompt
    return body


def reasoning_settings(
    effort: str | None, enabled: bool | None
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """The reasoning fields of a framework object, as :func:`settings_body` takes them."""
    return (("reasoning_effort", effort), ("reasoning_enabled", enabled))


def assistant_message(
    text: str | None,
    tool_calls: Iterable[tuple[str | None, str | None, str | Mapping[str, Any] | None]] = (),
    name: str | None = None,
) -> dict[str, Any]:
    """An assistant message of the history: its text and its ``(id, name, arguments)`` calls.

    Arguments already JSON stay as they are; a mapping is serialised. A reasoning trace is
    never part of it: the schema has no field for it.
    """
    calls = [
        {
            "id": call_id or "",
            "type": "function",
            "function": {
                "name": call_name or "",
                "arguments": arguments
                if isinstance(arguments, str)
                else json.dumps(dict(arguments or {})),
            },
        }
        for call_id, call_name, arguments in tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": (text or None) if calls else text}
    if calls:
        message["tool_calls"] = calls
    if name:
        message["name"] = name
    return message


def refuse_unreadable(kind: str, readable: bool, field: str = "messages[user].content") -> None:
    """Refuse, before sending, an image or audio input the catalog says the model cannot read."""
    if not readable:
        raise RequestValidationError(
            field,
            f"this model does not accept {kind} inputs (per compactifai.catalog; pick a model "
            f"whose capabilities include {kind})",
        )


# ---------------------------------------------------------------------------- responses


@dataclass
class ParsedToolCall:
    id: str
    name: str
    arguments: str
    args: dict[str, Any] | None
    error: str | None = None

    @classmethod
    def from_parts(cls, id: str, name: str, arguments: str) -> ParsedToolCall:
        args, error = parse_tool_arguments(arguments)
        return cls(id=id, name=name, arguments=arguments, args=args, error=error)


def tool_calls_of(completion: ChatCompletion) -> list[ParsedToolCall]:
    message = completion.choices[0].message if completion.choices else None
    return [
        ParsedToolCall.from_parts(call.id, call.function.name, call.function.arguments)
        for call in (message.tool_calls or [] if message else [])
    ]


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def joined(self) -> str:
        return joined_pieces(self.arguments)


class StreamMetadata:
    """What a stream says about itself: ids, model, finish reason, usage.

    Reads both framings the service may use: OpenAI's (a first ``role`` delta, a final
    ``finish_reason`` chunk, a usage-only chunk with ``choices: []``) and the reference
    page's minimal one (content deltas only). For callers that map each delta themselves
    (LangChain): nothing of the answer is kept.
    """

    __slots__ = ("chunks", "finish_reason", "id", "model", "request_id", "usage")

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.request_id: str | None = None
        self.chunks = 0

    def note(self, chunk: ChatCompletionChunk) -> ChoiceDelta | None:
        """Fold ``chunk``'s metadata in; return its (first choice's) delta, if any."""
        self.chunks += 1
        if self.id is None:
            self.id = chunk.id or None
            self.model = chunk.model or None
            self.request_id = chunk.request_id
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return None
        choice = chunk.choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        return choice.delta


class AnswerPieces:
    """The answer's text and reasoning, kept as pieces and joined when read (the join kept),
    so folding a delta costs the same on a long answer as on a short one. Subclasses hold
    ``_text`` and ``_reasoning`` (in their own ``__slots__``)."""

    __slots__ = ()
    _text: list[str]
    _reasoning: list[str]

    @property
    def text(self) -> str:
        return joined_pieces(self._text)

    @property
    def reasoning(self) -> str:
        return joined_pieces(self._reasoning)


class StreamAccumulator(StreamMetadata, AnswerPieces):
    """Everything a stream has said so far: text, reasoning, tool calls and the metadata.

    Pieces are kept in lists and joined when read (and the join kept), so folding a chunk
    costs the same on a long answer as on a short one; tool-call arguments are parsed when
    read, once per change (:attr:`tool_calls`), or never (:attr:`tool_call_parts`).
    """

    __slots__ = ("_parsed", "_reasoning", "_text", "_tool_calls")

    def __init__(self) -> None:
        super().__init__()
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: dict[int, _ToolCallParts] = {}
        self._parsed: list[ParsedToolCall] | None = None

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Fold ``chunk`` in and return the text it added."""
        delta = self.note(chunk)
        if delta is None:
            return ""
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
        if delta.tool_calls:
            self.add_tool_call_deltas(delta.tool_calls)
        if delta.content:
            self._text.append(delta.content)
            return delta.content
        return ""

    def add_tool_call_deltas(self, deltas: Iterable[ToolCallDelta]) -> None:
        self._parsed = None
        for delta in deltas:
            parts = self._tool_calls.get(delta.index)
            if parts is None:
                parts = self._tool_calls[delta.index] = _ToolCallParts()
            if delta.id:
                parts.id = delta.id
            if delta.function is not None:
                if delta.function.name:
                    parts.name += delta.function.name
                if delta.function.arguments:
                    parts.arguments.append(delta.function.arguments)

    @property
    def tool_call_parts(self) -> list[tuple[str, str, str]]:
        """``(id, name, arguments so far)`` of each call, unparsed (cheap mid-stream)."""
        if not self._tool_calls:  # most streams: read on every chunk
            return []
        return [(p.id, p.name, p.joined()) for _, p in sorted(self._tool_calls.items())]

    @property
    def tool_calls(self) -> list[ParsedToolCall]:
        """The calls with their arguments parsed (once, until another delta arrives)."""
        if self._parsed is None:
            self._parsed = [
                ParsedToolCall.from_parts(call_id, name, arguments)
                for call_id, name, arguments in self.tool_call_parts
            ]
        return self._parsed


def joined_pieces(pieces: list[str]) -> str:
    """``"".join(pieces)``, kept as the one piece left so the next read is free."""
    if len(pieces) > 1:
        pieces[:] = ["".join(pieces)]
    return pieces[0] if pieces else ""


def image_url_part(
    *,
    url: str | None = None,
    data: str | None = None,
    mime_type: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """An ``image_url`` content part from a URL (http(s) or ``data:``) or base64 ``data``.

    Base64 data needs its ``mime_type`` (``image/png``...) to become a data URL.
    """
    if data is not None:
        if not mime_type or not mime_type.startswith("image/"):
            raise RequestValidationError(
                "image_url", f"base64 image data needs an image/* mime_type, got {mime_type!r}"
            )
        url = f"data:{mime_type};base64,{data}"
    if not url:
        raise RequestValidationError("image_url", "an image needs a url or base64 data")
    image: dict[str, Any] = {"url": url}
    if detail is not None:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


# The audio formats an ``input_audio`` part takes, by the mime types that name them.
AUDIO_FORMATS: dict[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}
_AUDIO_FORMAT_NAMES = frozenset(AUDIO_FORMATS.values())


def audio_format(*, format: str | None = None, mime_type: str | None = None) -> str:
    """``wav`` or ``mp3``: the API's name for an audio format given directly or as a mime type."""
    if format:
        name = format.strip().lower()
        if name not in _AUDIO_FORMAT_NAMES:
            raise RequestValidationError(
                "input_audio.format",
                f"must be 'wav' or 'mp3' (the formats the API takes), got {format!r}",
            )
        return name
    if not mime_type:
        raise RequestValidationError(
            "input_audio.format",
            "audio needs its format: a mime_type (audio/wav, audio/mpeg...) or 'wav'/'mp3'",
        )
    known = AUDIO_FORMATS.get(mime_type.split(";")[0].strip().lower())
    if known is None:
        raise RequestValidationError(
            "input_audio.format",
            f"audio mime_type {mime_type!r} is not one the API takes: "
            f"wav ({', '.join(m for m, f in AUDIO_FORMATS.items() if f == 'wav')}) or "
            f"mp3 ({', '.join(m for m, f in AUDIO_FORMATS.items() if f == 'mp3')})",
        )
    return known


def input_audio_part(
    *, data: str | None, format: str | None = None, mime_type: str | None = None
) -> dict[str, Any]:
    """An ``input_audio`` content part from base64 ``data`` and its format or mime type.

    The API takes audio inline only (no URLs, no file ids), as WAV or MP3.
    """
    if not data:
        raise RequestValidationError(
            "input_audio.data", "audio needs base64 data (the API takes no audio URLs or file ids)"
        )
    if data.startswith(("http://", "https://")):
        raise RequestValidationError(
            "input_audio.data", "must be base64 audio, not a URL (the API takes no audio URLs)"
        )
    name = audio_format(format=format, mime_type=mime_type)
    return {"type": "input_audio", "input_audio": {"data": data, "format": name}}


def file_part(
    *,
    data: str | None = None,
    mime_type: str | None = None,
    file_data: str | None = None,
    file_id: str | None = None,
    filename: str | None = None,
) -> dict[str, Any]:
    """A ``file`` content part (a PDF, say): inline data or the id of an uploaded file.

    ``data`` is base64 with its ``mime_type`` (``application/pdf``...) and becomes a data URL;
    ``file_data`` is such a data URL already. Which file types a model reads is the server's
    call: the catalog has no flag for it. The API takes no file URLs.
    """
    if data:
        if file_data:
            raise RequestValidationError(
                "file.file_data", "give base64 data with a mime_type or a file_data URL, not both"
            )
        if not mime_type or "/" not in mime_type:
            raise RequestValidationError(
                "file.file_data",
                f"base64 file data needs a mime_type (application/pdf...), got {mime_type!r}",
            )
        file_data = f"data:{mime_type};base64,{data}"
    if file_data and file_data.startswith(("http://", "https://")):
        raise RequestValidationError(
            "file.file_data",
            "must be base64 data (data:<mime type>;base64,...), not a URL "
            "(the API takes no file URLs)",
        )
    if not file_data and not file_id:
        raise RequestValidationError(
            "file",
            "a file needs base64 data (file_data) or the id of an uploaded file (file_id)",
        )
    given = {"file_data": file_data, "file_id": file_id, "filename": filename}
    return {"type": "file", "file": {name: value for name, value in given.items() if value}}
