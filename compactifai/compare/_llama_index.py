"""LlamaIndex query engines as comparison subjects (needs the ``llama-index`` extra).

The LLM of each compared model is built here (``CompactifAI(model=...)`` by default) and
handed to the user's factory, which returns the query engine to run
(``lambda llm: RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=True)``).

LlamaIndex reports LLM calls through its instrumentation events, which are global; a
context variable set around each run attributes them to that run's :class:`Meter` (asyncio
tasks inherit it, so concurrent runs do not mix). The first non-empty streamed delta is the
time to first token (only streaming engines have one; for the others it is ``None``), and
each end event adds the server's token usage, which the CompactifAI LLM puts in
``additional_kwargs`` (``prompt_tokens``/``completion_tokens``) and ``raw["usage"]``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    PydanticResponse,
    StreamingResponse,
)
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
)
from llama_index.core.llms import LLM
from llama_index_instrumentation import get_dispatcher

from compactifai.compare.report import WorkItem
from compactifai.compare.workloads import Meter, Subject

__all__ = [
    "MeteringEventHandler",
    "default_llm",
    "install_handler",
    "metered",
    "query_engine_subject",
]

_current_meter: contextvars.ContextVar[Meter | None] = contextvars.ContextVar(
    "compactifai_compare_meter", default=None
)


def _usage_of(response: Any) -> tuple[int | None, int | None]:
    extra = getattr(response, "additional_kwargs", None) or {}
    if "prompt_tokens" in extra or "completion_tokens" in extra:
        return extra.get("prompt_tokens"), extra.get("completion_tokens")
    raw = getattr(response, "raw", None)
    usage = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
    if isinstance(usage, Mapping):
        return usage.get("prompt_tokens"), usage.get("completion_tokens")
    if usage is not None:
        return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    return None, None


class MeteringEventHandler(BaseEventHandler):
    """Sends LLM events to the meter of the run they happen in (if any)."""

    @classmethod
    def class_name(cls) -> str:
        return "CompactifAICompareMeteringEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        meter = _current_meter.get()
        if meter is None:
            return
        if isinstance(event, (LLMChatInProgressEvent, LLMCompletionInProgressEvent)):
            response = event.response
            message = getattr(response, "message", None)
            if getattr(response, "delta", None) or (
                message is not None and message.additional_kwargs.get("tool_calls")
            ):
                meter.first_token()
        elif isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent)):
            input_tokens, output_tokens = _usage_of(event.response)
            meter.add_usage(input_tokens, output_tokens)


_handler: MeteringEventHandler | None = None


def install_handler() -> MeteringEventHandler:
    """Add the metering handler to LlamaIndex's root dispatcher (once per process)."""
    global _handler
    if _handler is None:
        _handler = MeteringEventHandler()
        get_dispatcher().add_event_handler(_handler)
    return _handler


def default_llm(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    llm_kwargs: Mapping[str, Any] | None = None,
) -> LLM:
    """``CompactifAI`` (LlamaIndex) for ``model``, temperature 0 unless overridden."""
    from llama_index_compactifai import CompactifAI

    kwargs: dict[str, Any] = {"temperature": 0, **(llm_kwargs or {})}
    if api_key is not None:
        kwargs["api_key"] = api_key
    if base_url is not None:
        kwargs["base_url"] = base_url
    return CompactifAI(model=model, **kwargs)


@contextmanager
def metered() -> Iterator[Meter]:
    """A meter for the LlamaIndex LLM calls made inside the block (this context only)."""
    install_handler()
    meter = Meter()
    token = _current_meter.set(meter)
    try:
        yield meter
    finally:
        _current_meter.reset(token)


QueryEngineFactory = Callable[[LLM], Any]


def query_engine_subject(engine: Any) -> Subject:
    """Each item is a query for ``engine.aquery``; streamed answers are read to the end."""
    install_handler()

    async def run(item: WorkItem, meter: Meter) -> Any:
        token = _current_meter.set(meter)
        try:
            response = await engine.aquery(item.input)
            if isinstance(response, AsyncStreamingResponse):
                pieces = []
                async for piece in response.async_response_gen():
                    if piece:
                        meter.first_token()
                        pieces.append(piece)
                return "".join(pieces)
            if isinstance(response, StreamingResponse):
                pieces = []
                for piece in response.response_gen:
                    if piece:
                        meter.first_token()
                        pieces.append(piece)
                return "".join(pieces)
            if isinstance(response, PydanticResponse):
                return response.response
            text = getattr(response, "response", None)
            return text if text is not None else str(response)
        finally:
            _current_meter.reset(token)

    return run
