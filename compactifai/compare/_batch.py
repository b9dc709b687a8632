"""``compare --batch``: each model answers the whole prompt set as one Batch API job.

The jobs run concurrently; the subjects then hand each item its job's answer, so the report
compares answers, tokens and errors as usual. A batch's requests have no timing of their own:
each answer's latency is its job's duration, and there is no time to first token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from compactifai._client import AsyncCompactifAIClient
from compactifai.batches import AsyncBatchRunner, BatchRequestError, BatchResult, PollPolicy
from compactifai.compare.report import WorkItem
from compactifai.compare.workloads import (
    Meter,
    ProgressCallback,
    Subject,
    prompt_answer,
    prompt_params,
)
from compactifai.types import Batch, ChatCompletion

__all__ = ["batch_subjects"]


def _subject(results: Mapping[str, BatchResult], seconds: float) -> Subject:
    async def run(item: WorkItem, meter: Meter) -> Any:
        meter.started -= seconds
        result = results[item.id]
        if isinstance(result, BatchRequestError):
            raise result.error or result
        assert isinstance(result, ChatCompletion)
        if result.usage is not None:
            meter.add_usage(result.usage.prompt_tokens, result.usage.completion_tokens)
        message = result.choices[0].message
        calls = []
        for call in message.tool_calls or []:
            try:
                arguments = json.loads(call.function.arguments or "{}")
            except ValueError:
                arguments = call.function.arguments
            calls.append({"name": call.function.name, "arguments": arguments})
        return prompt_answer(item.input, message.content or "", calls)

    return run


async def batch_subjects(
    client: AsyncCompactifAIClient,
    models: Sequence[str],
    items: Sequence[WorkItem],
    *,
    max_tokens: int | None,
    temperature: float | None,
    on_progress: ProgressCallback | None = None,
    poll: PollPolicy | None = None,
) -> dict[str, Subject]:
    """Run one job per model (all at once); a subject per model serving its answers."""
    runner = AsyncBatchRunner(client, poll)
    done: dict[str, int] = {}
    total = len(items) * len(models)

    def progress(model: str) -> Any:
        def report(batch: Batch) -> None:
            counts = batch.request_counts
            done[model] = (counts.completed + counts.failed) if counts else 0
            if on_progress is not None:
                on_progress(sum(done.values()), total)

        return report

    async def job(model: str) -> Subject:
        bodies = [prompt_params(item.input, model, max_tokens, temperature) for item in items]
        started = time.perf_counter()
        results = await runner.run(bodies, on_progress=progress(model))
        answers = {item.id: result for item, result in zip(items, results, strict=True)}
        return _subject(answers, time.perf_counter() - started)

    subjects = await asyncio.gather(*(job(model) for model in models))
    return dict(zip(models, subjects, strict=True))
