"""Python function calls per call and per streamed chunk, for each integration.

    python -m bench.call_counts          # prints one JSON object: {figure: calls}

Times on a shared machine flap; call counts do not. This runs the integrations against the
in-process emulator (a uvicorn server in a background thread) and counts, with
``sys.setprofile``, the Python function calls made **in the calling thread only** (a profile
function is per thread, so the server's work is never counted), leaving out the event loop's
own bookkeeping (``asyncio``, ``selectors``: how often a loop wakes up depends on timing).
Each figure is the smallest of a few repetitions after warm-up calls; a per-chunk figure is the
difference between a long and a short stream over the difference in chunks, so what a stream
costs once (the request, the response head) is not in it.

It runs in a fresh interpreter (``tests/perf/test_call_counts.py`` starts it), so no other
test's callbacks, caches or settings are counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = ["measure"]

MODEL = "cai-mistral-small-3-1-slim"  # no reasoning: one text chunk per token
PROMPT = "Hi"
WARMUP = 3
REPEAT = 5
SHORT, LONG = 20, 60  # streamed tokens: the per-chunk figure is (LONG - SHORT) chunks' worth
# The event loop's own frames: how often it wakes up depends on timing, not on our code.
_ASYNCIO_DIR = f"{os.sep}asyncio{os.sep}"
_SELECTORS = f"{os.sep}selectors.py"


def _counted(filename: str) -> bool:
    return _ASYNCIO_DIR not in filename and not filename.endswith(_SELECTORS)


def _count(run: Callable[[], Any]) -> int:
    calls = 0
    verdicts: dict[str, bool] = {}

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            filename = frame.f_code.co_filename
            counted = verdicts.get(filename)
            if counted is None:
                counted = verdicts[filename] = _counted(filename)
            calls += counted

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def _least(run: Callable[[], Any]) -> int:
    for _ in range(WARMUP):
        run()
    return min(_count(run) for _ in range(REPEAT))


def _per_chunk(stream: Callable[[int], Any]) -> float:
    short = _least(lambda: stream(SHORT))
    long = _least(lambda: stream(LONG))
    return (long - short) / (LONG - SHORT)


def _drive(
    loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[Any]]
) -> Callable[[], Any]:
    return lambda: loop.run_until_complete(make())


async def _consume(items: Any) -> int:
    return len([item async for item in items])


def _consume_sync(items: Iterable[Any]) -> int:
    return sum(1 for _ in items)


def measure(base_url: str, api_key: str) -> dict[str, float]:
    from llama_index.core.llms import ChatMessage

    from langchain_compactifai import ChatCompactifAI
    from langchain_compactifai import CompactifAI as CompletionLLM
    from llama_index_compactifai import CompactifAI as LlamaIndexLLM

    conn: dict[str, Any] = {"api_key": api_key, "base_url": base_url, "model": MODEL}
    chat = ChatCompactifAI(max_tokens=16, **conn)
    completion = CompletionLLM(max_tokens=16, **conn)
    llama = LlamaIndexLLM(max_tokens=16, **conn)
    messages = [ChatMessage(role="user", content=PROMPT)]
    # Streams of exactly n tokens (ignore_eos), one model object per length.
    chats = {
        n: ChatCompactifAI(max_tokens=n, model_kwargs={"ignore_eos": True}, **conn)
        for n in (SHORT, LONG)
    }
    llamas = {
        n: LlamaIndexLLM(max_tokens=n, additional_kwargs={"ignore_eos": True}, **conn)
        for n in (SHORT, LONG)
    }
    models: list[Any] = [chat, completion, llama, *chats.values(), *llamas.values()]

    def chat_stream(tokens: int) -> int:
        return _consume_sync(chats[tokens].stream(PROMPT))

    async def chat_astream(tokens: int) -> int:
        return await _consume(chats[tokens].astream(PROMPT))

    def llama_stream(tokens: int) -> int:
        return _consume_sync(llamas[tokens].stream_chat(messages))

    async def llama_astream(tokens: int) -> int:
        return await _consume(await llamas[tokens].astream_chat(messages))

    loop = asyncio.new_event_loop()
    try:
        figures = {
            "ChatCompactifAI.invoke": _least(lambda: chat.invoke(PROMPT)),
            "ChatCompactifAI.ainvoke": _least(_drive(loop, lambda: chat.ainvoke(PROMPT))),
            "ChatCompactifAI.stream per chunk": _per_chunk(chat_stream),
            "ChatCompactifAI.astream per chunk": _per_chunk(
                lambda n: loop.run_until_complete(chat_astream(n))
            ),
            "CompactifAI (LangChain).invoke": _least(lambda: completion.invoke(PROMPT)),
            "CompactifAI (LangChain).ainvoke": _least(
                _drive(loop, lambda: completion.ainvoke(PROMPT))
            ),
            "CompactifAI (LlamaIndex).chat": _least(lambda: llama.chat(messages)),
            "CompactifAI (LlamaIndex).achat": _least(_drive(loop, lambda: llama.achat(messages))),
            "CompactifAI (LlamaIndex).stream_chat per chunk": _per_chunk(llama_stream),
            "CompactifAI (LlamaIndex).astream_chat per chunk": _per_chunk(
                lambda n: loop.run_until_complete(llama_astream(n))
            ),
        }
        for model in models:
            loop.run_until_complete(model.aclose())
            model.close()
    finally:
        # As asyncio.run ends a loop: remaining tasks cancelled, then async generators shut down.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return figures


def main() -> int:
    from compactifai.emulator import Emulator

    # Tracing or a debug setting from the environment would add the framework's own calls.
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_DEBUG"):
        os.environ.pop(name, None)
    with Emulator(api_keys=("count-key",)) as emu:
        figures = measure(emu.base_url, emu.api_key)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
