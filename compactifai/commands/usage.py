"""``compactifai usage``: token usage from the usage statistics endpoint, as a table and bars.

The live service removed that endpoint (``POST /v1/usage/completions``) on 2026-03-24: usage
is on the CompactifAI Dashboard now. The command still serves servers that have it, such as
the emulator's reference catalog (``compactifai emulator --catalog reference``).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from compactifai.commands._common import (
    add_connection_arguments,
    bar_chart,
    console,
    guarded,
    make_client,
    print_table,
    safe_text,
)
from compactifai.errors import CompactifAIError, NotFoundError

if TYPE_CHECKING:
    from compactifai.types import UsageReport

__all__ = [
    "EXAMPLE",
    "HELP",
    "add_arguments",
    "parse_duration",
    "parse_time",
    "parse_timezone",
    "report_json",
    "run",
]

HELP = "Token usage over a period, from servers that still offer usage statistics"
EXAMPLE = """The live service removed its usage statistics endpoint on 2026-03-24 (usage is on
the CompactifAI Dashboard now); this command reads servers that still have it, such as
the emulator with the reference catalog.

examples:
  compactifai usage --since 7d
  compactifai usage --since 12h --window HOUR --tz Europe/Madrid --group-by model
  compactifai usage --since 2025-05-01 --until 2025-05-08T00:00:00Z --json

  compactifai emulator --catalog reference --port 8080 &
  COMPACTIFAI_BASE_URL=http://127.0.0.1:8080/v1 COMPACTIFAI_API_KEY=test-key compactifai usage

--since/--until take a duration before now (30m, 12h, 7d, 2w), an RFC 3339 time
(2025-05-01T00:00:00Z) or a date (2025-05-01, midnight in --tz).
"""

USAGE_ENDPOINT_REMOVED = "2026-03-24"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` (also ``s``) -> a ``timedelta``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 12h, 7d)")
    amount, unit = float(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})


def parse_time(text: str) -> timedelta | datetime:
    """A duration before now, an RFC 3339 time, or a date; naive results get ``--tz`` later."""
    try:
        return parse_duration(text)
    except ValueError:
        pass
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day)
        if value[-1:] in ("Z", "z"):
            value = value[:-1] + "+00:00"
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration (30m, 12h, 7d) nor an RFC 3339 time "
            "(2025-05-01T00:00:00Z) nor a date (2025-05-01)"
        ) from None


def parse_timezone(name: str) -> str:
    """An IANA time zone name such as ``Europe/Madrid`` (or ``UTC``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Madrid or UTC)"
        ) from None
    return name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        type=parse_time,
        default=timedelta(days=7),
        metavar="WHEN",
        help="start: a duration before now (30m, 12h, 7d), RFC 3339 time or date (default 7d)",
    )
    parser.add_argument(
        "--until",
        type=parse_time,
        default=None,
        metavar="WHEN",
        help="end, in the same forms (default: now)",
    )
    parser.add_argument(
        "--window",
        type=str.upper,
        choices=["DAY", "HOUR", "MINUTE"],
        default="DAY",
        help="aggregation window (default DAY)",
    )
    parser.add_argument(
        "--tz",
        type=parse_timezone,
        default="UTC",
        metavar="ZONE",
        help="IANA time zone the windows are aligned to (default UTC), e.g. Europe/Madrid",
    )
    parser.add_argument(
        "--group-by",
        choices=["model"],
        default=None,
        help="split the usage per model",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON instead of a table"
    )
    add_connection_arguments(parser)


def _resolve(value: timedelta | datetime | None, now: datetime, zone: tzinfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return now - value
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def report_json(
    report: UsageReport, *, window: str, tz: str, group_by: Sequence[str]
) -> dict[str, Any]:
    """The stable ``--json`` shape: the query, one entry per row, and totals."""
    rows: list[dict[str, Any]] = [
        {
            "window_start": _iso(row.window_start),
            "window_end": _iso(row.window_end),
            "group": dict(row.group_by),
            "input_tokens": row.input_token,
            "output_tokens": row.output_token,
            "total_tokens": row.input_token + row.output_token,
        }
        for row in report.data
    ]
    input_tokens = sum(row.input_token for row in report.data)
    output_tokens = sum(row.output_token for row in report.data)
    return {
        "start_time": _iso(report.start_time),
        "end_time": _iso(report.end_time),
        "window_size": window,
        "window_timezone": tz,
        "group_by": list(group_by),
        "rows": rows,
        "totals": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }


def totals_by_label(data: dict[str, Any], by_model: bool) -> list[tuple[str, int, int]]:
    """(label, input, output) per model, or per window when not grouped."""
    sums: dict[str, list[int]] = {}
    for row in data["rows"]:
        label = str(row["group"].get("model", "?")) if by_model else str(row["window_start"])
        acc = sums.setdefault(label, [0, 0])
        acc[0] += row["input_tokens"]
        acc[1] += row["output_tokens"]
    return [(label, i, o) for label, (i, o) in sums.items()]


class UsageStatisticsRemoved(CompactifAIError):
    """The server answered 404 where usage statistics used to be."""

    def __init__(self, base_url: str) -> None:
        super().__init__(
            f"{base_url} has no usage statistics (POST /usage/completions answered 404). "
            f"The live CompactifAI service removed that endpoint on {USAGE_ENDPOINT_REMOVED}; "
            "see your usage on the CompactifAI Dashboard. This command still works against "
            "servers that offer it, e.g. `compactifai emulator --catalog reference`."
        )


def _run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(args.tz)
    now = datetime.now(timezone.utc)
    start = _resolve(args.since, now, zone)
    end = _resolve(args.until, now, zone)
    assert start is not None
    group_by = [args.group_by] if args.group_by else []
    if not args.json:
        console()  # fail early, before any request, when rich is missing
    with make_client(args) as client:
        try:
            report = client.get_usage(
                start,
                end,
                window_size=args.window,
                window_timezone=args.tz,
                group_by=group_by or None,
            )
        except NotFoundError:
            raise UsageStatisticsRemoved(client.base_url) from None
    data = report_json(report, window=args.window, tz=args.tz, group_by=group_by)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print_report(data, by_model=bool(group_by))
    return 0


def _local(text: str | None, zone: tzinfo, fmt: str) -> str:
    if text is None:
        return "now"
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return value.astimezone(zone).strftime(fmt)


def print_report(data: dict[str, Any], *, by_model: bool) -> None:
    from zoneinfo import ZoneInfo

    from rich.table import Table

    out = console()
    zone = ZoneInfo(data["window_timezone"])
    minute = "%Y-%m-%d %H:%M"
    period = (
        f"{_local(data['start_time'], zone, minute)} → {_local(data['end_time'], zone, minute)}"
        f" {data['window_timezone']}"
    )
    if not data["rows"]:
        out.print(f"No usage between {safe_text(period)}.")
        return
    window_format = "%Y-%m-%d" if data["window_size"] == "DAY" else minute
    out.print(
        f"[bold]Token usage[/] {safe_text(period)}, per {safe_text(data['window_size'].lower())}"
    )
    table = Table(header_style="bold")
    table.add_column("window", no_wrap=True)
    if by_model:
        table.add_column("model", no_wrap=True)
    for name in ("input", "output", "total"):
        table.add_column(name, justify="right")
    for row in data["rows"]:
        cells = [_local(row["window_start"], zone, window_format)]
        if by_model:
            cells.append(safe_text(row["group"].get("model", "?")))
        cells += [f"{row[k]:,}" for k in ("input_tokens", "output_tokens", "total_tokens")]
        table.add_row(*cells)
    totals = data["totals"]
    table.add_section()
    table.add_row(
        "total",
        *([""] if by_model else []),
        *(f"{totals[k]:,}" for k in ("input_tokens", "output_tokens", "total_tokens")),
        style="bold",
    )
    print_table(out, table)
    out.print()
    labels = [
        (label if by_model else _local(label, zone, window_format), i, o)
        for label, i, o in totals_by_label(data, by_model)
    ]
    print_table(out, bar_chart(labels))
    out.print("[dim]█ input  ▒ output[/]")


run = guarded(_run)
