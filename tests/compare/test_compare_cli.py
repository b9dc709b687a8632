"""``compactifai compare``: the table, --json and --html against the emulator; exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from compactifai.cli import main
from compactifai.compare import SCHEMA
from compactifai.compare.cli import DEFAULT_PAIRS, UsageError, default_selection
from compactifai.emulator import Emulator

from .conftest import ORIGINAL, SLIM
from .test_compare_report import REPORT_SCHEMA

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = str(ROOT / "examples" / "prompts.jsonl")


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    monkeypatch.delenv("COMPACTIFAI_BASE_URL", raising=False)


@pytest.fixture
def with_key(live: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", live.api_key)
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", live.base_url)
    return live


def test_the_issue_command_table_json_and_html(
    no_key: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    argv = ["compare", "--prompts", PROMPTS, "--models", f"{SLIM},{ORIGINAL}"]
    assert main([*argv, "--html", str(html), "--price", f"{ORIGINAL}=0.6,0.8"]) == 0
    out, err = capsys.readouterr()
    notice = "No COMPACTIFAI_API_KEY set: using the bundled offline emulator at "
    assert err.startswith(notice) and err.count(notice) == 1
    assert f"HTML report written to {html}" in err
    for text in ("Models", "Agreement", "TTFT med/p95", "latency med/p95", "tok/s", SLIM, ORIGINAL):
        assert text in out
    slim_row = next(line for line in out.splitlines() if SLIM in line and "slim" in line)
    assert "8/0" in slim_row  # 8 answers, no errors
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="latency-chart"' in page

    assert main([*argv, "--json", "--chunk-delay", "0"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)  # nothing but JSON on stdout
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["schema"] == SCHEMA and data["workload"] == "prompts"
    assert [m["model"] for m in data["models"]] == [SLIM, ORIGINAL]
    assert len(data["items"]) == 8
    assert all(m["requests"] == 8 and m["errors"] == 0 for m in data["models"])
    pair = data["pairs"][0]
    assert pair["candidate"] == SLIM and pair["structured"] == 2
    # The emulator answers in a style of each model's own: some answers agree, some do not.
    assert 0 < pair["exact_match"] < 1 and 0.5 < pair["token_overlap"] < 1
    assert pair["field_agreement"] == 1.0  # structured output does not depend on the style


def test_no_arguments_compares_the_default_pair_on_bundled_prompts(
    no_key: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--json", "--chunk-delay", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in data["models"]] == [
        "hypernova-60b", "gpt-oss-120b", "cai-mistral-small-3-1-slim", "mistral-small-3-1"
    ]  # fmt: skip
    assert [(p["candidate"], p["reference"]) for p in data["pairs"]] == list(DEFAULT_PAIRS)
    assert {i["id"] for i in data["items"]} >= {"slim-params", "extract-city"}


def test_default_pairs_the_catalog_lacks_are_skipped() -> None:
    served = ["hypernova-60b", "gpt-oss-120b", "mistral-small-3-1"]  # no slim Mistral
    assert default_selection(served) == (
        ["hypernova-60b", "gpt-oss-120b"],
        [("hypernova-60b", "gpt-oss-120b")],
    )
    with pytest.raises(UsageError, match="none of the default pairs"):
        default_selection(["quasar-438b"])


def test_one_model_is_paired_from_the_catalog_with_a_key(
    with_key: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["compare", "--model", "hypernova-60b", "--json", "--concurrency", "2",
         "--price", "gpt-oss-120b=1,2", "--price", "hypernova-60b=0.5,1"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "emulator" not in err  # the key's server was used, no bundled emulator
    data = json.loads(out)
    assert [m["model"] for m in data["models"]] == ["hypernova-60b", "gpt-oss-120b"]
    slim, orig = data["models"]
    assert slim["cost"] == pytest.approx(
        slim["input_tokens"] / 1e6 * 0.5 + slim["output_tokens"] / 1e6
    )
    assert data["pairs"][0]["cost"]["saving"] == pytest.approx(1 - slim["cost"] / orig["cost"])
    billed = sum(r.input_tokens for r in with_key.ledger.records if r.model == "gpt-oss-120b")
    assert orig["input_tokens"] == billed


def test_a_rejected_key_is_one_line_and_exit_1(
    live: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "wrong-key")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", live.base_url)
    assert main(["compare"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: the API key was rejected") and err.count("\n") == 1


def test_failed_requests(with_key: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "--prompts", PROMPTS, "--models", f"{SLIM},{ORIGINAL}", "--json",
            "--concurrency", "1"]  # fmt: skip
    with_key.inject_fault("status", status=400, count=1, path="/v1/chat/completions")
    assert main(argv) == 0  # some failures: reported, warned about
    out, err = capsys.readouterr()
    assert json.loads(out)["models"][0]["errors"] == 1
    assert err.startswith("warning: 1 of 16 requests failed (first: ")
    with_key.inject_fault(
        "status", status=400, count=None, message="nope", path="/v1/chat/completions"
    )
    try:
        assert main(argv) == 1  # a model that answered nothing
    finally:
        with_key.clear_faults()
    err = capsys.readouterr().err
    assert f"error: every request to {SLIM} failed: BadRequestError (400): nope" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--price", "gpt-oss-120b=cheap"], "--price 'gpt-oss-120b=cheap'"),
        (["--price", "0.1,0.2"], "--price takes MODEL=IN_PER_M,OUT_PER_M"),
        (["--models", "gpt-oss-120b"], "at least two different"),
        (["--models", "gpt-oss-120b,gpt-9"], "not in the catalog: gpt-9"),
        (["--model", "quasar-438b"], "no slim/original counterpart"),
        (["--prompts", "/nonexistent.jsonl"], "cannot read the prompts"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_bad_arguments_exit_2(
    no_key: None, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["compare", "--chunk-delay", "0", *args]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last


def test_models_and_model_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--models", "a,b", "--model", "c"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert "--models hypernova-60b,gpt-oss-120b --html report.html" in out
    assert "hypernova-60b vs gpt-oss-120b" in out
    for option in ("--prompts", "--model ", "--concurrency", "--json", "--html", "--price",
                   "--system", "--max-tokens"):  # fmt: skip
        assert option in out
