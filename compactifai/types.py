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

import pydantic_core
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
    "StreamItem",
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
    "with_request_id",
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
    """A whole response body: it carries the request id (``request_id``, ``_request_id``)."""

    _request_id: str | None = PrivateAttr(default=None)


class StreamItem(APIObject):
    """One item of a stream (a chunk, an event): it carries its response's request id too,
    and the JSON it was parsed from (:meth:`as_sent`).

    Unlike a whole body it declares no private attribute: pydantic runs a private-attribute
    set-up for every instance of a model that has one, which was a third of the cost of
    parsing a stream chunk. ``with_request_id`` stores the id (and the JSON) where pydantic
    keeps private values, so ``request_id``, equality, copies and pickling treat them alike.
    """

    def as_sent(self) -> dict[str, Any]:
        """The item as its server sent it: its JSON, keys as sent (``reasoning_content`` stays
        so), read again by pydantic-core's parser (faster than dumping the model); for an item
        built here, its fields as given."""
        private = self.__pydantic_private__
        source = private.get("_source") if private else None
        if source is None:
            return self.model_dump(exclude_unset=True)
        value: dict[str, Any] = pydantic_core.from_json(source)
        return value


def with_request_id(value: APIObject, request_id: str | None, source: bytes | None = None) -> None:
    """Make ``value`` (a whole body or a stream item) carry ``request_id``, the
    ``x-request-id`` of its HTTP response, and a stream item the JSON ``source`` it came from."""
    if isinstance(value, APIResponse):
        value._request_id = request_id
    else:
        private = {"_request_id": request_id, "_source": source}
        object.__setattr__(value, "__pydantic_private__", private)


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


class ChatCompletionChunk(StreamItem):
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


# ---------------------------------------------------------------------------- Responses API
# ``POST /v1/responses`` (service-2026.md section 4): OpenAI's Responses shapes as vLLM serves
# them. The request declares ``additionalProperties: true``: unknown fields go through.

from pydantic import Discriminator, Tag  # noqa: E402

ResponsesReasoningEffort = Literal["minimal", "low", "medium", "high"]
"""The Responses schema's ``reasoning.effort`` words (chat's ``reasoning_effort`` has more)."""


class ResponseInputText(_RequestModel):
    type: Literal["input_text"] = "input_text"
    text: str


class ResponseInputImage(_RequestModel):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class ResponseInputFile(_RequestModel):
    type: Literal["input_file"] = "input_file"
    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None
    file_url: str | None = None


class ResponseInputAudio(_RequestModel):
    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio


class ResponseOutputTextParam(_RequestModel):
    """An earlier answer's text, sent back as history."""

    type: Literal["output_text"] = "output_text"
    text: str


class ResponseRefusalParam(_RequestModel):
    type: Literal["refusal"] = "refusal"
    refusal: str


ResponseInputContent = Annotated[
    ResponseInputText
    | ResponseInputImage
    | ResponseInputFile
    | ResponseInputAudio
    | ResponseOutputTextParam
    | ResponseRefusalParam,
    Field(discriminator="type"),
]


class ResponseInputMessage(_RequestModel):
    """A message of the input; ``type`` may be left out (OpenAI's "easy input message")."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ResponseInputContent]


class ResponseFunctionCallParam(_RequestModel):
    """A function call of an earlier answer, sent back as history."""

    type: Literal["function_call"] = "function_call"
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str


class ResponseFunctionCallOutput(_RequestModel):
    """The result of a function call, for the answer to read."""

    type: Literal["function_call_output"] = "function_call_output"
    call_id: str = Field(min_length=1)
    output: str | list[ResponseInputContent]


class ResponseReasoningParam(_RequestModel):
    """A reasoning item of an earlier answer (``input += response.output`` sends them back)."""

    type: Literal["reasoning"] = "reasoning"


ResponseInputItem = Annotated[
    ResponseInputMessage
    | ResponseFunctionCallParam
    | ResponseFunctionCallOutput
    | ResponseReasoningParam,
    Field(discriminator="type"),
]
"""An input item; a message may leave ``type`` out (it is added before validation)."""


class ResponsesFunctionTool(FunctionDefinition):
    """A function tool in the Responses API's flat shape: ``{"type": "function", "name", ...}``
    (chat nests the same fields under ``function``)."""

    type: Literal["function"] = "function"


class ResponsesNamedToolChoice(_RequestModel):
    type: Literal["function"] = "function"
    name: str


ResponsesToolChoice = Literal["none", "auto", "required"] | ResponsesNamedToolChoice


class ResponsesReasoning(_RequestModel):
    effort: ResponsesReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class ResponsesPlainTextFormat(_RequestModel):
    """``text.format`` asking for plain text, or for any JSON object."""

    type: Literal["text", "json_object"]


class ResponsesJSONSchemaFormat(JSONSchemaFormat):
    """``text.format`` asking for JSON following ``schema``: chat's ``json_schema`` fields,
    flat beside ``type``."""

    type: Literal["json_schema"]
    name: str = Field(min_length=1)


ResponsesTextFormat = Annotated[
    ResponsesPlainTextFormat | ResponsesJSONSchemaFormat,
    Discriminator("type"),
]
"""``text.format``: plain text, any JSON object, or JSON following ``schema``."""


class ResponsesText(_RequestModel):
    format: ResponsesTextFormat | None = None


class ResponsesRequest(_RequestModel):
    """Body of ``POST /responses``."""

    model: str = Field(min_length=1)
    input: str | list[ResponseInputItem]
    instructions: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_output_tokens: int | None = Field(default=None, ge=1, le=150_000)
    stream: bool | None = None
    store: bool | None = None
    tools: list[ResponsesFunctionTool] | None = None
    tool_choice: ResponsesToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: ResponsesReasoning | None = None
    text: ResponsesText | None = None
    metadata: dict[str, str] | None = None
    previous_response_id: str | None = Field(default=None, min_length=1)
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    file_id: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input_items(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value:
                raise ValueError("the input text must not be empty")
            return value
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a string or a list of input items")
        if not value:
            raise ValueError("at least one input item is required")
        # OpenAI's "easy input message" has a role and no type.
        return [
            {"type": "message", **item}
            if isinstance(item, dict) and "type" not in item and "role" in item
            else item
            for item in value
        ]

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice_word(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("none", "auto", "required"):
            raise ValueError(
                "must be 'none', 'auto', 'required' or {'type': 'function', 'name': ...}"
            )
        return value


# -- results


class ResponseOutputText(APIObject):
    type: Literal["output_text"] = "output_text"
    text: str = ""
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] | None = None


class ResponseOutputRefusal(APIObject):
    type: Literal["refusal"] = "refusal"
    refusal: str = ""


class ResponseContentOther(APIObject):
    """A content part of a type this client does not know (kept with its fields)."""

    type: str


def _content_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("output_text", "refusal") else "other"


ResponseOutputContent = Annotated[
    Annotated[ResponseOutputText, Tag("output_text")]
    | Annotated[ResponseOutputRefusal, Tag("refusal")]
    | Annotated[ResponseContentOther, Tag("other")],
    Discriminator(_content_tag),
]


class ResponseOutputMessage(APIObject):
    type: Literal["message"] = "message"
    id: str = ""
    role: str = "assistant"
    status: str | None = None
    content: list[ResponseOutputContent] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, ResponseOutputText))

    @property
    def refusal(self) -> str | None:
        parts = [p.refusal for p in self.content if isinstance(p, ResponseOutputRefusal)]
        return "".join(parts) if parts else None


class ResponseReasoningText(APIObject):
    """One part of a reasoning item (``reasoning_text`` content or ``summary_text``)."""

    type: str = "reasoning_text"
    text: str = ""


class ResponseReasoningItem(APIObject):
    type: Literal["reasoning"] = "reasoning"
    id: str = ""
    summary: list[ResponseReasoningText] = Field(default_factory=list)
    content: list[ResponseReasoningText] | None = None
    encrypted_content: str | None = None
    status: str | None = None

    @property
    def text(self) -> str:
        """The reasoning text: its content, else its summary."""
        parts = self.content or self.summary
        return "".join(p.text for p in parts)


class ResponseFunctionCall(APIObject):
    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    status: str | None = None


class ResponseOutputOther(APIObject):
    """An output item of a type this client does not know (kept with its fields)."""

    type: str


def _output_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("message", "reasoning", "function_call") else "other"


ResponseOutputItem = Annotated[
    Annotated[ResponseOutputMessage, Tag("message")]
    | Annotated[ResponseReasoningItem, Tag("reasoning")]
    | Annotated[ResponseFunctionCall, Tag("function_call")]
    | Annotated[ResponseOutputOther, Tag("other")],
    Discriminator(_output_tag),
]


class ResponseUsage(APIObject):
    input_tokens: int = 0
    input_tokens_details: dict[str, Any] | None = None
    output_tokens: int = 0
    output_tokens_details: dict[str, Any] | None = None
    total_tokens: int = 0

    @property
    def reasoning_tokens(self) -> int | None:
        """Tokens spent reasoning (part of ``output_tokens``), when the server counts them."""
        value = (self.output_tokens_details or {}).get("reasoning_tokens")
        return value if isinstance(value, int) else None

    @property
    def cached_tokens(self) -> int | None:
        value = (self.input_tokens_details or {}).get("cached_tokens")
        return value if isinstance(value, int) else None

    @property
    def total(self) -> int:
        """``total_tokens``, or the sum of both counts when the server left it out (0)."""
        return self.total_tokens or self.input_tokens + self.output_tokens


class ResponseIncompleteDetails(APIObject):
    reason: str | None = None
    """``max_output_tokens`` or ``content_filter``."""


class ResponseError(APIObject):
    code: str | int | None = None
    message: str = ""


ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]


class ResponsesResult(APIResponse):
    """A response object (``POST /responses``, ``GET /responses/{id}``, stream events).

    ``status`` is one of :data:`ResponseStatus` (unknown future words pass through).
    """

    id: str = ""
    object: str = "response"
    created_at: int | float = 0
    completed_at: int | float | None = None
    model: str = ""
    status: str | None = None
    output: list[ResponseOutputItem] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    incomplete_details: ResponseIncompleteDetails | None = None
    error: ResponseError | None = None
    instructions: Any = None
    previous_response_id: str | None = None
    metadata: dict[str, Any] | None = None
    tools: list[Any] = Field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    store: bool | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    truncation: str | None = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of every message, joined."""
        return "".join(item.text for item in self.output if isinstance(item, ResponseOutputMessage))

    @property
    def reasoning_text(self) -> str:
        """The text of every reasoning item, joined (empty for a model that does not reason)."""
        return "".join(item.text for item in self.output if isinstance(item, ResponseReasoningItem))

    @property
    def refusal(self) -> str | None:
        parts = [
            item.refusal
            for item in self.output
            if isinstance(item, ResponseOutputMessage) and item.refusal is not None
        ]
        return "".join(parts) if parts else None

    @property
    def function_calls(self) -> list[ResponseFunctionCall]:
        return [item for item in self.output if isinstance(item, ResponseFunctionCall)]


class ResponseStreamEvent(StreamItem):
    """One event of a streamed response; ``type`` names it (``response.output_text.delta``...).

    Every event type parses: the fields of the common ones are typed below, any other field
    stays reachable as an attribute.
    """

    type: str
    sequence_number: int | None = None
    response: ResponsesResult | None = None
    output_index: int | None = None
    content_index: int | None = None
    item_id: str | None = None
    item: ResponseOutputItem | None = None
    delta: str | None = None
    text: str | None = None
    arguments: str | None = None
    name: str | None = None
    code: str | int | None = None
    message: str | None = None
    param: str | None = None


__all__ += [
    "ResponseContentOther",
    "ResponseError",
    "ResponseFunctionCall",
    "ResponseFunctionCallOutput",
    "ResponseFunctionCallParam",
    "ResponseIncompleteDetails",
    "ResponseInputAudio",
    "ResponseInputContent",
    "ResponseInputFile",
    "ResponseInputImage",
    "ResponseInputItem",
    "ResponseInputMessage",
    "ResponseInputText",
    "ResponseOutputContent",
    "ResponseOutputItem",
    "ResponseOutputMessage",
    "ResponseOutputOther",
    "ResponseOutputRefusal",
    "ResponseOutputText",
    "ResponseOutputTextParam",
    "ResponseReasoningItem",
    "ResponseReasoningParam",
    "ResponseReasoningText",
    "ResponseRefusalParam",
    "ResponseStatus",
    "ResponseStreamEvent",
    "ResponseUsage",
    "ResponsesFunctionTool",
    "ResponsesJSONSchemaFormat",
    "ResponsesNamedToolChoice",
    "ResponsesPlainTextFormat",
    "ResponsesReasoning",
    "ResponsesReasoningEffort",
    "ResponsesRequest",
    "ResponsesResult",
    "ResponsesText",
    "ResponsesTextFormat",
    "ResponsesToolChoice",
]
