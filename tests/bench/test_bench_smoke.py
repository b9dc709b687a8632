"""The benchmark runs end to end at a tiny size and writes a well-formed report.

Figures on shared machines are noisy, so nothing here checks them against the targets: the
full run is done by hand (``python -m bench.run``) and recorded in ``bench/README.md``. The
alternatives (langchain-openai, OpenAILike) are optional here: ``--only ours,httpx``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "-m", "bench.run"]
OURS = ("ChatCompactifAI", "CompactifAI (LangChain)", "CompactifAI (LlamaIndex)")
STREAMING = ("ChatCompactifAI", "CompactifAI (LlamaIndex)", "httpx (raw)")
COMMON_METRICS = ("call_cpu_us", "concurrent_wall_s", "import_s", "memory_growth_kib")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("bench") / "tiny.json"
    out = subprocess.run(
        [*BENCH, "--size", "tiny", "--only", "ours,httpx", "--json", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "CPU/call" in out.stdout  # the table was printed
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_report_covers_ours_and_the_httpx_floor(report: dict[str, Any]) -> None:
    assert report["size"] == "tiny"
    assert set(report["results"]) == {*OURS, "httpx (raw)"}
    assert report["unavailable"] == {}


@pytest.mark.parametrize("name", [*OURS, "httpx (raw)"])
def test_each_figure_is_a_positive_number(report: dict[str, Any], name: str) -> None:
    result = report["results"][name]
    for metric in COMMON_METRICS:
        if metric == "memory_growth_kib":
            # Growth may be zero or negative; it must still be a number.
            assert isinstance(result[metric], (int, float)), metric
        else:
            assert _positive(result[metric]), (metric, result[metric])
    if name in STREAMING:
        assert _positive(result["chunk_cpu_us"])
        assert result["stream_chunks_yielded"] >= report["parameters"]["stream_chunks"]
    else:
        assert "chunk_cpu_us" not in result
    assert len(result["concurrent_bursts_s"]) == report["parameters"]["bursts"] + 1


def test_imports_and_targets_are_evaluated(report: dict[str, Any]) -> None:
    imports = report["imports"]
    for module in ("langchain_compactifai", "llama_index_compactifai", "httpx"):
        assert _positive(imports[module])
    for baseline in ("langchain_core chat models", "llama_index.core.llms"):
        assert _positive(imports[baseline])
    checks = report["evaluation"]["checks"]
    assert {c["target"] for c in checks} >= {
        "import langchain_compactifai vs langchain_core.language_models.chat_models alone",
        "import llama_index_compactifai vs llama_index.core.llms alone",
    }
    for check in checks:
        assert check["met"] in (True, False, None)
