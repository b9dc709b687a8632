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
from compactifai.types import ChatCompletion, ChatCompletionChunk, ToolCallDelta, Usage

__all__ = [
    "AUDIO_FORMATS",
    "ParsedToolCall",
    "StreamAccumulator",
    "audio_format",
    "file_part",
    "function_tool",
    "image_url_part",
    "input_audio_part",
    "json_schema_response_format",
    "parse_tool_arguments",
    "tool_choice_param",
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


def usage_dict(usage: Usage | None) -> dict[str, int] | None:
    """OpenAI-style usage as a plain dict (what LlamaIndex's token counter reads)."""
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    }


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


@dataclass
class StreamAccumulator:
    """Everything a stream has said so far: text, tool calls, finish reason, usage, ids.

    Reads both framings the service may use: OpenAI's (a first ``role`` delta, a final
    ``finish_reason`` chunk, a usage-only chunk with ``choices: []``) and the reference
    page's minimal one (content deltas only).
    """

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    request_id: str | None = None
    chunks: int = 0
    _tool_calls: dict[int, _ToolCallParts] = field(default_factory=dict)

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Fold ``chunk`` in and return the text it added."""
        self.chunks += 1
        self.id = self.id or chunk.id or None
        self.model = self.model or chunk.model or None
        self.request_id = self.request_id or chunk.request_id
        if chunk.usage is not None:
            self.usage = chunk.usage
        delta_text = ""
        for choice in chunk.choices[:1]:
            delta = choice.delta
            if delta.content:
                delta_text = delta.content
                self.text += delta_text
            if delta.reasoning_content:
                self.reasoning += delta.reasoning_content
            if delta.tool_calls:
                self.add_tool_call_deltas(delta.tool_calls)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return delta_text

    def add_tool_call_deltas(self, deltas: Iterable[ToolCallDelta]) -> None:
        for delta in deltas:
            parts = self._tool_calls.setdefault(delta.index, _ToolCallParts())
            if delta.id:
                parts.id = delta.id
            if delta.function is not None:
                if delta.function.name:
                    parts.name += delta.function.name
                if delta.function.arguments:
                    parts.arguments.append(delta.function.arguments)

    @property
    def tool_calls(self) -> list[ParsedToolCall]:
        return [
            ParsedToolCall.from_parts(parts.id, parts.name, "".join(parts.arguments))
            for _, parts in sorted(self._tool_calls.items())
        ]


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
    file: dict[str, Any] = {}
    if file_data:
        file["file_data"] = file_data
    if file_id:
        file["file_id"] = file_id
    if filename:
        file["filename"] = filename
    return {"type": "file", "file": file}
