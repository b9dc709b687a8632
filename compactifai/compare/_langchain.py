"""LangChain runnables as comparison subjects (needs the ``langchain`` extra).

The chat model of each compared model is built here (``ChatCompactifAI(model=..., streaming=True)``
by default) and handed to the user's factory, which returns the runnable to run
(``lambda llm: prompt | llm | parser``). Each run gets its own callback handler: the first
non-empty ``on_llm_new_token`` is the time to first token, and every ``on_llm_end`` adds the
call's ``usage_metadata`` (so agents and multi-step chains report all their tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult
from langchain_core.runnables import Runnable

from compactifai.compare.report import WorkItem
from compactifai.compare.workloads import Meter, Subject

__all__ = [
    "MeteringCallbackHandler",
    "default_chat_model",
    "message_answer",
    "runnable_subject",
]

RunnableFactory = Callable[[Any], Runnable[Any, Any]]
LLMFactory = Callable[[str], BaseLanguageModel[Any]]


class MeteringCallbackHandler(AsyncCallbackHandler):
    """Reports one run's first token and token usage to a :class:`Meter`."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    async def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        message = getattr(chunk, "message", None)
        if token or getattr(message, "tool_call_chunks", None):
            self.meter.first_token()

    async def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        input_tokens: int | None = None
        output_tokens: int | None = None
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None) if message else None
                if usage:
                    input_tokens = (input_tokens or 0) + int(usage.get("input_tokens", 0))
                    output_tokens = (output_tokens or 0) + int(usage.get("output_tokens", 0))
        if input_tokens is None and response.llm_output:
            token_usage = response.llm_output.get("token_usage") or {}
            if token_usage:
                input_tokens = int(token_usage.get("prompt_tokens", 0))
                output_tokens = int(token_usage.get("completion_tokens", 0))
        self.meter.add_usage(input_tokens, output_tokens)


def default_chat_model(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    llm_kwargs: Mapping[str, Any] | None = None,
) -> BaseChatModel:
    """``ChatCompactifAI`` for ``model``, streaming (for TTFT), temperature 0 unless overridden."""
    from langchain_compactifai import ChatCompactifAI

    kwargs: dict[str, Any] = {"streaming": True, "temperature": 0, **(llm_kwargs or {})}
    if api_key is not None:
        kwargs["api_key"] = api_key
    if base_url is not None:
        kwargs["base_url"] = base_url
    return ChatCompactifAI(model=model, **kwargs)


def message_answer(message: BaseMessage) -> Any:
    """A chat message as an answer: its text, or its tool calls (name and arguments, compared
    field by field) when it has no text. Never the message object itself, whose ids and
    metadata differ on every call."""
    text = message.text
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls and not text.strip():
        return [{"name": call["name"], "args": call["args"]} for call in tool_calls]
    return text


def runnable_subject(runnable: Runnable[Any, Any]) -> Subject:
    """Each item's input goes to ``runnable.ainvoke`` with a metering callback."""

    async def run(item: WorkItem, meter: Meter) -> Any:
        handler = MeteringCallbackHandler(meter)
        result = await runnable.ainvoke(item.input, config={"callbacks": [handler]})
        return message_answer(result) if isinstance(result, BaseMessage) else result

    return run
