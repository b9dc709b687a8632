"""Typed requests and responses of the CompactifAI API (OpenAI-compatible).

Request models follow the vendor's OpenAPI schema and validate before anything is sent.
Response models accept extra fields, since vLLM and the gateway add some (``stop_reason``,
``prompt_logprobs``...), and keep them reachable as attributes. A reasoning model's trace
arrives as ``reasoning`` (vLLM since late 2025) or ``reasoning_content`` (older vLLM): both are
read into one attribute, ``reasoning``.
"""

# No `from __future__ import annotations`: pydantic would compile every annotation string
# (ForwardRef) at import; evaluated annotations cost nothing extra.

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, field_validator

__all__ = [
    "APIObject",
    "APIResponse",
    "AssistantMessage",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionRequest",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "CompletionRequest",
    "ContentPart",
    "DeveloperMessage",
    "FileContent",
    "FilePart",
    "FunctionCall",
    "FunctionCallDelta",
    "FunctionDefinition",
    "FunctionMessage",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "InputAudioPart",
    "JSONSchemaFormat",
    "Model",
    "ModelCapabilities",
    "ModelList",
    "NamedToolChoice",
    "ReasoningEffort",
    "RefusalPart",
    "ResponseFormat",
    "StreamOptions",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "ToolDefinition",
    "ToolMessage",
    "Usage",
    "UsageReport",
    "UsageRequest",
    "UsageRow",
    "UserMessage",
]


class _RequestModel(BaseModel):
    # Unknown fields pass through to the server (vLLM accepts more than the schema lists).
    # defer_build: validators are built on first use, not at import (half the import time of
    # the integrations was building models an application may never send).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class APIObject(BaseModel):
    """A response object; extra fields the server adds stay reachable as attributes."""

    # cache_strings="keys": pydantic-core would otherwise keep every short string value it
    # parses (completion ids, generated text) in its 16k-entry cache: memory that grows with
    # the number of calls until the cache is full.
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        cache_strings="keys",
        defer_build=True,
    )

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of the HTTP response this object came from."""
        private = self.__pydantic_private__
        return private.get("_request_id") if private else None


class APIResponse(APIObject):
    """A whole response body: it carries the request id.

    Only whole bodies hold the private attribute: pydantic runs a private-attribute setup for
    every model instance that has one, which was a third of the cost of parsing a stream chunk.
    """

    _request_id: str | None = PrivateAttr(default=None)


# ---------------------------------------------------------------------------- content parts


class TextPart(_RequestModel):
    type: Literal["text"] = "text"
    text: str


class ImageURL(_RequestModel):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_RequestModel):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


class InputAudio(_RequestModel):
    data: str
    format: Literal["wav", "mp3"]


class InputAudioPart(_RequestModel):
    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio


class FileContent(_RequestModel):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(_RequestModel):
    type: Literal["file"] = "file"
    file: FileContent


class RefusalPart(_RequestModel):
    type: Literal["refusal"] = "refusal"
    refusal: str


ContentPart = Annotated[
    TextPart | ImagePart | InputAudioPart | FilePart | RefusalPart,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------------------- messages


class FunctionCall(_RequestModel):
    name: str
    arguments: str


class ToolCall(_RequestModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_RequestModel):
    role: Literal["system"] = "system"
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_RequestModel):
    role: Literal["developer"] = "developer"
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_RequestModel):
    role: Literal["user"] = "user"
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_RequestModel):
    role: Literal["assistant"] = "assistant"
    content: str | list[TextPart | RefusalPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class ToolMessage(_RequestModel):
    role: Literal["tool"] = "tool"
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_RequestModel):
    role: Literal["function"] = "function"
    content: str | None
    name: str


ChatMessage = Annotated[
    SystemMessage
    | DeveloperMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | FunctionMessage,
    Field(discriminator="role"),
]

# ---------------------------------------------------------------------------- tools, formats


class FunctionDefinition(_RequestModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _parameters_is_object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("a tool's parameters must be a JSON schema of type 'object'")
        return value


class ToolDefinition(_RequestModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class _NamedFunction(_RequestModel):
    name: str


class NamedToolChoice(_RequestModel):
    type: Literal["function"] = "function"
    function: _NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class JSONSchemaFormat(_RequestModel):
    name: str
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_RequestModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class StreamOptions(_RequestModel):
    include_usage: bool | None = None


# The schema's words; a model implements some of them and the server names those it refuses.
ReasoningEffort = Literal["none", "low", "medium", "high", "xhigh", "max"]


# ---------------------------------------------------------------------------- requests


class ChatCompletionRequest(_RequestModel):
    """Body of ``POST /chat/completions``."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=150_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=150_000)
    min_tokens: int | None = Field(default=None, ge=0, le=150_000)
    stop: str | list[str] | None = None
    frequency_penalty: float | None = None
    n: Literal[1] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    response_format: ResponseFormat | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    ignore_eos: bool | None = None
    reasoning_effort: ReasoningEffort | None = None
    reasoning_enabled: bool | None = None


class CompletionRequest(_RequestModel):
    """Body of ``POST /completions``."""

    model: str = Field(min_length=1)
    prompt: str | list[str]
    max_tokens: int | None = Field(default=None, ge=1)
    min_tokens: int | None = Field(default=None, ge=0)
    stop: str | list[str] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    user: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("at least one prompt is required")
        return value


class UsageRequest(_RequestModel):
    """Body of ``POST /usage/completions``."""

    start_time: datetime
    end_time: datetime | None = None
    window_size: Literal["MINUTE", "HOUR", "DAY"] = "DAY"
    window_timezone: str = "UTC"
    group_by: list[str] | None = None
    filter_group_by: dict[str, list[str]] | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _timezone_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone (RFC 3339), e.g. 2025-05-01T00:00:00Z")
        return value


# ---------------------------------------------------------------------------- responses


class ModelCapabilities(APIObject):
    """What ``GET /models`` says a model can do; ``None`` where the server did not say.

    Flags the service adds later are kept as attributes (extra fields).
    """

    supports_function_calling: bool | None = None
    supports_image: bool | None = None
    supports_audio: bool | None = None
    # The vendor spells the key without the s; the s-spelling is read too.
    supports_chat_completion: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("support_chat_completion", "supports_chat_completion"),
    )
    supports_responses: bool | None = None


class Model(APIResponse):
    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    parameters_number: str | None = None
    """As the service writes it: a string with a B suffix (``"60B"``, ``"3.28B"``)."""
    capabilities: ModelCapabilities | None = None

    @field_validator("parameters_number", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        # Some servers (and third-party clients) write a bare number.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:g}"
        return value


class ModelList(APIResponse):
    object: str = "list"
    data: list[Model]


class Usage(APIObject):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None

    @property
    def reasoning_tokens(self) -> int | None:
        """Tokens spent reasoning (part of ``completion_tokens``), when the server counts them."""
        value = (self.completion_tokens_details or {}).get("reasoning_tokens")
        return value if isinstance(value, int) else None

    @property
    def total(self) -> int:
        """``total_tokens``, or the sum of both counts when the server left it out (0)."""
        return self.total_tokens or self.prompt_tokens + self.completion_tokens


# vLLM renamed reasoning_content to reasoning (late 2025); the first one present wins.
_REASONING_KEYS = AliasChoices("reasoning", "reasoning_content")


class ChatCompletionMessage(APIObject):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning: str | None = Field(default=None, validation_alias=_REASONING_KEYS)
    """The reasoning trace, from ``reasoning`` or (older vLLM) ``reasoning_content``."""


class Choice(APIObject):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(APIResponse):
    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class FunctionCallDelta(APIObject):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(APIObject):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class ChoiceDelta(APIObject):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    reasoning: str | None = Field(default=None, validation_alias=_REASONING_KEYS)
    """Reasoning text of this delta, from ``reasoning`` or ``reasoning_content``."""
    refusal: str | None = None


class ChunkChoice(APIObject):
    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(APIResponse):
    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None


class CompletionChoice(APIObject):
    index: int = 0
    text: str
    finish_reason: str | None = None
    logprobs: Any = None


class Completion(APIResponse):
    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice]
    usage: Usage | None = None


class UsageRow(APIObject):
    group_by: dict[str, Any] = Field(default_factory=dict, alias="groupBy")
    user_id: str | None = None
    input_token: int = 0
    output_token: int = 0
    window_start: datetime = Field(alias="windowStart")
    window_end: datetime = Field(alias="windowEnd")


class UsageReport(APIResponse):
    data: list[UsageRow]
    start_time: datetime | None = None
    end_time: datetime | None = None
    window_size: str | None = None


# ---------------------------------------------------------------------------- files and batches
# Shapes of the vendor's OpenAPI (``FileObject``, ``Batch``, ``BatchList``); the JSONL lines
# follow OpenAI's batch format, which the service says it accepts (service-2026.md section 5).

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
BATCH_TERMINAL_STATUSES: frozenset[str] = frozenset({"failed", "completed", "expired", "cancelled"})
BatchEndpoint = Literal[
    "/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings"
]


class FileObject(APIResponse):
    """An uploaded file (``POST /v1/files`` answers 200 with this)."""

    id: str
    object: str = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    owner_id: str | None = None
    s3_uri: dict[str, Any] | str | None = None
    status: str | None = None
    ttl: int | None = None
    updated_at: int | None = None


class BatchRequestCounts(APIObject):
    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchUsage(APIObject):
    input_tokens: int = 0
    input_tokens_details: dict[str, Any] | None = None
    output_tokens: int = 0
    output_tokens_details: dict[str, Any] | None = None
    total_tokens: int = 0


class BatchErrorItem(APIObject):
    """A problem with the batch or one of its input lines (``line`` is 1-based)."""

    code: str | None = None
    line: int | None = None
    message: str | None = None
    param: str | None = None


class BatchErrors(APIObject):
    object: str = "list"
    data: list[BatchErrorItem] = Field(default_factory=list)


class Batch(APIResponse):
    """A batch job. ``status`` is one of :data:`BatchStatus`; unknown future words pass through."""

    id: str
    object: str = "batch"
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
    created_at: int
    model: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: BatchErrors | None = None
    request_counts: BatchRequestCounts | None = None
    usage: BatchUsage | None = None
    metadata: dict[str, str] | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    expires_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None

    @property
    def is_done(self) -> bool:
        """Whether the job reached a status it will not leave (completed, failed, expired, cancelled)."""
        return self.status in BATCH_TERMINAL_STATUSES


class BatchList(APIResponse):
    object: str = "list"
    data: list[Batch]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class BatchCreateRequest(_RequestModel):
    input_file_id: Annotated[str, Field(min_length=1)]
    endpoint: BatchEndpoint = "/v1/chat/completions"
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = None


class BatchRequestLine(_RequestModel):
    """One line of a batch input file."""

    custom_id: Annotated[str, Field(min_length=1)]
    method: Literal["POST"] = "POST"
    url: BatchEndpoint = "/v1/chat/completions"
    body: dict[str, Any]


class BatchLineResponse(BaseModel):
    # Not an APIObject: its ``request_id`` is a field of the line, not the HTTP response's.
    model_config = ConfigDict(extra="allow", defer_build=True)

    status_code: int
    request_id: str | None = None
    body: Any = None


class BatchLineError(APIObject):
    code: str | None = None
    message: str | None = None


class BatchResultLine(APIObject):
    """One line of a batch output or error file."""

    id: str | None = None
    custom_id: str
    response: BatchLineResponse | None = None
    error: BatchLineError | None = None


__all__ += [
    "BATCH_TERMINAL_STATUSES",
    "Batch",
    "BatchCreateRequest",
    "BatchEndpoint",
    "BatchErrorItem",
    "BatchErrors",
    "BatchLineError",
    "BatchLineResponse",
    "BatchList",
    "BatchRequestCounts",
    "BatchRequestLine",
    "BatchResultLine",
    "BatchStatus",
    "BatchUsage",
    "FileObject",
]
