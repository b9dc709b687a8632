"""Request bodies of the emulated endpoints (after the vendor's OpenAPI file).

Models allow unknown fields (vLLM ignores many, e.g. ``seed``, ``presence_penalty``); type
errors and missing fields become FastAPI-style 422 answers, value errors are checked by the
handlers and answer 400 like the service.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ROLES", "ChatReasoningEffort", "ChatRequest", "CompletionRequest", "Message"]

ROLES = ("developer", "system", "user", "assistant", "tool", "function")
# OpenAI's 2026 six levels (service-2026.md §2.1).
ChatReasoningEffort = Literal["none", "low", "medium", "high", "xhigh", "max"]


class _M(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TextPart(_M):
    type: Literal["text"]
    text: str


class ImageURL(_M):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_M):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(_M):
    data: str
    format: Literal["wav", "mp3"]


class AudioPart(_M):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FileFile(_M):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(_M):
    type: Literal["file"]
    file: FileFile


class RefusalPart(_M):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[TextPart | ImagePart | AudioPart | FilePart, Field(discriminator="type")]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


class FunctionCall(_M):
    name: str
    arguments: str


class ToolCallParam(_M):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class DeveloperMessage(_M):
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class SystemMessage(_M):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_M):
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_M):
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[ToolCallParam] | None = None
    function_call: FunctionCall | None = None


class ToolMessage(_M):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_M):
    role: Literal["function"]
    content: str | None
    name: str


Message = Annotated[
    DeveloperMessage
    | SystemMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | FunctionMessage,
    Field(discriminator="role"),
]


class ToolFunction(_M):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolParam(_M):
    type: Literal["function"]
    function: ToolFunction


class NamedFunction(_M):
    name: str


class ToolChoiceFunction(_M):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(_M):
    name: str
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_M):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(_M):
    include_usage: bool | None = None


class ChatRequest(_M):
    model: str
    messages: list[Message]
    frequency_penalty: float | None = None
    max_completion_tokens: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    n: int | None = None
    response_format: ResponseFormat | None = None
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction | None = None
    tools: list[ToolParam] | None = None
    ignore_eos: bool | None = None
    reasoning_effort: ChatReasoningEffort | None = None
    reasoning_enabled: bool | None = None


class CompletionRequest(_M):
    model: str
    prompt: str | list[str]
    max_tokens: int | None = None
    min_tokens: int | None = None
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None
    n: int | None = None
    stream: bool | None = None
    ignore_eos: bool | None = None
