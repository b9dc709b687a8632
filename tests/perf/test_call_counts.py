"""Work per call and per streamed chunk stays under a ceiling: counted, never timed.

``python -m bench.call_counts`` counts the Python function calls the calling thread makes for
one non-streaming call and for one streamed chunk of each integration, against the in-process
emulator (see that module for why the counts are deterministic). A change that adds work to
every call or every chunk (a lookup repeated per call, one more wrapper per chunk) raises a
count past its ceiling and fails here; a shared, busy machine cannot make it flap.

The ceilings are the counts measured on Python 3.10-3.13 when they were last set, plus
about 15 % (the versions' standard libraries differ a little). After a change that adds
necessary work, measure again and raise the ceiling here, saying why in the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Python function calls, the one place to adjust: {figure: (measured, ceiling)}.
# Measured 2026-12-04 (Python 3.11.7; 3.10 and 3.13 within a few calls), after issue 23.
CEILINGS: dict[str, tuple[float, float]] = {
    "ChatCompactifAI.invoke": (984, 1130),
    "ChatCompactifAI.ainvoke": (660, 760),
    "ChatCompactifAI.stream per chunk": (108, 124),
    "ChatCompactifAI.astream per chunk": (69, 80),
    "CompactifAI (LangChain).invoke": (933, 1075),
    "CompactifAI (LangChain).ainvoke": (619, 712),
    "CompactifAI (LlamaIndex).chat": (906, 1042),
    "CompactifAI (LlamaIndex).achat": (567, 652),
    "CompactifAI (LlamaIndex).stream_chat per chunk": (104, 120),
    "CompactifAI (LlamaIndex).astream_chat per chunk": (65, 75),
}


@pytest.fixture(scope="module")
def counts() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.call_counts"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def test_every_integration_path_is_counted(counts: dict[str, float]) -> None:
    assert set(counts) == set(CEILINGS)


@pytest.mark.parametrize("figure", sorted(CEILINGS))
def test_calls_stay_under_the_ceiling(counts: dict[str, float], figure: str) -> None:
    measured, ceiling = CEILINGS[figure]
    assert counts[figure] > 0
    assert counts[figure] <= ceiling, (
        f"{figure}: {counts[figure]} Python calls, ceiling {ceiling} (measured {measured} when "
        "set). Find the added per-call work (cProfile, `python -m bench.call_counts`), or raise "
        "the ceiling in tests/perf/test_call_counts.py if it is needed."
    )
