"""Small user programs whose process must print nothing but their answers, run by
``test_reliability_clean_exit.py`` in subprocesses: ``python exit_programs.py STEP...``.

Each step is what a new user writes: a model made inside ``asyncio.run`` (or a module-level
one used by several ``asyncio.run`` calls, or a loop closed by hand), called once, streamed,
or streamed and abandoned, with either framework, the sync API and the bare client. No step
closes anything itself except the ``explicit-*`` ones. ``COMPACTIFAI_BASE_URL`` and
``COMPACTIFAI_API_KEY`` name the emulator. Each step prints ``STEP: answer`` on stdout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from llama_index.core.llms import ChatMessage

from compactifai import AsyncCompactifAIClient
from langchain_compactifai import ChatCompactifAI
from langchain_compactifai import CompactifAI as CompletionLLM
from llama_index_compactifai import CompactifAI

PROMPT = "hi"
MAX_TOKENS = 64


def chat() -> ChatCompactifAI:
    return ChatCompactifAI(max_tokens=MAX_TOKENS)


def llm() -> CompactifAI:
    return CompactifAI(max_tokens=MAX_TOKENS)


MESSAGES = [ChatMessage(role="user", content=PROMPT)]
# Held until the process exits, used by several event loops in turn.
MODULE_CHAT = chat()
MODULE_LLM = llm()
MODULE_CLIENT = AsyncCompactifAIClient()


async def lc_ainvoke() -> str:
    return str((await chat().ainvoke(PROMPT)).content)


async def lc_astream() -> str:
    return "".join([str(chunk.content) async for chunk in chat().astream(PROMPT)])


async def lc_astream_abandoned() -> str:
    async for chunk in chat().astream(PROMPT):
        return f"first chunk {chunk.content!r}"  # the stream is left open
    return ""


async def lc_llm_ainvoke() -> str:
    return await CompletionLLM(max_tokens=MAX_TOKENS).ainvoke(PROMPT)


async def li_achat() -> str:
    return str((await llm().achat(MESSAGES)).message.content)


async def li_astream_chat() -> str:
    return "".join([item.delta or "" async for item in await llm().astream_chat(MESSAGES)])


async def li_acomplete() -> str:
    return (await llm().acomplete(PROMPT)).text


async def module_models() -> str:
    first = await MODULE_CHAT.ainvoke(PROMPT)
    second = await MODULE_LLM.achat(MESSAGES)
    return f"{first.content} / {second.message.content}"


async def module_client() -> str:
    reply = await MODULE_CLIENT.create_chat_completion(
        model="hypernova-60b",
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=MAX_TOKENS,
    )
    return str(reply.choices[0].message.content)


async def explicit_async_with() -> str:
    async with (
        chat() as model,
        CompletionLLM(max_tokens=MAX_TOKENS) as completion,
        llm() as other,
        AsyncCompactifAIClient() as client,
    ):
        models = await client.list_models()
        first = await model.ainvoke(PROMPT)
        second = await completion.ainvoke(PROMPT)
        third = await other.achat(MESSAGES)
    return f"{first.content} / {second} / {third.message.content} / {len(models)} models"


async def explicit_aclose() -> str:
    model, other = chat(), llm()
    try:
        return f"{(await model.ainvoke(PROMPT)).content} / {(await other.acomplete(PROMPT)).text}"
    finally:
        await model.aclose()
        await other.aclose()


ASYNC_STEPS: dict[str, Callable[[], Coroutine[Any, Any, str]]] = {
    "lc-ainvoke": lc_ainvoke,
    "lc-astream": lc_astream,
    "lc-astream-abandoned": lc_astream_abandoned,
    "lc-llm-ainvoke": lc_llm_ainvoke,
    "li-achat": li_achat,
    "li-astream-chat": li_astream_chat,
    "li-acomplete": li_acomplete,
    "module-models": module_models,
    "module-client": module_client,
    "explicit-async-with": explicit_async_with,
    "explicit-aclose": explicit_aclose,
}


def sync_steps() -> dict[str, Callable[[], str]]:
    return {
        "lc-invoke": lambda: str(chat().invoke(PROMPT).content),
        "lc-stream": lambda: "".join(str(c.content) for c in chat().stream(PROMPT)),
        "li-chat": lambda: str(llm().chat(MESSAGES).message.content),
        "li-stream-complete": lambda: "".join(i.delta or "" for i in llm().stream_complete(PROMPT)),
        "module-sync": lambda: str(MODULE_CHAT.invoke(PROMPT).content),
    }


def by_hand(step: Callable[[], Coroutine[Any, Any, str]]) -> str:
    """The low-level way: run_until_complete, then close() (no shutdown_asyncgens)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(step())
    finally:
        loop.close()


def in_asyncio_run(step: Callable[[], Coroutine[Any, Any, str]]) -> str:
    return asyncio.run(step())


def run(name: str) -> None:
    if name in ASYNC_STEPS:
        answer = in_asyncio_run(ASYNC_STEPS[name])
    elif name.startswith("by-hand:"):
        answer = by_hand(ASYNC_STEPS[name.removeprefix("by-hand:")])
    else:
        answer = sync_steps()[name]()
    assert answer.strip(), f"{name}: empty answer"
    print(f"{name}: {answer}", flush=True)


def main(argv: list[str]) -> None:
    if sys.flags.dev_mode:
        # Development mode also reports slow callbacks (a first call's imports); those are no
        # leak. What is checked here are errors, which asyncio logs at ERROR.
        logging.getLogger("asyncio").setLevel(logging.ERROR)
    steps: list[str] = []
    for arg in argv:
        if arg == "all-async":
            steps += list(ASYNC_STEPS)
        elif arg == "all-sync":
            steps += list(sync_steps())
        elif arg == "all-by-hand":
            steps += [f"by-hand:{name}" for name in ASYNC_STEPS]
        else:
            steps.append(arg)
    for name in steps:
        run(name)
    print(f"{len(steps)} steps answered")


if __name__ == "__main__":
    main(sys.argv[1:])
