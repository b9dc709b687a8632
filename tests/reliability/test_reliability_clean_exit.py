"""Async programs end cleanly: no "Unclosed client session", "Unclosed connector" or
"unclosed transport" at exit, however their event loop ends (issue 27).

The programs (``exit_programs.py``) run as new users write them, each process against this
module's emulator: one ``asyncio.run`` and exit, several ``asyncio.run`` calls in a row
(each on a fresh pool), a loop closed by hand, the sync API; both frameworks, the bare
client, streams finished and abandoned; with ``-W error::ResourceWarning`` and in
development mode (``-X dev``), which report what is left open. A process passes when its
exit code is 0, its stderr is empty and every step printed its answer. A user's own test
module (``exit_user_tests.py``) runs under pytest-asyncio, a loop per test, with unraisable
exceptions (a ``ResourceWarning`` in ``__del__``) as errors. The processes run concurrently:
each start costs a second or two of imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compactifai.emulator import Emulator

pytestmark = pytest.mark.emulator

PROGRAMS = Path(__file__).with_name("exit_programs.py")
USER_TESTS = Path(__file__).with_name("exit_user_tests.py")
PYTEST_RUN = "a user's pytest-asyncio tests"
TIMEOUT = 300  # generous: the machine may be loaded; a hang still fails

# (python options, steps): "all-async" is every async step, each in its own asyncio.run.
RUNS: dict[str, tuple[list[str], list[str]]] = {
    # The programs, exactly: one asyncio.run, then the interpreter exits.
    "langchain ainvoke once": ([], ["lc-ainvoke"]),
    "llama-index achat once": ([], ["li-achat"]),
    "langchain astream once": ([], ["lc-astream"]),
    # Every step twice in a row (a second asyncio.run on module-level models and a client
    # held across loops), the sync API, and every step on a loop closed by hand.
    "every step, warnings as errors": (
        ["-W", "error::ResourceWarning"],
        ["all-async", "all-async", "all-sync", "all-by-hand"],
    ),
    "every async step, development mode": (
        ["-X", "dev", "-W", "error::ResourceWarning"],
        ["all-async", "all-by-hand"],
    ),
}

# A step each "all-*" group must have answered (the groups are listed in exit_programs.py).
ONE_OF_EACH = {
    "all-async": "lc-astream-abandoned",
    "all-sync": "module-sync",
    "all-by-hand": "by-hand:module-client",
}


@pytest.fixture(scope="module")
def finished_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    user_project = tmp_path_factory.mktemp("user-project")
    (user_project / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (user_project / "test_user_suite.py").write_text(USER_TESTS.read_text())
    commands = {
        name: ([sys.executable, *options, str(PROGRAMS), *steps], None)
        for name, (options, steps) in RUNS.items()
    }
    commands[PYTEST_RUN] = (
        [sys.executable, "-W", "error::ResourceWarning", "-m", "pytest", "-q", "-p",
         "no:cacheprovider", "-W", "error::pytest.PytestUnraisableExceptionWarning"],
        user_project,
    )  # fmt: skip
    with Emulator(api_keys=("exit-key",)) as emulator:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPACTIFAI_", "PYTHON"))}
        env.update(COMPACTIFAI_BASE_URL=emulator.base_url, COMPACTIFAI_API_KEY="exit-key")
        started = {
            name: subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=cwd,
            )
            for name, (command, cwd) in commands.items()
        }
        finished = {}
        try:
            for name, process in started.items():
                stdout, stderr = process.communicate(timeout=TIMEOUT)
                finished[name] = subprocess.CompletedProcess(
                    process.args, process.returncode, stdout, stderr
                )
        finally:
            for process in started.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
        yield finished


@pytest.mark.parametrize("run", list(RUNS))
def test_program_prints_only_its_answers_and_exits_zero(
    run: str, finished_runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = finished_runs[run]
    report = f"{' '.join(done.args)}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    assert done.stderr == "", report
    # The program checks each answer is not empty, and ends with the count.
    answers = done.stdout.splitlines()
    assert answers[-1] == f"{len(answers) - 1} steps answered", report
    # ... and the steps asked for are the ones answered (not zero steps, not another list).
    answered = [line.split(": ", 1)[0] for line in answers[:-1]]
    _, steps = RUNS[run]
    assert len(answered) >= len(steps), report
    for step in steps:
        assert ONE_OF_EACH.get(step, step) in answered, report


def test_pytest_asyncio_loops_per_test_leave_nothing_open(
    finished_runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    done = finished_runs[PYTEST_RUN]
    report = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    assert done.stderr == "", report
    assert "5 passed" in done.stdout, report
    assert "warning" not in done.stdout.lower(), report
    assert "unclosed" not in done.stdout.lower(), report
