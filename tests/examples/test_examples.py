"""Every example in ``examples/`` runs to the end against the emulator, as a user would run it.

Each runs as ``python examples/<name>.py`` in a subprocess with no ``COMPACTIFAI_*``
variables (so it starts its own emulator), all of them in parallel to keep this quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# name -> lines (or fragments) its output must contain
EXPECTED: dict[str, list[str]] = {
    "lcel_chain": [
        "answer: The Eiffel Tower is in Paris",
        "invoke: The Eiffel Tower is in Paris and was completed in 1889.",
        "stream: The Eiffel Tower is in Paris",
        "batch: Mount Fuji is 3776 metres high.",
        "batch: The Danube flows into the Black Sea.",
    ],
    "langchain_agent": [
        "  tool call: get_population({'city': 'Lyon'})",
        "  tool result: 522,250",
        "  tool call: get_population({'city': 'Bilbao'})",
        "  tool result: 346,405",
        "(8 messages in the thread)",  # the LangGraph checkpointer kept both turns
    ],
    "llama_index_rag": [
        "the bond dimension controls how much information the chain can keep",
        "  - tensor-networks.md (score",
    ],
    "llama_index_function_agent": [
        "tool call: multiply({'a': 6, 'b': 7})",
        "tool result: multiply({'a': 6, 'b': 7}) = 42",
        "final answer: ",
    ],
    "transcribe_and_ask": [
        "  [  8.0s -  12.0s] The project lead questioned the quarterly budget on Tuesday.",
        "A: The project lead questioned the quarterly budget on Tuesday.",
        "  from standup.wav at 8.0s-12.0s",
    ],
    "testing_offline": ["4 passed"],
    "responses_reasoning": [
        'langchain thinking: The user asks: "When was the Eiffel Tower completed?"',
        "langchain answer: The Eiffel Tower was completed in 1889.",
        "langchain stream: ....",  # the trace streams piece by piece before the answer
        "....The Eiffel Tower was completed in 1889.",
        "langchain tool call: GetWeather({'city': 'Paris'})",
        "langchain after the tool: The result of GetWeather is 18 C and sunny.",
        "langchain follow-up (only the new turn sent): The secret word is pineapple.",
        'llama-index thinking block: The user asks: "When was the Eiffel Tower completed?"',
        "llama-index answer: ",
        "llama-index stream: ....",
        "llama-index follow-up (only the new turn sent): Here is what I found. The secret word "
        "is pineapple.",
    ],
    "responses_api": [
        "answer: The Eiffel Tower is in Paris and was completed in 1889.",
        "stream: The Eiffel Tower is in Paris and was completed in 1889.",
        "stream status: completed",
        "tool call: get_population({'city': 'Lyon'})",
        'tool answer: The result of get_population is "522,250".',
        "continued: My name is Ada Lovelace.",
        "retrieved: True",
    ],
    "batch_eval": [
        "submitting 1,000 prompts as one batch job",
        "requests",  # progress lines
        "answers: 1,000 of 1,000",
        "last: What is 39 plus 24? -> ",
    ],
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPACTIFAI_")}
    env["CASSETTE_DIR"] = str(tmp / "cassettes")
    env["PYTHONUNBUFFERED"] = "1"
    env["COMPACTIFAI_EMULATOR_BATCH_PACE"] = "0.05"  # batch jobs change status quickly
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    tmp = tmp_path_factory.mktemp("examples")
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(EXAMPLES / f"{name}.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env=_env(tmp),
        )
        for name in EXPECTED
    }
    deadline = time.monotonic() + 120
    results: dict[str, Run] = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results[name] = Run(proc.returncode, out, err)
        yield results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_every_example_is_covered() -> None:
    on_disk = {p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert on_disk == set(EXPECTED)


def test_the_chain_example_shows_the_reasoning_models_thinking(runs: dict[str, Run]) -> None:
    lines = runs["lcel_chain"].stdout.splitlines()
    [thinking] = [x.removeprefix("thinking: ") for x in lines if x.startswith("thinking:")]
    [answer] = [x.removeprefix("answer: ") for x in lines if x.startswith("answer:")]
    assert thinking != "(none)"
    assert thinking not in answer  # the answer is the answer alone


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_runs_against_the_emulator(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, f"{name} failed:\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    for expected in EXPECTED[name]:
        assert expected in run.stdout, f"{expected!r} not in:\n{run.stdout}"
    if name != "testing_offline":
        assert (
            "(no COMPACTIFAI_API_KEY: using the offline emulator at http://127.0.0.1:" in run.stdout
        )


def test_examples_use_the_environment_when_a_key_is_set(tmp_path: Path) -> None:
    """With a key, an example starts no emulator: it talks to COMPACTIFAI_BASE_URL."""
    from compactifai.emulator import Emulator

    with Emulator(api_keys=("user-key",)) as emu:
        env = _env(tmp_path) | {
            "COMPACTIFAI_API_KEY": "user-key",
            "COMPACTIFAI_BASE_URL": emu.base_url,
        }
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "lcel_chain.py")],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
        served = [r.path for r in emu.requests]
    assert done.returncode == 0, done.stderr
    assert "offline emulator" not in done.stdout
    assert served.count("/v1/chat/completions") == 5  # thinking, invoke, stream, batch of two


README_RUNNER = """
import os, re, sys
from compactifai.emulator import Emulator

blocks = re.findall(r"```python\\n(.*?)```", open(sys.argv[1]).read(), flags=re.S)
assert len(blocks) >= 8, len(blocks)
with Emulator() as emu:
    os.environ["COMPACTIFAI_BASE_URL"] = emu.base_url
    os.environ["COMPACTIFAI_API_KEY"] = emu.api_key
    namespace = {}
    for number, block in enumerate(blocks):  # in order: later snippets reuse earlier names
        print(f"--- README python block {number}", flush=True)
        exec(compile(block, f"README block {number}", "exec"), namespace)
print("ALL README BLOCKS RAN")
"""


def test_readme_python_snippets_run_against_the_emulator(tmp_path: Path) -> None:
    """The copy-paste snippets in the README work as written (docs/ = the bundled docs)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in (EXAMPLES.parent / "compactifai" / "data" / "docs").glob("*.md"):
        (docs / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    # The recordings the Audio section names: an ID3-tagged body reads as mp3 to the emulator.
    mp3 = b"ID3\x04" + bytes(48_000)
    (tmp_path / "standup.mp3").write_bytes(mp3)
    for folder in ("calls", "lectures"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "monday.mp3").write_bytes(mp3)
    done = subprocess.run(
        [sys.executable, "-c", README_RUNNER, str(EXAMPLES.parent / "README.md")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "ALL README BLOCKS RAN" in done.stdout
