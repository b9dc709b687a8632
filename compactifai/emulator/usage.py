"""The usage ledger: every successful completion the emulator served, and its aggregation
into the ``POST /v1/usage/completions`` answer (MINUTE/HOUR/DAY windows in an IANA zone)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["UsageError", "UsageLedger", "UsageRecord", "format_rfc3339", "parse_rfc3339"]

WINDOW_SIZES = ("MINUTE", "HOUR", "DAY")
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})$"
)


class UsageError(ValueError):
    """A bad usage query; ``param`` names the offending field."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class UsageRecord:
    timestamp: float  # POSIX seconds
    user_id: str
    model: str
    input_tokens: int
    output_tokens: int
    # Transcriptions are billed per second of audio (one-minute minimum), not per token.
    audio_seconds: int = 0


def parse_rfc3339(value: str, param: str) -> datetime:
    """Parse an RFC 3339 date-time (an offset or ``Z`` is required)."""
    m = _RFC3339_RE.match(value.strip())
    if not m:
        raise UsageError(
            f"{param} must be an RFC 3339 date-time such as 2025-05-07T14:00:00Z, got {value!r}",
            param,
        )
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    off = m.group(8)
    if off in ("Z", "z"):
        tz: tzinfo = timezone.utc
    else:
        sign = 1 if off[0] == "+" else -1
        hours, minutes = int(off[1:3]), int(off[4:6])
        if hours > 23 or minutes > 59:
            raise UsageError(f"{param} has an invalid UTC offset: {value!r}", param)
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=tz)
    except ValueError as exc:
        raise UsageError(f"{param} is not a valid date-time: {value!r} ({exc})", param) from exc


def format_rfc3339(dt: datetime) -> str:
    """RFC 3339 with the zone's offset (``Z`` for UTC), without microseconds when zero."""
    text = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _floor(dt: datetime, window: str) -> datetime:
    if window == "MINUTE":
        return dt.replace(second=0, microsecond=0)
    if window == "HOUR":
        return dt.replace(minute=0, second=0, microsecond=0)
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _window_end(start: datetime, window: str, tz: tzinfo) -> datetime:
    if window == "DAY":
        # Wall-clock arithmetic: the next local midnight, whatever the DST change in between.
        naive = start.replace(tzinfo=None) + timedelta(days=1)
        return naive.replace(tzinfo=tz)
    step = timedelta(minutes=1) if window == "MINUTE" else timedelta(hours=1)
    # Absolute arithmetic for sub-day windows (an hour is an hour across a DST change).
    return (start.astimezone(timezone.utc) + step).astimezone(tz)


class UsageLedger:
    """Thread-safe record of served usage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[UsageRecord] = []

    def record(
        self,
        user_id: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        timestamp: float | None = None,
        *,
        audio_seconds: int = 0,
    ) -> UsageRecord:
        rec = UsageRecord(
            time.time() if timestamp is None else timestamp,
            user_id,
            model,
            input_tokens,
            output_tokens,
            audio_seconds,
        )
        with self._lock:
            self._records.append(rec)
        return rec

    def clear(self, user_id: str | None = None) -> None:
        """Forget the usage of one user, or (``None``) everyone's."""
        with self._lock:
            if user_id is None:
                self._records.clear()
            else:
                self._records = [r for r in self._records if r.user_id != user_id]

    @property
    def records(self) -> list[UsageRecord]:
        with self._lock:
            return list(self._records)

    def totals(self, user_id: str | None = None) -> tuple[int, int]:
        """(input, output) token totals, for one user or everyone."""
        recs = [r for r in self.records if user_id is None or r.user_id == user_id]
        return sum(r.input_tokens for r in recs), sum(r.output_tokens for r in recs)

    def query(
        self, user_id: str, body: Mapping[str, Any], now: float | None = None
    ) -> dict[str, Any]:
        """Answer a usage query for ``user_id``; raises :class:`UsageError` on bad values."""
        tz_name = body.get("window_timezone") or "UTC"
        if not isinstance(tz_name, str):
            raise UsageError("window_timezone must be an IANA time zone name", "window_timezone")
        try:
            tz: tzinfo = timezone.utc if tz_name.upper() == "UTC" else ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(
                f"window_timezone {tz_name!r} is not a known IANA time zone", "window_timezone"
            ) from exc

        window = body.get("window_size") or "DAY"
        if not isinstance(window, str) or window.upper() not in WINDOW_SIZES:
            raise UsageError(
                f"window_size must be one of {', '.join(WINDOW_SIZES)}, got {window!r}",
                "window_size",
            )
        window = window.upper()

        start_raw = body.get("start_time")
        if not isinstance(start_raw, str):
            raise UsageError("start_time is required (RFC 3339)", "start_time")
        start = parse_rfc3339(start_raw, "start_time")
        end_raw = body.get("end_time")
        if end_raw is None:
            end = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
        elif isinstance(end_raw, str):
            end = parse_rfc3339(end_raw, "end_time")
        else:
            raise UsageError("end_time must be an RFC 3339 date-time", "end_time")
        if end < start:
            raise UsageError("end_time must not be before start_time", "end_time")

        group_by = body.get("group_by") or []
        if not isinstance(group_by, list) or any(g != "model" for g in group_by):
            raise UsageError('group_by only supports ["model"]', "group_by")
        by_model = "model" in group_by

        filters = body.get("filter_group_by") or {}
        if not isinstance(filters, Mapping) or any(k != "model" for k in filters):
            raise UsageError('filter_group_by only supports {"model": [...]}', "filter_group_by")
        models_filter: set[str] | None = None
        if "model" in filters:
            wanted = filters["model"]
            if isinstance(wanted, str):
                wanted = [wanted]
            if not isinstance(wanted, list) or not all(isinstance(m, str) for m in wanted):
                raise UsageError(
                    "filter_group_by.model must be a list of model ids", "filter_group_by"
                )
            models_filter = set(wanted)

        t0, t1 = start.timestamp(), end.timestamp()
        buckets: dict[tuple[float, str], list[int]] = {}
        starts: dict[float, datetime] = {}
        for rec in self.records:
            if rec.user_id != user_id or not t0 <= rec.timestamp <= t1:
                continue
            if models_filter is not None and rec.model not in models_filter:
                continue
            local = datetime.fromtimestamp(rec.timestamp, tz)
            ws = _floor(local, window)
            key_ts = ws.timestamp()
            starts.setdefault(key_ts, ws)
            key = (key_ts, rec.model if by_model else "")
            acc = buckets.setdefault(key, [0, 0])
            acc[0] += rec.input_tokens
            acc[1] += rec.output_tokens

        rows: list[dict[str, Any]] = []
        for (key_ts, model), (inp, out) in sorted(buckets.items()):
            ws = starts[key_ts]
            rows.append(
                {
                    "groupBy": {"model": model} if by_model else {},
                    "user_id": user_id,
                    "input_token": inp,
                    "output_token": out,
                    "windowStart": format_rfc3339(ws),
                    "windowEnd": format_rfc3339(_window_end(ws, window, tz)),
                }
            )
        return {
            "data": rows,
            "start_time": format_rfc3339(start.astimezone(tz)),
            "end_time": format_rfc3339(end.astimezone(tz)),
            "window_size": window,
        }
