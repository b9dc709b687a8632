"""Responses API answers as LlamaIndex responses (``CompactifAI(use_responses_api=True)``).

A ``Response`` is read as the chat completion it equals, and a Responses event stream as the
chat chunks it equals (``compactifai.responses_mapping``), then mapped by the chat path's own
functions: messages look the same on either path (a ``ThinkingBlock`` before the answer,
``ToolCallBlock``s after it, ``thinking_delta`` on stream items, token counts in
``additional_kwargs``). ``raw`` is the Responses JSON itself (its ``usage`` is what
``TokenCountingHandler`` reads).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, TypeVar, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)

from compactifai.chat import StreamAccumulator, usage_dict
from compactifai.responses_mapping import (
    ChatChunks,
    as_chat_completion,
    kept_conversation_body,
    latest_answer,
    responses_body_from_chat,
)
from compactifai.types import ResponsesResult, ResponseStreamEvent
from llama_index_compactifai._host import LLMHost
from llama_index_compactifai._messages import (
    chat_response_from_completion,
    chat_stream_item,
    completion_stream_item,
)

__all__ = ["ResponsesChatMixin", "ResponsesStream", "chat_response_from_result"]

_Item = TypeVar("_Item", ChatResponse, CompletionResponse)


# Where an answer of the Responses API keeps its id: a later call with
# ``track_previous_responses`` continues the conversation from the latest message holding one.
RESPONSE_ID_KEY = "response_id"


def chat_response_from_result(result: ResponsesResult) -> ChatResponse:
    response = chat_response_from_completion(as_chat_completion(result))
    response.raw = result.model_dump(exclude_unset=True)
    response.message.additional_kwargs[RESPONSE_ID_KEY] = result.id
    return response


def _response_id(message: ChatMessage) -> object:
    return message.additional_kwargs.get(RESPONSE_ID_KEY)


class ResponsesStream:
    """One streamed response's events -> stream items, as the chat path's items.

    An event that says nothing a caller sees (``output_item.done``, ``content_part.added``...)
    gives no item; every other one gives the text so far and its delta (text, or reasoning in
    ``additional_kwargs["thinking_delta"]``). The last item carries the usage, and its message
    the response's id (``additional_kwargs["response_id"]``).
    """

    __slots__ = ("_acc", "_chunks")

    def __init__(self) -> None:
        self._chunks = ChatChunks()
        self._acc = StreamAccumulator()

    def chat_item(self, event: ResponseStreamEvent) -> ChatResponse | None:
        return self._chunks.map(
            event, lambda chunk: self._with_raw(chat_stream_item(self._acc, chunk), event)
        )

    def completion_item(self, event: ResponseStreamEvent) -> CompletionResponse | None:
        return self._chunks.map(
            event, lambda chunk: self._with_raw(completion_stream_item(self._acc, chunk), event)
        )

    @property
    def response_id(self) -> str | None:
        """The id of the streamed response once it has finished (None before)."""
        finished = self._chunks.events.response
        return finished.id if finished is not None else None

    def _with_raw(self, item: _Item, event: ResponseStreamEvent) -> _Item:
        item.raw = event.as_sent()
        if self._acc.usage is not None:
            item.raw["usage"] = usage_dict(self._acc.usage)
        finished = self._chunks.events.response
        if finished is not None and isinstance(item, ChatResponse):
            item.message.additional_kwargs[RESPONSE_ID_KEY] = finished.id
        return item


class ResponsesChatMixin:
    """The Responses API calls of :class:`~llama_index_compactifai.CompactifAI`: each maps its
    messages as the chat path does (``_chat_params``), rewrites the body, calls the client and
    maps the answer back. The public methods choose them when ``use_responses_api`` is set."""

    def _llm(self) -> LLMHost:
        return cast(LLMHost, self)

    def _responses_params(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The Responses body of a call: the chat body it would send, rewritten.

        With ``track_previous_responses`` (and no ``previous_response_id`` given to the call),
        it continues the latest answer in ``messages`` and sends only the messages after it;
        messages holding no answer at all continue the LLM's ``previous_response_id``.
        """
        llm = self._llm()
        if not llm.track_previous_responses or "previous_response_id" in kwargs:
            return responses_body_from_chat(llm._chat_params(messages, kwargs))
        start, previous = latest_answer(messages, _response_id)
        if previous is None and not any(m.role == MessageRole.ASSISTANT for m in messages):
            previous = llm.previous_response_id
        return kept_conversation_body(llm._chat_params(messages[start:], kwargs), previous)

    def _remember(self, response_id: str | None) -> None:
        llm = self._llm()
        if llm.track_previous_responses and response_id is not None:
            llm.previous_response_id = response_id

    def _chat_with_responses(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        result = self._llm().client.create_response(**self._responses_params(messages, kwargs))
        self._remember(result.id)
        return chat_response_from_result(result)

    async def _achat_with_responses(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        params = self._responses_params(messages, kwargs)
        result = await self._llm().async_client.create_response(**params)
        self._remember(result.id)
        return chat_response_from_result(result)

    def _stream_with_responses(
        self,
        messages: Sequence[ChatMessage],
        kwargs: dict[str, Any],
        item_of: Callable[[ResponsesStream, ResponseStreamEvent], _Item | None],
    ) -> Generator[_Item, None, None]:
        events = self._llm().client.stream_response(**self._responses_params(messages, kwargs))

        def gen() -> Generator[_Item, None, None]:
            stream = ResponsesStream()
            for event in events:
                item = item_of(stream, event)
                if item is not None:
                    yield item
            self._remember(stream.response_id)

        return gen()

    def _astream_with_responses(
        self,
        messages: Sequence[ChatMessage],
        kwargs: dict[str, Any],
        item_of: Callable[[ResponsesStream, ResponseStreamEvent], _Item | None],
    ) -> AsyncGenerator[_Item, None]:
        params = self._responses_params(messages, kwargs)
        events = self._llm().async_client.stream_response(**params)

        async def gen() -> AsyncGenerator[_Item, None]:
            stream = ResponsesStream()
            async for event in events:
                item = item_of(stream, event)
                if item is not None:
                    yield item
            self._remember(stream.response_id)

        return gen()
