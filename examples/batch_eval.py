"""Evaluate 1,000 prompts through CompactifAI's Batch API with one LangChain call.

``ChatCompactifAI(use_batch_api=True).batch(inputs)`` uploads the 1,000 requests as one job,
polls it (printing progress), and returns one ``AIMessage`` per input, in order; a request
the server rejects comes back as that input's exception with ``return_exceptions=True``.

Run: python examples/batch_eval.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

from _server import compactifai_or_emulator
from langchain_core.messages import AIMessage

from compactifai.types import Batch
from langchain_compactifai import ChatCompactifAI

PROMPTS = [f"What is {a} plus {b}?" for a in range(40) for b in range(25)]  # 1,000


def show_progress(batch: Batch) -> None:
    counts = batch.request_counts
    done = (counts.completed + counts.failed) if counts else 0
    total = counts.total if counts and counts.total else len(PROMPTS)
    print(f"  {batch.id}: {batch.status:<11} {done:>4}/{total} requests", flush=True)


def main() -> None:
    llm = ChatCompactifAI(
        model="cai-mistral-small-3-1-slim",
        temperature=0,
        max_tokens=64,
        use_batch_api=True,
        batch_poll_interval=0.25,  # first checks come quickly, then back off to 30 s
        batch_on_progress=show_progress,
    )
    print(f"submitting {len(PROMPTS):,} prompts as one batch job")
    answers = llm.batch(PROMPTS, return_exceptions=True)
    ok = [a for a in answers if isinstance(a, AIMessage)]
    tokens = sum((a.usage_metadata or {}).get("total_tokens", 0) for a in ok)
    print(f"answers: {len(ok):,} of {len(answers):,}, {tokens:,} tokens")
    print(f"first: {PROMPTS[0]} -> {ok[0].content}")
    print(f"last: {PROMPTS[-1]} -> {ok[-1].content}")


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
