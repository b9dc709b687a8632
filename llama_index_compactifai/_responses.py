"""Responses API answers as LlamaIndex responses (``CompactifAI(use_responses_api=True)``).

A ``Response`` is read as the chat completion it equals, and a Responses event stream as the
chat chunks it equals (``compactifai.responses_mapping``), then mapped by the chat path's own
functions: messages look the same on either path (a ``ThinkingBlock`` before the answer,
``ToolCallBlock``s after it, ``thinking_delta`` on stream items, token counts in
``additional_kwargs``). ``raw`` is the Responses JSON itself (its ``usage`` is what
``TokenCountingHandler`` reads).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from compactifai.chat import StreamAccumulator, usage_dict
from compactifai.responses_mapping import ChatChunks, as_chat_completion
from compactifai.types import ResponsesResult, ResponseStreamEvent
from llama_index_compactifai._messages import (
    chat_response_from_completion,
    chat_stream_item,
    completion_stream_item,
)

__all__ = ["ResponsesStream", "chat_response_from_result"]


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
        chunk = self._chunks.chunk(event)
        if chunk is None:
            return None
        item = chat_stream_item(self._acc, chunk)
        item.raw = self._raw(event)
        return item

    def completion_item(self, event: ResponseStreamEvent) -> CompletionResponse | None:
        chunk = self._chunks.chunk(event)
        if chunk is None:
            return None
        item = completion_stream_item(self._acc, chunk)
        item.raw = self._raw(event)
        return item

    def _raw(self, event: ResponseStreamEvent) -> dict[str, Any]:
        raw = event.model_dump(exclude_unset=True)
        if self._acc.usage is not None:
            raw["usage"] = usage_dict(self._acc.usage)
        return raw
