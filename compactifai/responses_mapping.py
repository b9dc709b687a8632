"""The Responses API spoken by the LangChain and LlamaIndex integrations: one mapping for both.

Both adapters already turn their messages, tools and schemas into a ``POST /chat/completions``
body (:func:`compactifai.chat.chat_body`), checked field by field with clear errors. On the
Responses path that very body is rewritten as a ``POST /responses`` body
(:func:`responses_body_from_chat`, on :mod:`compactifai.responses`' request mapping),
and the answer is read back as the chat completion it is equivalent to
(:func:`as_chat_completion`; a stream, through :class:`ChatChunks`, as chat chunks). So each
adapter maps a Response with the functions it maps a chat completion with, and a message
looks the same whichever API produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from compactifai.errors import RequestValidationError
from compactifai.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ResponsesResult,
    ResponseStreamEvent,
    with_request_id,
)

if TYPE_CHECKING:
    from compactifai.responses import ResponseStreamAccumulator, chat_usage

# ``compactifai.responses`` (and the request logic under it) loads with the first Responses
# call, not with this module: both integrations import it for their classes.


def __getattr__(name: str) -> Any:
    if name == "chat_usage":
        from compactifai.responses import chat_usage

        return chat_usage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RESPONSE_ID_PREFIX",
    "ChatChunks",
    "as_chat_completion",
    "chat_usage",
    "finish_reason",
    "kept_conversation_body",
    "latest_answer",
    "responses_body_from_chat",
]

# Ids of responses (what ``previous_response_id`` takes); a chat completion's id
# (``chatcmpl-...``) in an older message of the same history is not one.
RESPONSE_ID_PREFIX = "resp_"

_Mapped = TypeVar("_Mapped")
_Message = TypeVar("_Message")


# ---------------------------------------------------------------------------- request


def responses_body_from_chat(
    chat: Mapping[str, Any],
    *,
    previous_response_id: str | None = None,
    store: bool | None = None,
) -> dict[str, Any]:
    """The ``POST /responses`` body saying what the ``POST /chat/completions`` body ``chat`` says.

    ``messages`` become ``input`` items (an assistant's tool calls ``function_call`` items,
    tool results ``function_call_output`` items), the other fields are renamed where the
    APIs differ (``max_output_tokens``, ``reasoning.effort``, flat ``tools`` and
    ``tool_choice``, ``text.format``), both by :mod:`compactifai.responses`; the rest
    (``temperature``, ``stop``, ``reasoning_enabled``...) is kept, as the service forwards
    extra fields to the model server. ``previous_response_id`` continues an earlier response;
    ``store`` keeps this one for a later turn (the service does not by default).
    """
    if chat.get("n") not in (None, 1):
        raise RequestValidationError("n", "a response has one output: n must be 1")
    fields = {k: v for k, v in chat.items() if k not in ("model", "messages", "n")}
    if previous_response_id is not None:
        if not previous_response_id.startswith(RESPONSE_ID_PREFIX):
            raise RequestValidationError(
                "previous_response_id",
                f"must be the id of a response ({RESPONSE_ID_PREFIX}...), "
                f"got {previous_response_id!r}",
            )
        fields["previous_response_id"] = previous_response_id
    if store is not None:
        fields["store"] = store
    from compactifai.responses import input_from_chat_messages, responses_body

    return responses_body(
        str(chat.get("model") or ""),
        input_from_chat_messages(chat.get("messages") or ()),
        overrides=fields,
    )


def latest_answer(
    messages: Sequence[_Message], response_id_of: Callable[[_Message], object]
) -> tuple[int, str | None]:
    """Where a conversation the service keeps resumes: the index of the first message after
    the latest answer of the Responses API in ``messages``, and that answer's id.

    ``response_id_of`` reads a message's response id (an integration's own place for it);
    ``(0, None)`` when no message has one (a chat completion's id does not count).
    """
    for index in range(len(messages) - 1, -1, -1):
        response_id = response_id_of(messages[index])
        if isinstance(response_id, str) and response_id.startswith(RESPONSE_ID_PREFIX):
            return index + 1, response_id
    return 0, None


def kept_conversation_body(
    chat: Mapping[str, Any], previous_response_id: str | None
) -> dict[str, Any]:
    """The ``POST /responses`` body of a turn of a conversation the service keeps.

    It continues ``previous_response_id`` (None: the first turn) and asks the service to
    store this response (``store: true``; the service does not by default) so that the next
    turn can continue it, unless ``chat`` sets ``store`` itself.
    """
    return responses_body_from_chat(
        chat,
        previous_response_id=previous_response_id,
        store=None if "store" in chat else True,
    )


# ---------------------------------------------------------------------------- results


def finish_reason(result: ResponsesResult) -> str | None:
    """The chat ``finish_reason`` of a finished response: ``tool_calls``, ``length``,
    ``content_filter`` or ``stop`` (None while it runs)."""
    if result.status == "incomplete":
        reason = result.incomplete_details.reason if result.incomplete_details else None
        return "length" if reason in (None, "max_output_tokens") else reason
    if result.status not in (None, "completed"):
        return None
    return "tool_calls" if result.function_calls else "stop"


def as_chat_completion(result: ResponsesResult) -> ChatCompletion:
    """``result`` as the chat completion saying the same (its id, model and request id kept)."""
    calls = [
        {
            "id": call.call_id or call.id or "",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in result.function_calls
    ]
    message = {
        "role": "assistant",
        "content": result.output_text,
        "reasoning": result.reasoning_text or None,
        "refusal": result.refusal,
        "tool_calls": calls or None,
    }
    from compactifai.responses import chat_usage

    completion = ChatCompletion(
        id=result.id,
        created=int(result.created_at or 0),
        model=result.model,
        choices=[{"index": 0, "message": message, "finish_reason": finish_reason(result)}],
        usage=chat_usage(result.usage),
    )
    with_request_id(completion, result.request_id)
    return completion


class ChatChunks:
    """A Responses event stream read as the chat chunks saying the same, event by event.

    :meth:`chunk` folds an event into :attr:`events` (the shared
    :class:`~compactifai.responses.ResponseStreamAccumulator`) and returns a chat chunk for
    what it added: a text, reasoning or tool-call delta; the response's id and model when it
    starts; the finish reason and usage when it ends. Events that add nothing give None.
    """

    __slots__ = ("_ended", "_started", "events")

    def __init__(self) -> None:
        from compactifai.responses import ResponseStreamAccumulator

        self.events: ResponseStreamAccumulator = ResponseStreamAccumulator()
        self._started = False
        self._ended = False

    def chunk(self, event: ResponseStreamEvent) -> ChatCompletionChunk | None:
        added = self.events.add(event)
        choices: list[dict[str, Any]] = []
        if added:
            delta: dict[str, Any] = {}
            if added.reasoning:
                delta["reasoning"] = added.reasoning
            if added.text:
                delta["content"] = added.text
            if added.tool_calls:
                delta["tool_calls"] = [
                    {
                        "index": piece.index,
                        "id": piece.call_id,
                        "type": "function" if piece.call_id else None,
                        "function": {"name": piece.name, "arguments": piece.arguments},
                    }
                    for piece in added.tool_calls
                ]
            choices.append({"index": 0, "delta": delta})
        usage = None
        response = self.events.response
        if response is not None and not self._ended:
            self._ended = True
            from compactifai.responses import chat_usage

            usage = chat_usage(response.usage)
            ending = {"index": 0, "delta": {}, "finish_reason": finish_reason(response)}
            if choices:
                choices[0]["finish_reason"] = ending["finish_reason"]
            else:
                choices.append(ending)
        elif not choices and (self._started or self.events.id is None):
            return None
        self._started = True
        chunk = ChatCompletionChunk(
            id=self.events.id or "",
            model=self.events.model or "",
            choices=choices,
            usage=usage,
        )
        with_request_id(chunk, self.events.request_id)
        return chunk

    def map(
        self, event: ResponseStreamEvent, map_chunk: Callable[[ChatCompletionChunk], _Mapped]
    ) -> _Mapped | None:
        """What an integration's chat-stream mapper (``map_chunk``) makes of the chat chunk
        ``event`` equals; None for an event that equals none."""
        chunk = self.chunk(event)
        return None if chunk is None else map_chunk(chunk)
