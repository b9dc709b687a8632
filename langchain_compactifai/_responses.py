"""``ChatCompactifAI(use_responses_api=True)``: the same model over ``POST /responses``.

Each call builds its chat body exactly as the chat path does (``_request_params``), rewrites
it as a Responses body (``compactifai.responses_mapping``), and reads the answer back
through the chat path's own mappers: a ``Response`` as the chat completion it equals, a
Responses event stream as the chat chunks it equals. So a message has the same shape on
either path (text content, ``additional_kwargs["reasoning_content"]``, ``tool_calls``,
``usage_metadata``), and ``response_metadata["id"]`` is the response id that
``use_previous_response_id`` continues from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import BaseModel, model_validator

from compactifai.responses_mapping import (
    ChatChunks,
    as_chat_completion,
    kept_conversation_body,
    latest_answer,
    responses_body_from_chat,
)
from compactifai.types import ResponsesResult
from langchain_compactifai._errors import langchain_errors
from langchain_compactifai._host import ChatModelHost
from langchain_compactifai._messages import StreamMapper, chat_result_from_completion

__all__ = ["ResponsesAPIMixin", "last_turn"]

# Call parameters only the Responses API takes: with ``use_responses_api=None`` a call (or a
# ``bind``, or ``model_kwargs``) that sets one goes to the Responses API.
RESPONSES_ONLY_PARAMS = frozenset(
    {"previous_response_id", "instructions", "reasoning", "text", "truncation", "store"}
)


def last_turn(messages: Sequence[BaseMessage]) -> tuple[list[BaseMessage], str | None]:
    """The messages after the latest answer of the Responses API, and that answer's id.

    (All of them and None when no message came from it: chat completion ids do not count.)
    """
    start, response_id = latest_answer(messages, _response_id)
    return list(messages[start:]), response_id


def _response_id(message: BaseMessage) -> object:
    return message.response_metadata.get("id") if isinstance(message, AIMessage) else None


def chat_result_from_response(result: ResponsesResult) -> ChatResult:
    chat_result = chat_result_from_completion(as_chat_completion(result))
    if result.status:
        chat_result.generations[0].message.response_metadata["status"] = result.status
    return chat_result


class ResponsesAPIMixin(BaseModel):
    """Fields and methods of ``ChatCompactifAI`` for the Responses API."""

    use_responses_api: bool | None = None
    """Send calls to the Responses API (``POST /responses``) instead of chat completions.

    ``None`` (default): only calls that need it, i.e. with ``use_previous_response_id`` or a
    parameter only the Responses API takes (``previous_response_id``, ``instructions``,
    ``reasoning``, ``text``, ``truncation``, ``store``) given at call time, in ``bind`` or in
    ``model_kwargs``. Models that serve it: ``hypernova-60b``, ``gpt-oss-120b``, ``glm-5-1``.
    """
    use_previous_response_id: bool = False
    """Send only the messages after the latest answer, with ``previous_response_id`` set to
    its id (``response_metadata["id"]``), and ask the service to keep each response
    (``store: true``, which the service does not do by default) so the next turn can refer to
    it. Responses API only (implies it)."""

    @model_validator(mode="after")
    def _responses_options_agree(self) -> ResponsesAPIMixin:
        if self.use_previous_response_id and self.use_responses_api is False:
            raise ValueError("use_previous_response_id needs the Responses API")
        if self.use_responses_api and getattr(self, "use_batch_api", False):
            raise ValueError(
                "use_batch_api runs chat completions (the Batch API has no Responses "
                "endpoint): it cannot be combined with use_responses_api=True"
            )
        return self

    def _chat_model(self) -> ChatModelHost:
        return cast(ChatModelHost, self)

    def _uses_responses_api(self, kwargs: dict[str, Any]) -> bool:
        if self.use_responses_api is not None:
            return self.use_responses_api
        return (
            self.use_previous_response_id
            or not RESPONSES_ONLY_PARAMS.isdisjoint(kwargs)
            or not RESPONSES_ONLY_PARAMS.isdisjoint(self._chat_model().model_kwargs)
        )

    def _responses_params(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The Responses body of a call: the chat body the call would send, rewritten."""
        return self._streamed_responses_params(messages, stop, kwargs, stream=False)[0]

    def _streamed_responses_params(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """The Responses body of a call, and whether its stream reports usage.

        The service always sends a response's usage; a stream passes it on only when the chat
        path would have asked for it (``stream_usage``, or ``stream_options`` the call or
        ``model_kwargs`` set), so ``stream_usage=False`` means no ``usage_metadata`` whichever
        API the call goes to. (``ChatOpenAI`` reports it on its Responses path regardless.)
        """
        previous_response_id = None
        if self.use_previous_response_id and "previous_response_id" not in kwargs:
            messages, previous_response_id = last_turn(messages)
        chat = self._chat_model()._request_params(messages, stop, kwargs, stream=stream)
        with_usage = bool((chat.get("stream_options") or {}).get("include_usage"))
        if self.use_previous_response_id:
            return kept_conversation_body(chat, previous_response_id), with_usage
        return responses_body_from_chat(chat), with_usage

    def _generate_with_responses(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatResult:
        params = self._responses_params(messages, stop, kwargs)
        with langchain_errors():
            result = self._chat_model().client.create_response(**params)
        return chat_result_from_response(result)

    async def _agenerate_with_responses(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatResult:
        params = self._responses_params(messages, stop, kwargs)
        with langchain_errors():
            result = await self._chat_model().async_client.create_response(**params)
        return chat_result_from_response(result)

    def _stream_with_responses(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> Iterator[ChatGenerationChunk]:
        params, with_usage = self._streamed_responses_params(messages, stop, kwargs)
        chunks, mapper = ChatChunks(), StreamMapper()
        with langchain_errors():
            for event in self._chat_model().client.stream_response(**params):
                chunk = chunks.map(event, mapper.map)
                if chunk is not None:
                    yield chunk
        yield mapper.final(with_usage=with_usage)

    async def _astream_with_responses(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> AsyncIterator[ChatGenerationChunk]:
        params, with_usage = self._streamed_responses_params(messages, stop, kwargs)
        chunks, mapper = ChatChunks(), StreamMapper()
        with langchain_errors():
            async for event in self._chat_model().async_client.stream_response(**params):
                chunk = chunks.map(event, mapper.map)
                if chunk is not None:
                    yield chunk
        yield mapper.final(with_usage=with_usage)
