"""Soak: thousands of async calls with random faults; run with ``pytest -m soak``.

Every call must end in the right answer or a typed error; open connections stay bounded and
memory does not grow. The emulator runs in a child process so that its own bookkeeping
(usage ledger, request log) does not count against the client's memory.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIError
from tests.reliability.surfaces import MODEL
from tests.transport.servers import CountingProxy

pytestmark = pytest.mark.soak

TOTAL_CALLS = int(os.environ.get("SOAK_CALLS", "5000"))
CONCURRENCY = 32
PROMPTS = [f"What does CompactifAI compress in model number {i}?" for i in range(8)]
FAULTS = [
    {"kind": "status", "status": 429, "retry_after": 0, "probability": 0.04, "count": None},
    {"kind": "status", "status": 503, "retry_after": 0, "probability": 0.04, "count": None},
    {"kind": "drop_stream", "after_chunks": 2, "probability": 0.03, "count": None},
]


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[tuple[str, str]]:
    key = "soak-key"
    process = subprocess.Popen(
        [sys.executable, "-m", "compactifai.emulator", "--port", "0", "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+/v1)", line)
        assert match, f"emulator did not print its URL: {line!r}"
        yield match.group(1), key
    finally:
        process.terminate()
        process.wait(timeout=10)


def _transport_error_name(exc: CompactifAIError) -> str:
    """The transport's own class of an error (LangChain's adapter raises subclasses of it)."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "compactifai.errors":
            return cls.__name__
    return type(exc).__name__


async def _expected_answers(base_url: str, key: str) -> dict[str, str]:
    async with AsyncCompactifAIClient(base_url=base_url, api_key=key) as client:
        answers = {}
        for prompt in PROMPTS:
            reply = await client.create_chat_completion(
                model=MODEL, messages=[{"role": "user", "content": prompt}], temperature=0
            )
            answers[prompt] = reply.choices[0].message.content or ""
        return answers


async def test_soak_random_faults_every_call_ends_correctly(
    emulator_process: tuple[str, str],
) -> None:
    base_url, key = emulator_process
    expected = await _expected_answers(base_url, key)
    root = base_url.removesuffix("/v1")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as control:
        for fault in FAULTS:
            (await control.post(f"{root}/_emulator/faults", json=fault)).raise_for_status()

    # The plain client goes through a proxy that counts its connections on the wire.
    proxy = CountingProxy(base_url)
    client = AsyncCompactifAIClient(base_url=proxy.url, api_key=key, max_retries=2)
    from llama_index.core.llms import ChatMessage

    from langchain_compactifai import ChatCompactifAI
    from llama_index_compactifai import CompactifAI

    chat = ChatCompactifAI(
        model=MODEL, base_url=base_url, api_key=key, temperature=0, max_retries=2
    )
    llm = CompactifAI(model=MODEL, base_url=base_url, api_key=key, temperature=0, max_retries=2)
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    peak_connections = 0
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one_call(i: int) -> None:
        nonlocal peak_connections
        prompt = PROMPTS[i % len(PROMPTS)]
        surface = ("client", "langchain", "llamaindex")[i % 3]
        streaming = i % 2 == 0
        async with semaphore:
            try:
                if surface == "client":
                    params: dict[str, Any] = {
                        "model": MODEL,
                        "messages": [{"role": "user", "content": prompt}],
                        "temperature": 0,
                    }
                    if streaming:
                        text = "".join(
                            [
                                c.choices[0].delta.content or ""
                                async for c in client.stream_chat_completion(**params)
                                if c.choices
                            ]
                        )
                    else:
                        text = (await client.create_chat_completion(**params)).choices[
                            0
                        ].message.content or ""
                elif surface == "langchain":
                    if streaming:
                        text = "".join([str(c.content) async for c in chat.astream(prompt)])
                    else:
                        text = str((await chat.ainvoke(prompt)).content)
                else:
                    messages = [ChatMessage(role="user", content=prompt)]
                    if streaming:
                        text = ""
                        async for item in await llm.astream_chat(messages):
                            text += item.delta or ""
                    else:
                        text = str((await llm.achat(messages)).message.content)
            except CompactifAIError as exc:
                outcomes[_transport_error_name(exc)] += 1
                return
            except Exception as exc:  # anything untyped is a failure of the rule
                wrong.append(f"untyped {type(exc).__name__}: {exc}")
                return
            finally:
                peak_connections = max(peak_connections, proxy.open_now)
            if text == expected[prompt]:
                outcomes["ok"] += 1
            else:
                wrong.append(
                    f"{surface} stream={streaming}: {text[:60]!r} != {expected[prompt][:60]!r}"
                )

    async def calls(start: int, stop: int) -> None:
        # In batches: one gather over thousands of calls keeps every finished task (and the
        # context each one carries) alive until it returns, which would count as growth.
        for batch_start in range(start, stop, 200):
            batch = range(batch_start, min(batch_start + 200, stop))
            await asyncio.gather(*(one_call(i) for i in batch))

    warmup = min(600, TOTAL_CALLS // 5)
    await calls(0, warmup)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    await calls(warmup, TOTAL_CALLS)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    await client.aclose()
    await chat.aclose()
    await llm.aclose()
    proxy.close()

    assert wrong == [], wrong[:5]
    assert sum(outcomes.values()) == TOTAL_CALLS
    assert outcomes["ok"] > TOTAL_CALLS * 0.9, outcomes
    # Typed errors only where faults outlasted the retries (a dropped body counts as a connection error).
    allowed = {
        "IncompleteStreamError",
        "RateLimitError",
        "InternalServerError",
        "APIConnectionError",
    }
    assert set(outcomes) - {"ok"} <= allowed, outcomes
    assert peak_connections <= CONCURRENCY
    assert growth < 4 * 1024 * 1024, (
        f"memory grew by {growth / 1024:.0f} KiB over {TOTAL_CALLS - warmup} calls"
    )
