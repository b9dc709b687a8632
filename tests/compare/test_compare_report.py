"""Reports built from hand-made observations: every number is known in advance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compactifai.compare import (
    SCHEMA,
    ComparisonReport,
    ModelPair,
    Observation,
    Price,
    WorkItem,
)

ROOT = Path(__file__).resolve().parents[2]
SLIM, ORIG = "cai-llama-3-3-70b-slim", "llama-3-3-70b"
ITEMS = [WorkItem("q1", "q1", "What is A?"), WorkItem("q2", "q2", "What is B?"),
         WorkItem("q3", "q3", "Extract"), WorkItem("q4", "q4", "What is D?")]  # fmt: skip


def obs(model: str, item: str, text: str = "", **kw: Any) -> Observation:
    return Observation(model=model, item_id=item, text=text, **kw)


def build() -> ComparisonReport:
    observations = [
        obs(ORIG, "q1", "Paris is the capital", ttft=0.1, latency=1.0, input_tokens=10, output_tokens=20),
        obs(SLIM, "q1", "Paris is the capital", ttft=0.05, latency=0.5, input_tokens=10, output_tokens=20),
        obs(ORIG, "q2", "the cat sat", ttft=0.2, latency=2.0, input_tokens=10, output_tokens=40),
        obs(SLIM, "q2", "the cat ran", ttft=0.1, latency=1.0, input_tokens=10, output_tokens=30),
        obs(ORIG, "q3", "{}", structured={"city": "Paris", "n": 3}, ttft=0.3, latency=3.0,
            input_tokens=10, output_tokens=10),
        obs(SLIM, "q3", "{}", structured={"city": "Paris", "n": 4}, ttft=0.15, latency=1.5,
            input_tokens=10, output_tokens=10),
        obs(ORIG, "q4", "fine", ttft=0.4, latency=4.0, input_tokens=10, output_tokens=30),
        obs(SLIM, "q4", error="RateLimitError (429): slow down", latency=0.01),
    ]  # fmt: skip
    return ComparisonReport.build(
        "prompts",
        [SLIM, ORIG],
        ITEMS,
        observations,
        [ModelPair(SLIM, ORIG)],
        {ORIG: Price(1.0, 2.0), SLIM: Price(0.5, 1.0)},
        concurrency=2,
    )


def test_model_stats() -> None:
    report = build()
    orig, slim = report.stats(ORIG), report.stats(SLIM)
    assert (orig.kind, slim.kind) == ("original", "slim")
    assert (orig.requests, orig.errors, slim.requests, slim.errors) == (4, 0, 4, 1)
    assert orig.latency_median == pytest.approx(2.5)
    assert orig.latency_p95 == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert orig.ttft_median == pytest.approx(0.25)
    assert slim.latency_median == pytest.approx(1.0)  # over the 3 successful requests only
    assert slim.latency_p95 == pytest.approx(1.45)  # 1.0 + 0.9 * (1.5 - 1.0)
    assert (orig.input_tokens, orig.output_tokens) == (40, 100)
    assert (slim.input_tokens, slim.output_tokens) == (30, 60)
    assert orig.output_tokens_per_second == pytest.approx(100 / 10.0)
    assert slim.output_tokens_per_second == pytest.approx(60 / 3.0)
    assert orig.cost == pytest.approx(40 / 1e6 * 1.0 + 100 / 1e6 * 2.0)
    assert slim.cost == pytest.approx(30 / 1e6 * 0.5 + 60 / 1e6 * 1.0)


def test_pair_stats_and_item_agreement() -> None:
    pair = build().pairs[0]
    assert (pair.candidate, pair.reference, pair.compared) == (SLIM, ORIG, 3)
    assert pair.exact_match_rate == pytest.approx(1 / 3)  # q1 only
    # q1: 1.0, q2: F1 of "the cat ran" vs "the cat sat" = 2/3, q3: JSON texts identical -> 1.0
    assert pair.token_overlap_mean == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert pair.structured == 1
    assert pair.field_agreement_mean == pytest.approx(0.5)
    q3 = next(a for a in pair.items if a.item_id == "q3")
    assert [(f.path, f.equal) for f in q3.fields] == [("city", True), ("n", False)]
    assert pair.cost_saving == pytest.approx(1 - (0.000015 + 0.00006) / (0.00004 + 0.0002))


def test_worst_disagreements_come_first() -> None:
    report = build()
    assert [i.id for i in report.worst_first()] == ["q4", "q3", "q2", "q1"]
    assert report.item_score("q4") == -1.0
    assert report.item_score("q2") == pytest.approx(2 / 3)
    assert report.errors == 1


REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "workload", "started", "duration_s", "concurrency", "models", "pairs", "items"],
    "properties": {
        "schema": {"const": SCHEMA},
        "workload": {"enum": ["prompts", "langchain", "llama_index"]},
        "concurrency": {"type": "integer", "minimum": 1},
        "models": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["model", "kind", "requests", "errors", "ttft_s", "latency_s",
                             "input_tokens", "output_tokens", "output_tokens_per_second", "cost"],
                "properties": {
                    "kind": {"enum": ["slim", "original"]},
                    "ttft_s": {"$ref": "#/$defs/dist"},
                    "latency_s": {"$ref": "#/$defs/dist"},
                    "input_tokens": {"type": "integer"},
                    "output_tokens": {"type": "integer"},
                    "output_tokens_per_second": {"type": ["number", "null"]},
                    "cost": {"type": ["number", "null"]},
                },
            },
        },
        "pairs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["candidate", "reference", "compared", "exact_match", "token_overlap",
                             "field_agreement", "cost"],
            },
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "input", "score", "answers", "agreement"],
                "properties": {
                    "answers": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["text", "structured", "ttft_s", "latency_s",
                                         "input_tokens", "output_tokens", "error"],
                        },
                    }
                },
            },
        },
    },
    "$defs": {
        "dist": {
            "type": "object",
            "required": ["median", "p95"],
            "properties": {"median": {"type": ["number", "null"]}, "p95": {"type": ["number", "null"]}},
        }
    },
}  # fmt: skip


def test_json_shape() -> None:
    data = json.loads(build().to_json())
    jsonschema.validate(data, REPORT_SCHEMA)
    assert [m["model"] for m in data["models"]] == [SLIM, ORIG]
    assert [i["id"] for i in data["items"]] == ["q4", "q3", "q2", "q1"]
    assert data["items"][0]["answers"][SLIM]["error"].startswith("RateLimitError (429)")
    assert data["pairs"][0]["cost"]["saving"] == pytest.approx(build().pairs[0].cost_saving)
    assert data["items"][1]["agreement"][0]["fields"][1] == {
        "path": "n", "candidate": 4, "reference": 3, "equal": False
    }  # fmt: skip


def test_a_missing_observation_is_refused() -> None:
    with pytest.raises(ValueError, match="no observation"):
        ComparisonReport.build("prompts", [SLIM], ITEMS[:1], [], [])


def test_the_library_needs_neither_rich_nor_a_framework() -> None:
    import subprocess
    import sys

    # Make the optional packages unimportable, then use the library.
    code = (
        "import sys\n"
        "for name in ('rich', 'langchain_core', 'llama_index', 'langchain_compactifai'):\n"
        "    sys.modules[name] = None\n"
        "from tests.compare.test_compare_report import build\n"
        "report = build()\n"
        "assert 'latency-chart' in report.to_html() and report.to_json()\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "ok"
