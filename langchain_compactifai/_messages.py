"""Pure conversions between LangChain messages and CompactifAI's chat API shapes.

Nothing here does I/O: messages go to API dicts (raising a clear error for anything the API
cannot take, before a request is sent), and completions or stream chunks come back as
LangChain messages. The chat model composes these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from compactifai.chat import (
    StreamMetadata,
    assistant_message,
    file_part,
    image_url_part,
    input_audio_part,
    refuse_unreadable,
    tool_calls_of,
    usage_dict,
)
from compactifai.errors import RequestValidationError
from compactifai.types import ChatCompletion, ChatCompletionChunk, Usage

__all__ = [
    "PROVIDER",
    "StreamMapper",
    "chat_result_from_completion",
    "message_to_api",
    "messages_to_api",
    "usage_metadata_from_usage",
]

PROVIDER = "compactifai"

# ChatMessage roles the API accepts, plus LangChain's own spellings of them.
_ROLES = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "tool": "tool",
    "function": "function",
}
# Blocks an assistant message may carry that the API receives elsewhere (tool calls) or not
# at all (reasoning traces): left out of the content, never an error.
_ASSISTANT_SKIPPED_BLOCKS = frozenset(
    {
        "tool_call",
        "tool_call_chunk",
        "tool_use",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_result",
        "reasoning",
        "thinking",
        "redacted_thinking",
    }
)


# ---------------------------------------------------------------------------- LangChain -> API


def messages_to_api(
    messages: Sequence[BaseMessage], *, images: bool = True, audio: bool = True
) -> list[dict[str, Any]]:
    """API ``messages`` for a LangChain conversation.

    ``images=False`` / ``audio=False`` (a model known not to read images / audio) turn an
    image / audio block into an error instead of a request the server would reject.
    """
    return [message_to_api(message, images=images, audio=audio) for message in messages]


def message_to_api(
    message: BaseMessage, *, images: bool = True, audio: bool = True
) -> dict[str, Any]:
    if isinstance(message, HumanMessage):
        role = "user"
    elif isinstance(message, AIMessage):
        return _assistant_to_api(message)
    elif isinstance(message, SystemMessage):
        role = message.additional_kwargs.get("__openai_role__", "system")
    elif isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "content": _text_content(message.content, "tool"),
            "tool_call_id": message.tool_call_id,
        }
    elif isinstance(message, FunctionMessage):
        return {
            "role": "function",
            "content": _text_content(message.content, "function"),
            "name": message.name,
        }
    elif isinstance(message, ChatMessage):
        known = _ROLES.get(message.role)
        if known is None:
            raise RequestValidationError(
                "messages.role",
                f"ChatMessage role {message.role!r} is not one the API accepts "
                f"({', '.join(sorted(set(_ROLES.values())))})",
            )
        role = known
        if role == "assistant":
            return _assistant_to_api(AIMessage(content=message.content, name=message.name))
        if role in ("tool", "function"):
            raise RequestValidationError(
                "messages.role",
                f"use ToolMessage/FunctionMessage for role {role!r}: it needs a tool_call_id or name",
            )
    else:
        raise RequestValidationError(
            "messages", f"unsupported message type {type(message).__name__}"
        )
    result: dict[str, Any] = {
        "role": role,
        "content": _user_content(message.content, images=images, audio=audio)
        if role == "user"
        else _text_content(message.content, role),
    }
    if message.name:
        result["name"] = message.name
    return result


def _assistant_to_api(message: AIMessage) -> dict[str, Any]:
    """Text and tool calls; reasoning (``additional_kwargs``, ``reasoning`` blocks) stays home."""
    content = _text_content(message.content, "assistant", skip=_ASSISTANT_SKIPPED_BLOCKS)
    calls = [(call["id"], call["name"], call["args"]) for call in message.tool_calls] + [
        (call["id"], call["name"], call["args"] or "") for call in message.invalid_tool_calls
    ]
    return assistant_message(content, calls, message.name)


def _text_content(
    content: str | list[str | dict[str, Any]],
    role: str,
    skip: frozenset[str] = frozenset(),
) -> str:
    """Text of a message whose role takes text only: text blocks joined."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(block["text"])
        elif kind not in skip:
            raise RequestValidationError(
                f"messages[{role}].content",
                f"a {role} message takes text only; cannot send a {kind!r} block",
            )
    return "".join(parts)


def _user_content(
    content: str | list[str | dict[str, Any]], *, images: bool, audio: bool
) -> str | list[dict[str, Any]]:
    """A user message's content: a string, or parts when it carries images, files or audio."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            parts.append({"type": "text", "text": block})
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
            parts.append({"type": "text", "text": block["text"]})
        elif kind in ("image_url", "image"):
            refuse_unreadable("image", images)
            parts.append(_image_part(block))
        elif kind == "file":
            parts.append(_file_part(block))
        elif kind in ("input_audio", "audio"):
            refuse_unreadable("audio", audio)
            parts.append(_audio_part(block))
        else:
            raise RequestValidationError(
                "messages[user].content",
                f"unsupported content block {kind!r}: the API takes text, image, file (PDF...) "
                "and audio blocks",
            )
    if len(parts) == len(texts):  # text only: send a plain string
        return "".join(texts)
    return parts


def _inline_source(block: Mapping[str, Any], what: str) -> tuple[str | None, str | None]:
    """(base64 data, file id) of a LangChain v1 (or legacy v0) file or audio block.

    A URL-only block is an error: the API takes files and audio inline or by id, never by URL.
    """
    source_type = block.get("source_type")  # v0 blocks, when not normalised by core
    data = block.get("base64")
    if data is None and source_type == "base64":
        data = block.get("data")
    file_id = block.get("file_id")
    if file_id is None and source_type == "id":
        file_id = block.get("id")
    if data is None and file_id is None and (block.get("url") or source_type == "url"):
        raise RequestValidationError(
            "messages[user].content",
            f"the API takes no {what} URLs: download the {what} and send its base64 data",
        )
    return data, file_id


def _filename(block: Mapping[str, Any]) -> str | None:
    if block.get("filename"):
        return str(block["filename"])
    for nested in ("extras", "metadata"):
        extra = block.get(nested)
        if isinstance(extra, Mapping) and extra.get("filename"):
            return str(extra["filename"])
    return None


def _file_part(block: Mapping[str, Any]) -> dict[str, Any]:
    file = block.get("file")
    if isinstance(file, Mapping):  # OpenAI chat format: checked, then passed through
        file_part(
            file_data=file.get("file_data"),
            file_id=file.get("file_id"),
            filename=file.get("filename"),
        )
        return {"type": "file", "file": {k: v for k, v in file.items() if v is not None}}
    data, file_id = _inline_source(block, "file")
    if data is None and file_id is None:
        raise RequestValidationError(
            "messages[user].content",
            "a file block needs base64 data (with its mime_type) or a file_id",
        )
    return file_part(
        data=data, mime_type=block.get("mime_type"), file_id=file_id, filename=_filename(block)
    )


def _audio_part(block: Mapping[str, Any]) -> dict[str, Any]:
    if block["type"] == "input_audio":  # OpenAI chat format
        audio = block.get("input_audio")
        if not isinstance(audio, Mapping):
            raise RequestValidationError(
                "messages[user].content", "an input_audio block needs input_audio: {data, format}"
            )
        return input_audio_part(data=audio.get("data"), format=audio.get("format"))
    data, file_id = _inline_source(block, "audio")
    if data is None:
        raise RequestValidationError(
            "messages[user].content",
            "an audio block needs base64 data with its mime_type "
            "(the API takes audio inline only, not by file id)"
            if file_id is not None
            else "an audio block needs base64 data with its mime_type",
        )
    return input_audio_part(data=data, mime_type=block.get("mime_type"))


def _image_part(block: Mapping[str, Any]) -> dict[str, Any]:
    if block["type"] == "image_url":
        image = block["image_url"]
        if isinstance(image, str):
            return image_url_part(url=image)
        return image_url_part(url=image.get("url"), detail=image.get("detail"))
    # LangChain standard blocks: url | base64 (+ mime_type); legacy source_type; Anthropic source.
    source = block.get("source")
    if isinstance(source, Mapping):
        if source.get("type") == "url":
            return image_url_part(url=source.get("url"))
        return image_url_part(data=source.get("data"), mime_type=source.get("media_type"))
    data = block.get("base64")
    if data is None and block.get("source_type") == "base64":
        data = block.get("data")
    url = block.get("url")
    if url is None and block.get("source_type") == "url":
        url = block.get("url")
    if data is None and url is None:
        raise RequestValidationError(
            "messages[user].content",
            "an image block needs a url or base64 data (file ids are not supported)",
        )
    return image_url_part(url=url, data=data, mime_type=block.get("mime_type"))


# ---------------------------------------------------------------------------- API -> LangChain


def usage_metadata_from_usage(usage: Usage) -> UsageMetadata:
    input_tokens = usage.prompt_tokens
    output_tokens = usage.completion_tokens
    metadata: UsageMetadata = {  # type: ignore[typeddict-item]  # NotRequired keys, set below
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": usage.total,
    }
    cached = (usage.prompt_tokens_details or {}).get("cached_tokens")
    if cached is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=cached)
    reasoning = usage.reasoning_tokens
    if reasoning is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _response_metadata(
    model: str | None, finish_reason: str | None, id_: str | None, request_id: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_provider": PROVIDER}
    if model:
        metadata["model_name"] = model
    if finish_reason:
        metadata["finish_reason"] = finish_reason
    if id_:
        metadata["id"] = id_
    if request_id:
        metadata["request_id"] = request_id
    return metadata


def chat_result_from_completion(completion: ChatCompletion) -> ChatResult:
    """The LangChain result of a (non-streamed) chat completion.

    The API's completion id goes to ``response_metadata["id"]``, not to the message id: core
    gives each message a unique run id, and LangGraph's message reducer would overwrite an
    earlier message if a server ever repeated a completion id.
    """
    choice = completion.choices[0] if completion.choices else None
    api_message = choice.message if choice is not None else None
    additional_kwargs: dict[str, Any] = {}
    if api_message is not None:
        if api_message.reasoning:
            # Where langchain-core looks for it: content_blocks then start with a reasoning block.
            additional_kwargs["reasoning_content"] = api_message.reasoning
        if api_message.refusal:
            additional_kwargs["refusal"] = api_message.refusal
    tool_calls = []
    invalid_tool_calls = []
    for call in tool_calls_of(completion):
        if call.args is not None:
            tool_calls.append(tool_call(name=call.name, args=call.args, id=call.id))
        else:
            invalid_tool_calls.append(
                invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=call.error)
            )
    message = AIMessage(
        content=(api_message.content if api_message is not None else None) or "",
        additional_kwargs=additional_kwargs,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        usage_metadata=usage_metadata_from_usage(completion.usage) if completion.usage else None,
        response_metadata=_response_metadata(
            completion.model,
            choice.finish_reason if choice is not None else None,
            completion.id or None,
            completion.request_id,
        ),
    )
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"token_usage": usage_dict(completion.usage), "model_name": completion.model},
    )


class StreamMapper:
    """Turns API stream chunks into LangChain chunks; shared by the sync and async streams.

    Each chunk with content, tool-call or reasoning deltas becomes an ``AIMessageChunk`` as
    it comes (the server sends a reasoning model's trace before its answer); core merges
    them, so only the stream's metadata is kept here. ``final()`` gives the closing chunk
    (``chunk_position="last"``): the only one carrying usage, model name, finish reason and
    ids, whichever framing the server used (with or without a role delta, a finish chunk or a
    usage-only chunk).
    """

    __slots__ = ("_kind", "_runs", "_stream", "_tool_offset")

    def __init__(self) -> None:
        self._stream = StreamMetadata()
        # With output_version="v1", core numbers content blocks by runs of one type (reasoning,
        # text, tool calls) and keeps an index a block already has: tool-call chunks are
        # numbered after the runs before them, so the calls never merge into the reasoning
        # or text block.
        self._kind = ""
        self._runs = 0
        self._tool_offset = 0

    def map(self, chunk: ChatCompletionChunk) -> ChatGenerationChunk | None:
        delta = self._stream.note(chunk)
        if delta is None or not (delta.content or delta.tool_calls or delta.reasoning):
            return None
        for kind, present in (
            ("reasoning", delta.reasoning),
            ("text", delta.content),
            ("tool_call", delta.tool_calls),
        ):
            if present and kind != self._kind:
                self._kind = kind
                self._runs += 1
                if kind == "tool_call":
                    self._tool_offset = self._runs - 1
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=delta.content or "",
                additional_kwargs={"reasoning_content": delta.reasoning} if delta.reasoning else {},
                tool_call_chunks=[
                    tool_call_chunk(
                        name=call.function.name if call.function else None,
                        args=call.function.arguments if call.function else None,
                        id=call.id,
                        index=call.index + self._tool_offset,
                    )
                    for call in delta.tool_calls or ()
                ],
                response_metadata={"model_provider": PROVIDER},
            )
        )

    def final(self, *, with_usage: bool = True) -> ChatGenerationChunk:
        """The closing chunk; without usage when ``with_usage`` is off (``stream_usage=False``
        on the Responses API, which reports usage unasked)."""
        stream = self._stream
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=(
                    usage_metadata_from_usage(stream.usage) if stream.usage and with_usage else None
                ),
                response_metadata=_response_metadata(
                    stream.model, stream.finish_reason, stream.id, stream.request_id
                ),
                chunk_position="last",
            )
        )
