"""compare_prompts over a scripted MockTransport server (timings, tokens, concurrency, errors)
and over the live emulator (pairing from the catalog, structured answers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient
from compactifai.compare import (
    ModelPair,
    PromptItem,
    acompare_prompts,
    compare_prompts,
    default_prompts_path,
    load_prompts,
)
from compactifai.emulator import Emulator

from .conftest import ORIGINAL, SLIM

MODELS_BODY = {
    "object": "list",
    "data": [
        {"id": SLIM, "object": "model", "owned_by": "multiverse_computing"},
        {"id": ORIGINAL, "object": "model", "owned_by": "meta"},
    ],
}


def _chunk(model: str, content: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
    }
    body["choices"] = (
        [] if usage else [{"index": 0, "delta": {"content": content}, "finish_reason": None}]
    )
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


class ScriptedServer:
    """Answers per model: the original waits 40 ms before its first token, the slim 10 ms;
    both then stream 4 words 5 ms apart. Tracks how many streams are open at once."""

    first_token_delay = {ORIGINAL: 0.04, SLIM: 0.01}

    def __init__(self, fail_model: str | None = None) -> None:
        self.open = 0
        self.peak = 0
        self.bodies: list[dict[str, Any]] = []
        self.fail_model = fail_model

    def answer(self, model: str, prompt: str) -> list[str]:
        if model == SLIM and "cat" in prompt:
            return ["The", " cat", " ran", "."]
        return ["The", " cat", " sat", "."]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=MODELS_BODY)
        body = json.loads(request.content)
        self.bodies.append(body)
        model = body["model"]
        if model == self.fail_model:
            return httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}})
        words = self.answer(model, body["messages"][-1]["content"])

        async def stream() -> AsyncIterator[bytes]:
            # Open from the request until [DONE] (the client stops reading there).
            self.open += 1
            self.peak = max(self.peak, self.open)
            await asyncio.sleep(self.first_token_delay[model])
            for word in words:
                yield _chunk(model, word)
                await asyncio.sleep(0.005)
            yield _chunk(
                model,
                usage={
                    "prompt_tokens": 7,
                    "completion_tokens": len(words),
                    "total_tokens": 7 + len(words),
                },
            )
            self.open -= 1
            yield b"data: [DONE]\n\n"

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

    def client(self) -> AsyncCompactifAIClient:
        return AsyncCompactifAIClient(
            api_key="k", base_url="https://api.test.invalid/v1", max_retries=0,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(self)),
        )  # fmt: skip


async def test_latency_tokens_and_agreement_from_a_scripted_server() -> None:
    server = ScriptedServer()
    progress: list[tuple[int, int]] = []
    report = await acompare_prompts(
        ["Tell me about the cat.", "Tell me about the dog.", "A bird?", "A fish?"],
        model=ORIGINAL,  # paired with its slim model from the (scripted) catalog
        client=server.client(),
        concurrency=2,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert report.models == [SLIM, ORIGINAL]
    assert [(p.candidate, p.reference) for p in report.pairs] == [(SLIM, ORIGINAL)]
    slim, orig = report.stats(SLIM), report.stats(ORIGINAL)
    # TTFT reflects each model's first-token delay; total latency adds the streamed words.
    # (Medians of 4: the very first request of a process may pay a one-off warm-up.)
    assert 0.01 <= slim.ttft_median < 0.035 <= orig.ttft_median  # type: ignore[operator]
    assert orig.latency_median > orig.ttft_median + 0.015  # type: ignore[operator]
    assert (slim.input_tokens, slim.output_tokens) == (28, 16)
    assert slim.output_tokens_per_second == pytest.approx(16 / sum(
        report.observation(SLIM, i.id).latency or 0 for i in report.items))  # fmt: skip
    assert report.observation(SLIM, "1").text == "The cat ran."
    pair = report.pairs[0]
    assert pair.exact_match_rate == 0.75
    assert pair.token_overlap_mean == pytest.approx((2 / 3 + 3) / 4)
    assert [i.id for i in report.worst_first()] == ["1", "2", "3", "4"]
    assert report.item_score("1") == pytest.approx(2 / 3)
    assert progress[-1] == (8, 8) and [d for d, _ in progress] == list(range(1, 9))
    # Requests stream with usage and temperature 0.
    assert all(
        b["stream"] and b["stream_options"] == {"include_usage": True} for b in server.bodies
    )
    assert all(b["temperature"] == 0 for b in server.bodies)


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_concurrency_is_bounded(concurrency: int) -> None:
    server = ScriptedServer()
    await acompare_prompts(
        [f"prompt {i}" for i in range(6)], [SLIM, ORIGINAL], client=server.client(),
        concurrency=concurrency, check_catalog=False,
    )  # fmt: skip
    assert len(server.bodies) == 12
    assert server.peak == concurrency


async def test_failures_are_recorded_per_request() -> None:
    server = ScriptedServer(fail_model=ORIGINAL)
    report = await acompare_prompts(
        ["a", "b"], [SLIM, ORIGINAL], client=server.client(), check_catalog=False
    )
    assert report.stats(ORIGINAL).errors == 2
    assert report.stats(SLIM).errors == 0
    error = report.observation(ORIGINAL, "1").error or ""
    assert error.startswith("InternalServerError (500)") and "boom" in error
    assert report.pairs[0].compared == 0
    assert report.pairs[0].exact_match_rate is None


def test_options_reach_the_request() -> None:
    server = ScriptedServer()
    compare_prompts(
        [{"id": "x", "prompt": "hi", "max_tokens": 5}, "bye"],
        [SLIM, ORIGINAL],
        client=server.client(),
        system="Be brief.",
        max_tokens=64,
        check_catalog=False,
    )
    by_prompt = {b["messages"][-1]["content"]: b for b in server.bodies}
    assert by_prompt["hi"]["max_tokens"] == 5 and by_prompt["bye"]["max_tokens"] == 64
    assert by_prompt["hi"]["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_the_sync_api_refuses_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="acompare_"):
        compare_prompts(["x"], [SLIM, ORIGINAL], api_key="k", base_url="http://x.invalid")


def test_prompt_files(tmp_path: Any) -> None:
    bundled = load_prompts()
    assert len(bundled) == 8
    assert (
        default_prompts_path().read_text()
        == (
            __import__("pathlib").Path(__file__).parents[2] / "examples" / "prompts.jsonl"
        ).read_text()
    )
    assert sum(p.response_format is not None for p in bundled) == 2
    path = tmp_path / "p.jsonl"
    path.write_text(
        '"plain"\n\n# comment\n{"prompt": "q", "system": "s", "response_format": "json"}\n'
    )
    plain, obj = load_prompts(path)
    assert plain == PromptItem("1", ({"role": "user", "content": "plain"},))
    assert obj.response_format == {"type": "json_object"}
    assert obj.messages[0] == {"role": "system", "content": "s"} and obj.label == "q"
    path.write_text('{"nope": 1}\n')
    with pytest.raises(ValueError, match=r"p.jsonl:1: .*'prompt'"):
        load_prompts(path)


@pytest.mark.emulator
def test_bundled_prompts_on_the_emulator(live: Emulator) -> None:
    report = compare_prompts(
        model=SLIM, api_key=live.api_key, base_url=live.base_url, concurrency=4
    )
    assert report.models == [SLIM, ORIGINAL]
    assert [p.label for p in (ModelPair(SLIM, ORIGINAL),)] == [f"{SLIM} vs {ORIGINAL}"]
    assert report.errors == 0
    for stats in report.model_stats:
        assert stats.requests == 8
        assert stats.input_tokens > 0 and stats.output_tokens > 0
        assert 0 < stats.ttft_median <= stats.latency_median  # type: ignore[operator]
    # The emulator's usage ledger saw exactly what the report counted.
    ledger_in = sum(r.input_tokens for r in live.ledger.records if r.model == SLIM)
    assert ledger_in == report.stats(SLIM).input_tokens
    structured = [o for o in report.observations.values() if o.structured is not None]
    assert len(structured) == 4  # 2 JSON prompts x 2 models
    city = report.observation(ORIGINAL, "extract-city").structured
    assert set(city) == {"city", "company"}
    assert report.pairs[0].structured == 2
