"""``POST /v1/usage/completions``: real aggregation of what the emulator served.

The endpoint belongs to the reference page's service (``catalog="reference"``); today's
service removed it on 2026-03-24, and so does the default emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import openai
import pytest

from compactifai.emulator import Emulator
from tests.emulator_fixtures import running_emulator

MODEL = "cai-llama-3-1-8b-slim"
OTHER = "llama-3-3-70b"


emu = running_emulator(name="emu", api_keys=("test-key", "other-key"), seed=7, catalog="reference")


HOUR_AGO = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/usage/completions", json={"start_time": HOUR_AGO, **body})


def totals(rows: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(r["input_token"] for r in rows), sum(r["output_token"] for r in rows)


def serve_some(client: openai.OpenAI) -> dict[str, tuple[int, int]]:
    """Make chat (plain and streamed) and completion calls; return usage per model."""
    per_model: dict[str, list[int]] = {MODEL: [0, 0], OTHER: [0, 0]}
    msgs: Any = [{"role": "user", "content": "Cats purr. Why do cats purr?"}]
    r = client.chat.completions.create(model=MODEL, messages=msgs)
    assert r.usage is not None
    per_model[MODEL][0] += r.usage.prompt_tokens
    per_model[MODEL][1] += r.usage.completion_tokens
    stream = client.chat.completions.create(
        model=OTHER, messages=msgs, stream=True, stream_options={"include_usage": True}
    )
    last = list(stream)[-1]
    assert last.usage is not None
    per_model[OTHER][0] += last.usage.prompt_tokens
    per_model[OTHER][1] += last.usage.completion_tokens
    c = client.completions.create(model=OTHER, prompt=["Explain tides", "Explain wind"])
    assert c.usage is not None
    per_model[OTHER][0] += c.usage.prompt_tokens
    per_model[OTHER][1] += c.usage.completion_tokens
    # failures are not billed
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=msgs, temperature=5)
    return {k: (v[0], v[1]) for k, v in per_model.items()}


def test_usage_matches_calls_per_model_and_window(
    emu: Emulator, client: openai.OpenAI, http: httpx.Client
) -> None:
    expected = serve_some(client)
    for window in ("MINUTE", "HOUR", "DAY"):
        r = usage(http, window_size=window, group_by=["model"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["window_size"] == window
        rows = body["data"]
        for model, (inp, out) in expected.items():
            assert totals([x for x in rows if x["groupBy"] == {"model": model}]) == (inp, out)
        for row in rows:
            assert row["user_id"] == "customer-1"
            start = datetime.fromisoformat(row["windowStart"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(row["windowEnd"].replace("Z", "+00:00"))
            size = {"MINUTE": 60, "HOUR": 3600, "DAY": 86400}[window]
            assert (end - start).total_seconds() == size
            assert start.timestamp() % size == 0
    flat = usage(http).json()["data"]  # default DAY, no grouping
    assert all(r["groupBy"] == {} for r in flat)
    assert totals(flat) == (
        sum(v[0] for v in expected.values()),
        sum(v[1] for v in expected.values()),
    )
    only = usage(http, group_by=["model"], filter_group_by={"model": [OTHER]}).json()["data"]
    assert {r["groupBy"]["model"] for r in only} == {OTHER} and totals(only) == expected[OTHER]


def test_usage_is_per_user(emu: Emulator, client: openai.OpenAI, http: httpx.Client) -> None:
    serve_some(client)
    other = openai.OpenAI(base_url=emu.base_url, api_key="other-key", max_retries=0)
    r = other.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert r.usage is not None
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer other-key"}) as h2:
        rows = usage(h2, group_by=["model"]).json()["data"]
    assert {row["user_id"] for row in rows} == {"customer-2"}
    assert totals(rows) == (r.usage.prompt_tokens, r.usage.completion_tokens)
    mine = usage(http).json()["data"]
    assert {row["user_id"] for row in mine} == {"customer-1"}
    assert emu.user_id("other-key") == "customer-2"


def test_windows_in_a_non_utc_zone_with_dst(emu: Emulator, http: httpx.Client) -> None:
    ledger = emu.ledger
    user = emu.user_id()
    # 2025-03-30 00:30 UTC = 01:30 CET, the night Madrid moves to CEST (+02:00) at 01:00 UTC.
    ledger.record(user, MODEL, 10, 1, datetime(2025, 3, 30, 0, 30, tzinfo=timezone.utc).timestamp())
    # 2025-07-01 22:30 UTC = 2025-07-02 00:30 CEST: the next local day.
    ledger.record(user, MODEL, 20, 2, datetime(2025, 7, 1, 22, 30, tzinfo=timezone.utc).timestamp())
    ledger.record(user, OTHER, 40, 4, datetime(2025, 7, 1, 22, 45, tzinfo=timezone.utc).timestamp())
    body = {"start_time": "2025-03-01T00:00:00Z", "end_time": "2025-08-01T00:00:00+02:00"}
    r = http.post(
        "/usage/completions",
        json={**body, "window_size": "DAY", "window_timezone": "Europe/Madrid"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["start_time"] == "2025-03-01T01:00:00+01:00"
    assert result["end_time"] == "2025-08-01T00:00:00+02:00"
    assert [
        (x["windowStart"], x["windowEnd"], x["input_token"], x["output_token"])
        for x in result["data"]
    ] == [
        ("2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", 10, 1),  # a 23-hour day
        ("2025-07-02T00:00:00+02:00", "2025-07-03T00:00:00+02:00", 60, 6),
    ]
    hourly = http.post(
        "/usage/completions",
        json={
            **body,
            "window_size": "HOUR",
            "window_timezone": "Europe/Madrid",
            "group_by": ["model"],
        },
    ).json()["data"]
    assert [(x["windowStart"], x["groupBy"]["model"]) for x in hourly] == [
        ("2025-03-30T01:00:00+01:00", MODEL),
        ("2025-07-02T00:00:00+02:00", MODEL),
        ("2025-07-02T00:00:00+02:00", OTHER),
    ]
    assert (
        hourly[0]["windowEnd"] == "2025-03-30T03:00:00+02:00"
    )  # one hour later, across the DST jump
    utc = http.post("/usage/completions", json={**body, "window_size": "DAY"}).json()["data"]
    assert [x["windowStart"] for x in utc] == ["2025-03-30T00:00:00Z", "2025-07-01T00:00:00Z"]
    narrow = http.post(
        "/usage/completions",
        json={"start_time": "2025-07-01T22:40:00Z", "end_time": "2025-07-02T00:00:00Z"},
    ).json()["data"]
    assert totals(narrow) == (40, 4)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"window_size": "WEEK"}, "window_size"),
        ({"window_timezone": "Mars/Olympus_Mons"}, "window_timezone"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"start_time": "2025-05-07T14:00:00"}, "start_time"),  # no offset: not RFC 3339
        ({"end_time": "2025-13-40T00:00:00Z"}, "end_time"),
        ({"end_time": "2000-01-01T00:00:00Z"}, "end_time"),  # before start
        ({"group_by": ["user"]}, "group_by"),
        ({"filter_group_by": {"user": ["a"]}}, "filter_group_by"),
    ],
)
def test_bad_usage_parameters_are_400(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    r = usage(http, **body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param


def test_usage_requires_start_time_and_auth(emu: Emulator, http: httpx.Client) -> None:
    r = http.post("/usage/completions", json={"window_size": "DAY"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "start_time"]
    assert (
        httpx.post(emu.base_url + "/usage/completions", json={"start_time": HOUR_AGO}).status_code
        == 401
    )


def test_usage_endpoint_can_be_turned_off() -> None:
    with Emulator(catalog="reference", usage_endpoint=False) as emu:
        r = httpx.post(
            emu.base_url + "/usage/completions",
            json={"start_time": HOUR_AGO},
            headers={"Authorization": f"Bearer {emu.api_key}"},
        )
        assert r.status_code == 404
        assert (
            httpx.get(
                emu.base_url + "/models", headers={"Authorization": f"Bearer {emu.api_key}"}
            ).status_code
            == 200
        )
