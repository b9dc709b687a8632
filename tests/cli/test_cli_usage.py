"""``compactifai usage``: durations and times, the table and bars, ``--json``, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from compactifai.commands.usage import parse_duration, parse_time
from compactifai.emulator import Emulator

from .conftest import Runner, error_line

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_time(text) == expected


def test_times_and_dates() -> None:
    assert parse_time("2025-05-01T00:00:00Z") == datetime(2025, 5, 1, tzinfo=timezone.utc)
    assert parse_time("2025-05-01T02:00:00+02:00") == datetime(2025, 5, 1, tzinfo=timezone.utc)
    assert parse_time("2025-05-01") == datetime(2025, 5, 1)  # midnight in --tz


def _use(emu: Emulator, model: str, input_tokens: int, output_tokens: int, ago: float = 0) -> None:
    emu.ledger.record(
        emu.user_id(),
        model,
        input_tokens,
        output_tokens,
        timestamp=datetime.now(timezone.utc).timestamp() - ago,
    )


def test_json_report_grouped_by_model(cli: Runner, reference: Emulator) -> None:
    _use(reference, "cai-llama-3-1-8b-slim", 100, 20)
    _use(reference, "cai-llama-3-1-8b-slim", 50, 10)
    _use(reference, "llama-3-3-70b", 300, 60)
    _use(reference, "llama-3-3-70b", 999, 999, ago=10 * 86400)  # before --since
    result = cli("usage", "--since", "7d", "--group-by", "model", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) == {
        "start_time",
        "end_time",
        "window_size",
        "window_timezone",
        "group_by",
        "rows",
        "totals",
    }
    assert data["window_size"] == "DAY" and data["window_timezone"] == "UTC"
    assert data["group_by"] == ["model"]
    per_model: dict[str, int] = {}
    for row in data["rows"]:
        assert set(row) == {
            "window_start",
            "window_end",
            "group",
            "input_tokens",
            "output_tokens",
            "total_tokens",
        }
        per_model[row["group"]["model"]] = (
            per_model.get(row["group"]["model"], 0) + row["total_tokens"]
        )
    assert per_model == {"cai-llama-3-1-8b-slim": 180, "llama-3-3-70b": 360}
    assert data["totals"] == {"input_tokens": 450, "output_tokens": 90, "total_tokens": 540}


def test_windows_follow_the_time_zone(cli: Runner, reference: Emulator) -> None:
    _use(reference, "cai-llama-3-1-8b-slim", 10, 5)
    result = cli("usage", "--since", "2h", "--window", "hour", "--tz", "Asia/Kolkata", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["window_size"] == "HOUR" and data["window_timezone"] == "Asia/Kolkata"
    [row] = data["rows"]
    assert row["window_start"].endswith("+05:30")
    assert row["window_start"][14:19] == "00:00"  # aligned to the hour


def test_table_and_bar_chart(cli: Runner, reference: Emulator) -> None:
    _use(reference, "cai-llama-3-1-8b-slim", 100, 20)
    _use(reference, "llama-3-3-70b", 300, 60)
    result = cli("usage", "--since", "1d", "--group-by", "model", "--tz", "Europe/Madrid")
    assert result.code == 0, result.err
    assert "Europe/Madrid" in result.out
    table_rows = [line for line in result.out.splitlines() if line.startswith("│")]
    assert any("cai-llama-3-1-8b-slim" in r and "120" in r for r in table_rows)
    assert any(r.startswith("│ total") and "480" in r for r in table_rows)
    bars = [line for line in result.out.splitlines() if "█" in line and "tokens (" in line]
    assert len(bars) == 2
    big = next(b for b in bars if b.startswith("llama-3-3-70b"))
    small = next(b for b in bars if b.startswith("cai-llama-3-1-8b-slim"))
    assert big.count("█") + big.count("▒") > small.count("█") + small.count("▒")
    assert "360 tokens (300 in, 60 out)" in big


def test_until_limits_the_period(cli: Runner, reference: Emulator) -> None:
    _use(reference, "cai-llama-3-1-8b-slim", 7, 3, ago=3 * 3600)
    _use(reference, "cai-llama-3-1-8b-slim", 100, 100)
    result = cli("usage", "--since", "1d", "--until", "2h", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["totals"]["total_tokens"] == 10


def test_no_usage_says_so(cli: Runner, reference: Emulator) -> None:
    result = cli("usage", "--since", "30m")
    assert result.code == 0, result.err
    assert "No usage between" in result.out


def test_bad_time_zone_is_a_usage_error(cli: Runner, reference: Emulator) -> None:
    result = cli("usage", "--tz", "Mars/Olympus_Mons")
    assert result.code == 2
    assert "unknown time zone 'Mars/Olympus_Mons'" in result.err


@pytest.mark.parametrize("since", ["yesterday", "7x", "2025-13-45"])
def test_bad_since_is_a_usage_error(cli: Runner, reference: Emulator, since: str) -> None:
    result = cli("usage", "--since", since)
    assert result.code == 2
    assert "argument --since" in result.err


def test_bad_window_is_a_usage_error(cli: Runner, reference: Emulator) -> None:
    result = cli("usage", "--window", "WEEK")
    assert result.code == 2


def test_todays_service_without_usage_statistics_is_one_line_and_exit_1(
    cli: Runner, live: Emulator
) -> None:
    """The live service removed the endpoint; the emulator's default catalog follows it."""
    result = cli("usage", "--since", "7d")
    assert result.code == 1
    line = error_line(result)
    assert f"{live.base_url} has no usage statistics" in line
    assert "removed that endpoint on 2026-03-24" in line and "yet" not in line
    assert "compactifai emulator --catalog reference" in line
    assert result.out == ""


def test_bad_key_is_one_line_and_exit_1(
    cli: Runner, reference: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "wrong-key")
    result = cli("usage", "--json")
    assert result.code == 1
    assert "401" in error_line(result)
    assert result.out == ""
