"""Pure conversions between LlamaIndex messages and CompactifAI's chat API shapes.

Nothing here does I/O. LlamaIndex ``ChatMessage`` objects become API message dicts (raising a
clear error, before anything is sent, for content the API cannot take); completions and stream
chunks come back as ``ChatResponse``/``CompletionResponse`` objects whose ``raw`` is the
server's JSON (``usage`` included) so that ``TokenCountingHandler`` reads real counts.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from compactifai import chat as shared  # the mapping both integrations share
from compactifai.chat import ParsedToolCall, StreamAccumulator
from compactifai.errors import RequestValidationError
from compactifai.types import ChatCompletion, ChatCompletionChunk, Completion, Usage

__all__ = [
    "chat_response_from_completion",
    "chat_stream_item",
    "completion_response_from_completion",
    "completion_stream_item",
    "message_to_api",
    "messages_to_api",
    "tool_selections",
]

# LlamaIndex roles -> the roles the API accepts (CHATBOT and MODEL are other vendors' "assistant").
_ROLES: dict[MessageRole, str] = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "developer",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "function",
}


# ---------------------------------------------------------------------------- LlamaIndex -> API


def messages_to_api(
    messages: Sequence[ChatMessage], *, images: bool = True, audio: bool = True
) -> list[dict[str, Any]]:
    """API ``messages`` for a LlamaIndex conversation.

    ``images=False`` / ``audio=False`` (a model known not to read images / audio) turn an
    ``ImageBlock`` / ``AudioBlock`` into an error instead of a request the server would reject.
    """
    return [message_to_api(message, images=images, audio=audio) for message in messages]


def message_to_api(
    message: ChatMessage, *, images: bool = True, audio: bool = True
) -> dict[str, Any]:
    role = _ROLES.get(message.role)
    if role is None:  # pragma: no cover - every MessageRole is mapped
        raise RequestValidationError("messages.role", f"unsupported role {message.role!r}")
    kwargs = message.additional_kwargs
    if role == "assistant":
        return _assistant_to_api(message)
    if role == "tool":
        tool_call_id = kwargs.get("tool_call_id")
        if not tool_call_id:
            raise RequestValidationError(
                "messages.tool_call_id",
                "a tool message needs additional_kwargs['tool_call_id'] (the id of the call it answers)",
            )
        return {"role": "tool", "content": _text_only(message, role), "tool_call_id": tool_call_id}
    if role == "function":
        name = kwargs.get("name")
        if not name:
            raise RequestValidationError(
                "messages.name", "a function message needs additional_kwargs['name']"
            )
        return {"role": "function", "content": _text_only(message, role), "name": name}
    if role == "user":
        result: dict[str, Any] = {
            "role": "user",
            "content": _user_content(message, images=images, audio=audio),
        }
    else:  # system, developer
        result = {"role": role, "content": _text_only(message, role)}
    if kwargs.get("name"):
        result["name"] = kwargs["name"]
    return result


def _text_only(message: ChatMessage, role: str) -> str:
    texts: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif not isinstance(block, (CachePoint, ThinkingBlock)):
            raise _unsupported(block, role, "text only")
    return "\n".join(texts)


def _user_content(message: ChatMessage, *, images: bool, audio: bool) -> str | list[dict[str, Any]]:
    blocks = message.blocks
    if all(isinstance(block, TextBlock) for block in blocks):
        return "\n".join(block.text for block in blocks)  # type: ignore[union-attr]
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            shared.refuse_unreadable("image", images)
            parts.append(_image_part(block))
        elif isinstance(block, DocumentBlock):
            parts.append(_document_part(block))
        elif isinstance(block, AudioBlock):
            shared.refuse_unreadable("audio", audio)
            parts.append(_audio_part(block))
        elif not isinstance(block, (CachePoint, ThinkingBlock)):
            raise _unsupported(block, "user", "text, images, documents (PDF...) and audio")
    return parts


def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url:
        return shared.image_url_part(url=str(block.url), detail=block.detail)
    data = block.resolve_image(as_base64=True).read().decode("ascii")
    mime_type = block.image_mimetype or "image/png"
    return shared.image_url_part(data=data, mime_type=mime_type, detail=block.detail)


def _no_remote_url(block: DocumentBlock | AudioBlock, what: str) -> None:
    """The API takes documents and audio inline only; a ``data:`` URL is inline, others are not.

    Resolving a remote URL here would mean an unannounced download: the caller does that.
    """
    if block.url and not str(block.url).startswith("data:"):
        field = "data" if isinstance(block, DocumentBlock) else "audio"
        raise RequestValidationError(
            "messages[user].content",
            f"{type(block).__name__} from a URL ({str(block.url)[:80]}): the API takes no {what} "
            f"URLs; download it and pass the bytes ({field}=...) or a local path (path=...)",
        )


def _document_part(block: DocumentBlock) -> dict[str, Any]:
    if block.data is None and block.path is None:
        _no_remote_url(block, "document")
    data = base64.b64encode(block.resolve_document().read()).decode("ascii")
    mime_type = block.document_mimetype or _data_url_mime(block.url)
    if not mime_type:
        raise RequestValidationError(
            "messages[user].content",
            "DocumentBlock needs its document_mimetype (application/pdf...): "
            "it could not be guessed from the data or path",
        )
    return shared.file_part(data=data, mime_type=mime_type, filename=block.title)


def _audio_part(block: AudioBlock) -> dict[str, Any]:
    if block.audio is None and block.path is None:
        _no_remote_url(block, "audio")
    data = block.resolve_audio(as_base64=True).read().decode("ascii")
    audio_format = block.format
    mime_type = _data_url_mime(block.url) if block.audio is None and block.path is None else None
    if not audio_format and not mime_type:
        raise RequestValidationError(
            "input_audio.format",
            "AudioBlock needs its format ('wav' or 'mp3'): it could not be guessed from the data",
        )
    return shared.input_audio_part(data=data, format=audio_format, mime_type=mime_type)


def _data_url_mime(url: Any) -> str | None:
    """The mime type of a ``data:<mime>;base64,...`` URL."""
    text = str(url) if url else ""
    if not text.startswith("data:"):
        return None
    mime = text[len("data:") :].split(",", 1)[0].split(";", 1)[0]
    return mime or None


def _unsupported(block: Any, role: str, accepted: str) -> RequestValidationError:
    kind = getattr(block, "block_type", type(block).__name__)
    return RequestValidationError(
        f"messages[{role}].content",
        f"{type(block).__name__} ({kind!r}) content is not supported: CompactifAI accepts "
        f"{accepted} in {role} messages",
    )


def _assistant_to_api(message: ChatMessage) -> dict[str, Any]:
    """Text and tool calls; a ``ThinkingBlock`` (reasoning) is never sent back."""
    texts: list[str] = []
    calls: list[tuple[str | None, str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolCallBlock):
            calls.append((block.tool_call_id, block.tool_name, block.tool_kwargs))
        elif not isinstance(block, (CachePoint, ThinkingBlock)):
            raise _unsupported(block, "assistant", "text and tool calls")
    if not calls and message.additional_kwargs.get("tool_calls"):
        # Older integrations (and hand-written histories) keep calls in additional_kwargs.
        calls = [_legacy_tool_call(call) for call in message.additional_kwargs["tool_calls"]]
    return shared.assistant_message("\n".join(texts), calls)


def _legacy_tool_call(call: Any) -> tuple[str | None, str, Any]:
    if not isinstance(call, Mapping):
        call = call.model_dump() if hasattr(call, "model_dump") else dict(call)
    function = call.get("function") or {}
    return call.get("id"), function.get("name", ""), function.get("arguments")


# ---------------------------------------------------------------------------- API -> LlamaIndex


def _token_counts(usage: Usage | None) -> dict[str, Any]:
    """``prompt_tokens``/``completion_tokens``/``total_tokens``, as llama-index-llms-openai puts them."""
    return shared.usage_dict(usage) or {}


# (id, name, arguments): parsed arguments once a call is complete, the JSON text so far before.
_Call = tuple[str, str, "dict[str, Any] | str"]


def _parsed(calls: Sequence[ParsedToolCall]) -> list[_Call]:
    # Unparseable arguments stay a string.
    return [(c.id, c.name, c.args if c.args is not None else c.arguments) for c in calls]


def _assistant_message(text: str, calls: Sequence[_Call], reasoning: str | None) -> ChatMessage:
    """Blocks as llama-index-llms-openai orders them: thinking, text, tool calls."""
    blocks: list[Any] = [ThinkingBlock(content=reasoning)] if reasoning else []
    blocks.append(TextBlock(text=text))
    if calls:  # a stream item is built per chunk: no generator for the usual no-call answer
        blocks.extend(
            ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=arguments)
            for call_id, name, arguments in calls
        )
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def chat_response_from_completion(completion: ChatCompletion) -> ChatResponse:
    message = completion.choices[0].message if completion.choices else None
    text = (message.content or "") if message is not None else ""
    reasoning = message.reasoning if message is not None else None
    return ChatResponse(
        message=_assistant_message(text, _parsed(shared.tool_calls_of(completion)), reasoning),
        raw=completion.model_dump(exclude_unset=True),
        additional_kwargs=_token_counts(completion.usage),
    )


def completion_response_from_completion(completion: Completion) -> CompletionResponse:
    text = completion.choices[0].text if completion.choices else ""
    return CompletionResponse(
        text=text,
        raw=completion.model_dump(exclude_unset=True),
        additional_kwargs=_token_counts(completion.usage),
    )


def _chunk_raw_and_counts(
    acc: StreamAccumulator, chunk: ChatCompletionChunk
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stream item's ``raw`` (the chunk's JSON) and ``additional_kwargs`` (token counts)."""
    raw = chunk.as_sent()
    if acc.usage is None:  # every chunk but the last
        return raw, {}
    # The usage chunk is the last one: whichever item ends the stream carries the counts.
    counts = _token_counts(acc.usage)
    raw["usage"] = dict(counts)
    return raw, counts


def chat_stream_item(acc: StreamAccumulator, chunk: ChatCompletionChunk) -> ChatResponse:
    """Fold ``chunk`` into ``acc`` and return the stream item: the text so far plus the delta.

    Tool-call arguments are parsed once the calls are complete (a finish reason or the usage
    chunk); before, the blocks carry the JSON text so far, as llama-index-llms-openai does.
    """
    delta = acc.add(chunk)
    raw, additional_kwargs = _chunk_raw_and_counts(acc, chunk)
    thinking = chunk.choices[0].delta.reasoning if chunk.choices else None
    if thinking:
        # Where FunctionAgent looks for reasoning deltas (as llama-index-llms-openai puts them).
        additional_kwargs["thinking_delta"] = thinking
    complete = acc.finish_reason is not None or acc.usage is not None
    calls = _parsed(acc.tool_calls) if complete else acc.tool_call_parts
    return ChatResponse(
        message=_assistant_message(acc.text, calls, acc.reasoning),
        delta=delta,
        raw=raw,
        additional_kwargs=additional_kwargs,
    )


def completion_stream_item(
    acc: StreamAccumulator, chunk: ChatCompletionChunk
) -> CompletionResponse:
    """The completion-shaped twin of :func:`chat_stream_item` (the answer's text only)."""
    delta = acc.add(chunk)
    raw, additional_kwargs = _chunk_raw_and_counts(acc, chunk)
    return CompletionResponse(
        text=acc.text, delta=delta, raw=raw, additional_kwargs=additional_kwargs
    )


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """The tool calls of an assistant message, as LlamaIndex agents consume them."""
    selections: list[ToolSelection] = []
    for block in message.blocks:
        if isinstance(block, ToolCallBlock):
            kwargs = block.tool_kwargs
            if isinstance(kwargs, str):
                try:
                    kwargs = parse_partial_json(kwargs) if kwargs.strip() else {}
                except (ValueError, TypeError):
                    kwargs = {}
            selections.append(
                ToolSelection(
                    tool_id=block.tool_call_id or "",
                    tool_name=block.tool_name,
                    tool_kwargs=kwargs if isinstance(kwargs, dict) else {},
                )
            )
    if not selections:
        for call in message.additional_kwargs.get("tool_calls") or []:
            call_id, name, arguments = _legacy_tool_call(call)
            if isinstance(arguments, str):
                try:
                    arguments = parse_partial_json(arguments)
                except (ValueError, TypeError):
                    arguments = {}
            selections.append(
                ToolSelection(
                    tool_id=call_id or "",
                    tool_name=name,
                    tool_kwargs=arguments if isinstance(arguments, dict) else {},
                )
            )
    return selections
