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

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

from compactifai.chat import StreamAccumulator, usage_dict
from compactifai.responses_mapping import ChatChunks, as_chat_completion, responses_body_from_chat
from compactifai.types import ResponsesResult, ResponseStreamEvent
from llama_index_compactifai._host import LLMHost
from llama_index_compactifai._messages import (
    chat_response_from_completion,
    chat_stream_item,
    completion_stream_item,
)

__all__ = ["ResponsesChatMixin", "ResponsesStream", "chat_response_from_result"]

_Item = TypeVar("_Item", ChatResponse, CompletionResponse)


def chat_response_from_result(result: ResponsesResult) -> ChatResponse:
    response = chat_response_from_completion(as_chat_completion(result))
    response.raw = result.model_dump(exclude_unset=True)
    return response


class ResponsesStream:
    """One streamed response's events -> stream items, as the chat path's items.

    An event that says nothing a caller sees (``output_item.done``, ``content_part.added``...)
    gives no item; every other one gives the text so far and its delta (text, or reasoning in
    ``additional_kwargs["thinking_delta"]``). The last item carries the usage.
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

    def _with_raw(self, item: _Item, event: ResponseStreamEvent) -> _Item:
        item.raw = event.model_dump(exclude_unset=True)
        if self._acc.usage is not None:
            item.raw["usage"] = usage_dict(self._acc.usage)
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
        """The Responses body of a call: the chat body it would send, rewritten."""
        return responses_body_from_chat(self._llm()._chat_params(messages, kwargs))

    def _chat_with_responses(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        result = self._llm().client.create_response(**self._responses_params(messages, kwargs))
        return chat_response_from_result(result)

    async def _achat_with_responses(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        params = self._responses_params(messages, kwargs)
        return chat_response_from_result(await self._llm().async_client.create_response(**params))

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

        return gen()
