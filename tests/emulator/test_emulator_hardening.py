"""A hostile or careless request cannot take the emulator down (issue 12's emulator part)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from compactifai.emulator import Emulator, create_app
from compactifai.emulator.schema_values import SchemaLimits, SchemaValueGenerator, ValueSource
from compactifai.emulator.state import DEFAULT_MAX_BODY_BYTES
from tests.emulator_fixtures import running_emulator

MODEL = "cai-mistral-small-3-1-slim"
# The Mistral models take no tools (service-2026.md): tool requests go to a model that does.
TOOLS_MODEL = "gpt-oss-120b"
# Each level nests three more copies of itself: built in full to the generator's old depth
# bound this is millions of values (10-16 s and megabytes of JSON before the bounds).
SELF_REFERENCING: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "name": {"type": "string"},
        "left": {"$ref": "#"},
        "right": {"$ref": "#"},
        "children": {"type": "array", "items": {"$ref": "#"}},
    },
    "required": ["name"],
}


def test_the_self_referencing_schema_is_small() -> None:
    assert len(json.dumps(SELF_REFERENCING)) < 200


def test_self_referencing_nullable_schema_gets_a_small_valid_value() -> None:
    generator = SchemaValueGenerator(SELF_REFERENCING, ValueSource("Name it Ada."))
    value = generator.generate()
    jsonschema.validate(value, SELF_REFERENCING)
    assert generator.exhausted
    assert len(json.dumps(value)) < 200_000


def test_deadline_stops_growth() -> None:
    generator = SchemaValueGenerator(
        SELF_REFERENCING, ValueSource("x"), SchemaLimits(max_nodes=10**9, seconds=0.0)
    )
    value = generator.generate()
    jsonschema.validate(value, SELF_REFERENCING)
    assert generator.exhausted and len(json.dumps(value)) < 20_000


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 10**9},
        {"type": "array", "items": {"type": "integer"}, "minItems": 10**9},
        {"type": "number", "multipleOf": 1e-300, "minimum": 1e300},
        {"allOf": [{"$ref": "#"}]},
        {"anyOf": [{"$ref": "#"}]},
        {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]},
    ],
)
def test_every_schema_gets_a_bounded_answer(schema: dict[str, Any]) -> None:
    value = SchemaValueGenerator(schema, ValueSource("3 apples")).generate()
    assert len(json.dumps(value)) < 200_000


TREE_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Describe a tree named Oak."}],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "tree", "schema": SELF_REFERENCING},
    },
}


def test_structured_output_on_the_self_referencing_schema(http: httpx.Client) -> None:
    r = http.post("/chat/completions", json=TREE_REQUEST)
    assert r.status_code == 200
    jsonschema.validate(json.loads(r.json()["choices"][0]["message"]["content"]), SELF_REFERENCING)


async def test_schema_generation_runs_off_the_event_loop() -> None:
    app = create_app()
    state = app.state.emulator
    threads: list[threading.Thread] = []
    real_chat = state.generator.chat

    def recording_chat(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real_chat(*args, **kwargs)

    state.generator.chat = recording_chat
    body = TREE_REQUEST
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://emulator/v1",
        headers={"Authorization": "Bearer test-key"},
    ) as client:
        assert (await client.post("/chat/completions", json=body)).status_code == 200
        tools = [{"type": "function", "function": {"name": "grow", "parameters": SELF_REFERENCING}}]
        plain = {"messages": body["messages"], "model": TOOLS_MODEL}
        r = await client.post("/chat/completions", json={**plain, "tools": tools})
        assert r.status_code == 200
    assert len(threads) == 2
    assert all(t is not threading.main_thread() for t in threads)


small_limit = running_emulator(name="small_limit", max_body_bytes=64 * 1024)


def test_body_limit_default_is_documented() -> None:
    assert DEFAULT_MAX_BODY_BYTES == 16 * 1024 * 1024
    assert "max_body_bytes" in (Emulator.__doc__ or "")


def test_a_body_over_the_limit_is_413_with_a_json_error(small_limit: Emulator) -> None:
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 100_000}]}
    headers = {"Authorization": f"Bearer {small_limit.api_key}"}
    r = httpx.post(small_limit.base_url + "/chat/completions", json=big, headers=headers)
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert str(64 * 1024) in error["message"]
    assert r.headers["x-request-id"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is only known by reading
        data = json.dumps(big).encode()
        for i in range(0, len(data), 8192):
            yield data[i : i + 8192]

    r = httpx.post(small_limit.base_url + "/chat/completions", content=chunks(), headers=headers)
    assert r.status_code == 413
    ok = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(
        small_limit.base_url + "/chat/completions", json=ok, headers=headers
    ).is_success


def test_a_chunked_body_under_the_limit_is_read_whole(small_limit: Emulator) -> None:
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hi " * 9000}]})

    def chunks() -> Iterator[bytes]:
        data = body.encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    r = httpx.post(
        small_limit.base_url + "/chat/completions",
        content=chunks(),
        headers={"Authorization": f"Bearer {small_limit.api_key}"},
    )
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] > 9000


def test_every_response_carries_the_service_headers(emu: Emulator, http: httpx.Client) -> None:
    responses = [
        http.get("/models"),
        http.get("/models/nope"),
        http.get("/nowhere"),
        httpx.get(emu.base_url + "/models"),
        http.post("/chat/completions", json={"model": "x", "messages": []}),
    ]
    for r in responses:
        assert r.headers["x-request-id"]
        assert r.headers["x-served-by-region"] == "emulator-local-1"
        assert int(r.headers["x-envoy-upstream-service-time"]) >= 0


async def test_a_slow_generation_does_not_stall_other_requests() -> None:
    app = create_app()
    state = app.state.emulator
    other_answered = threading.Event()
    real_chat = state.generator.chat

    def slow_chat(*args: Any, **kwargs: Any) -> Any:
        # On the event loop this wait could never end: the other request would not run.
        assert other_answered.wait(10), "another request stalled behind the generation"
        return real_chat(*args, **kwargs)

    state.generator.chat = slow_chat
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://emulator/v1",
        headers={"Authorization": "Bearer test-key"},
    ) as client:
        slow = asyncio.create_task(client.post("/chat/completions", json=TREE_REQUEST))
        await asyncio.sleep(0)
        other = await client.get("/models")
        other_answered.set()
        assert other.status_code == 200
        assert (await slow).status_code == 200
