"""What the garbage collector does in each 256-call burst of the concurrency figure.

    python -m bench.gc_bursts "CompactifAI (LangChain)"     # a subject of bench.subjects
    python -m bench.gc_bursts "BaseLLM floor"               # LangChain's BaseLLM on raw aiohttp

For each burst after a warm-up call: wall and CPU seconds, the collections of the young
generation, and how long each full collection took. ``bench.run`` reports the median of three
bursts a round; whether a full collection (tens of milliseconds over a LangChain heap) falls in
two of them or in one decides that median, and this shows where they fall and why.

"BaseLLM floor" is the least any LangChain completion model on aiohttp can do: a ``BaseLLM``
whose ``_agenerate`` is one raw aiohttp POST and ``json.loads``; what an integration adds to
the figure is its distance from this floor, not from raw aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.run import API_KEY, emulator
from bench.subjects import SUBJECTS, Target, _raw_request

FLOOR = "BaseLLM floor"


def _floor(target: Target) -> Callable[[], Awaitable[Any]]:
    import aiohttp
    from langchain_core.language_models.llms import BaseLLM
    from langchain_core.outputs import Generation, LLMResult

    url, headers, body = _raw_request(target, stream=False)
    sessions: list[aiohttp.ClientSession] = []

    class FloorLLM(BaseLLM):
        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
            raise NotImplementedError("async only")

        async def _agenerate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
            if not sessions:
                sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)))
            async with sessions[0].post(url, data=body, headers=headers) as response:
                data = json.loads(await response.read())
            text = data["choices"][0]["message"]["content"]
            return LLMResult(generations=[[Generation(text=text)]])

    llm = FloorLLM()

    async def call() -> Any:
        return await llm.ainvoke("Hi")

    async def aclose() -> None:
        for session in sessions:
            await session.close()

    call.aclose = aclose  # type: ignore[attr-defined]
    return call


async def _bursts(name: str, base_url: str, bursts: int, concurrency: int) -> None:
    target = Target(base_url, API_KEY, 10)
    call = _floor(target) if name == FLOOR else SUBJECTS[name].make_async(target)
    collections: list[tuple[int, float]] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections.append((info["generation"], time.perf_counter() - started[0]))

    await call()
    gc.callbacks.append(watch)
    try:
        for burst in range(bursts):
            collections.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(call() for _ in range(concurrency)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            young = sum(1 for generation, _ in collections if generation == 0)
            full = [
                f"{seconds * 1000:.0f} ms" for generation, seconds in collections if generation == 2
            ]
            print(
                f"burst {burst}: wall {wall:.3f} s, cpu {cpu:.3f} s, "
                f"young collections {young}, full: {', '.join(full) or '-'}"
            )
    finally:
        gc.callbacks.remove(watch)
        aclose = getattr(call, "aclose", None)  # the raw aiohttp subjects own a session
        if aclose is not None:
            await aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gc_bursts", description=__doc__)
    parser.add_argument("subject", choices=[*SUBJECTS, FLOOR])
    parser.add_argument("--bursts", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    print(f"{args.subject}: {gc.get_threshold()=}")
    with emulator(args.latency) as base_url:
        asyncio.run(_bursts(args.subject, base_url, args.bursts, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
