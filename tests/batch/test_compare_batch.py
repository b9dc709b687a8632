"""``compare --batch``: one job per model, the same answers as the streamed comparison."""

from __future__ import annotations

import pytest

from compactifai.compare.api import compare_prompts
from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore

pytestmark = pytest.mark.emulator


def test_compare_batch_makes_one_job_per_model(emulator: Emulator, store: BatchStore) -> None:
    models = [m.id for m in emulator.state.models[:2]]
    prompts = [f"What is {i} times three?" for i in range(12)] + [
        {"prompt": "Give a JSON object with a key 'a'.", "id": "json", "response_format": "json"}
    ]
    connection = {"api_key": emulator.api_key, "base_url": emulator.base_url}
    progress: list[tuple[int, int]] = []
    batched = compare_prompts(
        prompts, models, batch=True, on_progress=lambda d, t: progress.append((d, t)), **connection
    )
    jobs = store.batches()
    assert sorted(job["model"] for job in jobs) == sorted(models)
    assert all(job["request_counts"]["total"] == len(prompts) for job in jobs)
    streamed = compare_prompts(prompts, models, **connection)
    for key, observation in batched.observations.items():
        assert observation.text == streamed.observations[key].text
        assert observation.structured == streamed.observations[key].structured
        assert observation.input_tokens == streamed.observations[key].input_tokens
        assert observation.ttft is None
    assert progress and progress[-1][1] == len(prompts) * len(models)
