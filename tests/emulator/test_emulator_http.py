"""The emulator over raw HTTP: headers, 422 bodies, SSE framing and every fault kind."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import openai
import pytest

from compactifai.emulator import Emulator

MODEL = "cai-mistral-small-3-1-slim"
CHAT: dict[str, Any] = {
    "model": MODEL,
    "messages": [
        {
            "role": "system",
            "content": "The slim models are compressed with tensor networks. They run faster.",
        },
        {"role": "user", "content": "How are the slim models compressed?"},
    ],
}
STREAM = {**CHAT, "stream": True}


def sse_events(text: str) -> list[str]:
    """The data payloads of an SSE body, checking the data-only framing."""
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    for event in events:
        assert event.startswith("data: "), event
    return [e[len("data: ") :] for e in events]


def content_of(events: list[str]) -> str:
    out = []
    for e in events:
        if e == "[DONE]":
            continue
        for choice in json.loads(e)["choices"]:
            out.append(choice["delta"].get("content") or "")
    return "".join(out)


# -- headers and error bodies ---------------------------------------------------------------


def test_request_id_is_echoed_or_generated(http: httpx.Client) -> None:
    r = http.get("/models", headers={"x-request-id": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    a, b = http.get("/models"), http.get("/models")
    assert a.headers["x-request-id"] and a.headers["x-request-id"] != b.headers["x-request-id"]
    unauth = httpx.get(http.base_url.join("models"), headers={"x-request-id": "r-401"})
    assert unauth.status_code == 401 and unauth.headers["x-request-id"] == "r-401"
    with http.stream(
        "POST", "/chat/completions", json=STREAM, headers={"x-request-id": "r-sse"}
    ) as s:
        assert s.headers["x-request-id"] == "r-sse"
    assert http.get("/nowhere").headers["x-request-id"]


def test_missing_or_wrong_key_is_401_with_service_body(emu: Emulator) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-key"}):
        r = httpx.post(emu.base_url + "/chat/completions", json=CHAT, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"detail": "Token is not associated with a valid user"}


def test_unknown_model_in_body_is_400_and_in_path_404(http: httpx.Client) -> None:
    r = http.post("/chat/completions", json={**CHAT, "model": "nope"})
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "type": "invalid_request_error",
            "message": "Invalid request: Model 'nope' not found; available: [hypernova-60b, "
            "carina-60b, cai-mistral-small-3-1-slim, mistral-small-3-1, gpt-oss-120b, glm-5-1, "
            "cai-glm-5-1, glm-5-2, quasar-438b, qwen-3-6-27b, nemotron-3-nano-omni, "
            "cai-whisper-large-v3-turbo-slim]",
            "param": None,
            "code": None,
        }
    }
    for path in ("/models/nope", "/nowhere"):
        r = http.get(path)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize(
    ("body", "loc", "type_"),
    [
        ({**CHAT, "temperature": "hot"}, ["body", "temperature"], "float_parsing"),
        ({"model": MODEL}, ["body", "messages"], "missing"),
        ({"messages": CHAT["messages"]}, ["body", "model"], "missing"),
        ({**CHAT, "stream": "maybe"}, ["body", "stream"], "bool_parsing"),
        ({**CHAT, "max_tokens": 1.5}, ["body", "max_tokens"], "int_from_float"),
    ],
)
def test_type_errors_are_fastapi_422(
    http: httpx.Client, body: dict[str, Any], loc: list[Any], type_: str
) -> None:
    r = http.post("/chat/completions", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    assert any(d["loc"] == loc and d["type"] == type_ and d["msg"] for d in detail), detail


def test_invalid_json_is_422(http: httpx.Client) -> None:
    r = http.post(
        "/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_message_content_parts_are_validated(http: httpx.Client) -> None:
    parts = [{"type": "text", "text": "Describe"}, {"type": "file", "file": {"file_id": "f1"}}]
    ok = http.post(
        "/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": parts}]}
    )
    assert ok.status_code == 200
    bad = http.post(
        "/chat/completions",
        json={**CHAT, "messages": [{"role": "user", "content": [{"type": "video"}]}]},
    )
    assert bad.status_code == 422
    tool_without_id = http.post(
        "/chat/completions", json={**CHAT, "messages": [{"role": "tool", "content": "5"}]}
    )
    assert tool_without_id.status_code == 422
    assert any(d["loc"][-1] == "tool_call_id" for d in tool_without_id.json()["detail"])


def test_file_parts_are_read_by_every_model_and_counted(http: httpx.Client) -> None:
    def ask(*parts: dict[str, Any]) -> httpx.Response:
        content = [{"type": "text", "text": "Summarize this document:"}, *parts]
        return http.post(
            "/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": content}]}
        )

    pdf = {"file_data": "data:application/pdf;base64,JVBERi0xLjQK", "filename": "a.pdf"}
    plain = ask()
    one = ask({"type": "file", "file": pdf})
    two = ask({"type": "file", "file": pdf}, {"type": "file", "file": {"file_id": "file-1"}})
    assert plain.status_code == one.status_code == two.status_code == 200
    assert one.json()["choices"][0]["message"]["content"]
    tokens = [r.json()["usage"]["prompt_tokens"] for r in (plain, one, two)]
    assert tokens[0] < tokens[1] < tokens[2]  # each document adds to the prompt
    empty = ask({"type": "file", "file": {"filename": "a.pdf"}})
    assert empty.status_code == 400
    assert empty.json()["error"]["param"] == "messages[0].content[1].file"
    assert "file_data or file_id" in empty.json()["error"]["message"]
    system_file = http.post(
        "/chat/completions",
        json={**CHAT, "messages": [{"role": "system", "content": [{"type": "file", "file": pdf}]}]},
    )
    assert system_file.status_code == 422  # system messages take text parts only


def test_audio_parts_need_a_model_that_reads_audio(http: httpx.Client) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    r = http.post(
        "/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": [audio]}]}
    )
    assert r.status_code == 400
    assert "does not support audio input" in r.json()["error"]["message"]


def test_unknown_route_is_fastapi_404(http: httpx.Client) -> None:
    r = http.get("/embeddings")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


# -- SSE framing ----------------------------------------------------------------------------


def test_sse_framing_openai_style(http: httpx.Client) -> None:
    r = http.post("/chat/completions", json={**STREAM, "stream_options": {"include_usage": True}})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    finish = chunks[-2]
    assert finish["choices"][0]["delta"] == {} and finish["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == len(chunks) - 3
    assert all("usage" not in c for c in chunks[:-1])


def test_minimal_stream_style(http: httpx.Client) -> None:
    normal = content_of(sse_events(http.post("/chat/completions", json=STREAM).text))
    r = http.post("/chat/completions", json=STREAM, headers={"x-emulator-stream-style": "minimal"})
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all("role" not in c["choices"][0]["delta"] for c in chunks)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert all(c["choices"][0]["delta"]["content"] for c in chunks)
    assert content_of(events) == normal


# -- faults ---------------------------------------------------------------------------------


def test_status_fault_429_with_retry_after_then_recovers(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("status", status=429, retry_after=2, count=2)
    for _ in range(2):
        r = http.post("/chat/completions", json=CHAT)
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert r.headers["x-request-id"]
    assert http.post("/chat/completions", json=CHAT).status_code == 200
    assert emu.faults == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_fault_server_errors(emu: Emulator, http: httpx.Client, status: int) -> None:
    emu.inject_fault("status", status=status)
    r = http.get("/models")
    assert r.status_code == status and r.json()["error"]["type"] == "server_error"


def test_sdk_retries_through_a_transient_503(emu: Emulator) -> None:
    emu.inject_fault("status", status=503, retry_after=0, count=1)
    client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=2)
    r = client.chat.completions.create(**CHAT)
    assert r.choices[0].message.content
    assert [q.path for q in emu.requests] == [
        "/v1/chat/completions"
    ]  # the faulted try never got recorded
    assert len(emu.ledger.records) == 1


def test_html_fault(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("html")
    r = http.post("/chat/completions", json=CHAT)
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "<html>" in r.text and "502 Bad Gateway" in r.text


def test_malformed_fault_json_and_stream(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("malformed")
    r = http.post("/chat/completions", json=CHAT)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)
    emu.inject_fault("malformed", after_chunks=2)
    events = sse_events(http.post("/chat/completions", json=STREAM).text)
    bad = [e for e in events if e != "[DONE]" and not _is_json(e)]
    assert len(bad) == 1 and events.index(bad[0]) == 2
    assert events[-1] == "[DONE]"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def test_drop_stream_closes_without_done(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("drop_stream", after_chunks=3)
    received: list[str] = []

    def read_all() -> None:
        with http.stream("POST", "/chat/completions", json=STREAM) as s:
            received.extend(line for line in s.iter_lines() if line)

    with pytest.raises(httpx.RemoteProtocolError):
        read_all()
    assert len(received) == 3 and "data: [DONE]" not in received
    assert emu.ledger.records == []  # an interrupted stream is not billed
    assert http.post("/chat/completions", json=STREAM).text.endswith("data: [DONE]\n\n")


def test_stall_stream_pauses_then_continues(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("stall_stream", after_chunks=2, seconds=0.4)
    stamps: list[float] = []
    with http.stream("POST", "/chat/completions", json=STREAM) as s:
        for line in s.iter_lines():
            if line:
                stamps.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[1] >= 0.35  # the pause comes after the second chunk
    assert len(emu.ledger.records) == 1


def test_error_in_stream(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("error_in_stream", after_chunks=2)
    events = sse_events(http.post("/chat/completions", json=STREAM).text)
    assert len(events) == 4 and events[-1] == "[DONE]"
    assert json.loads(events[2])["error"]["type"] == "server_error"


def test_delay_fault(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("delay", seconds=0.3)
    t = time.monotonic()
    assert http.get("/models").status_code == 200
    assert time.monotonic() - t >= 0.3
    t = time.monotonic()
    http.get("/models")
    assert time.monotonic() - t < 0.25


def test_wrong_content_type_fault(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("wrong_content_type")
    r = http.get("/models")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_fault_path_restriction_and_unlimited_count(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("status", status=500, path="/completions", count=None)
    assert http.post("/chat/completions", json=CHAT).status_code == 200
    for _ in range(3):
        assert http.post("/completions", json={"model": MODEL, "prompt": "x"}).status_code == 500
    emu.clear_faults()
    assert http.post("/completions", json={"model": MODEL, "prompt": "x"}).status_code == 200


def test_fault_probability_is_seeded(emu: Emulator, http: httpx.Client) -> None:
    def run() -> list[int]:
        emu.clear_faults()
        emu.inject_fault("status", status=503, count=None, probability=0.5)
        return [http.get("/models").status_code for _ in range(40)]

    first = run()
    assert 5 <= first.count(503) <= 35 and first.count(200) >= 5
    assert run() == first


def test_fault_header_applies_to_one_request(http: httpx.Client) -> None:
    fault = json.dumps({"kind": "status", "status": 429, "retry_after": 1})
    r = http.post("/chat/completions", json=CHAT, headers={"x-emulator-fault": fault})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert http.post("/chat/completions", json=CHAT).status_code == 200
    bad = http.post(
        "/chat/completions", json=CHAT, headers={"x-emulator-fault": '{"kind": "explode"}'}
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-emulator-fault"


def test_control_endpoints(emu: Emulator) -> None:
    key = {"Authorization": f"Bearer {emu.api_key}"}
    with httpx.Client(base_url=emu.root_url, headers=key) as ctl:
        assert ctl.get("/_emulator/health").json()["status"] == "ok"
        r = ctl.post("/_emulator/faults", json={"kind": "status", "status": 502, "count": 3})
        assert r.status_code == 200 and r.json()["faults"][0]["remaining"] == 3
        assert ctl.post("/_emulator/faults", json={"kind": "nope"}).status_code == 400
        api = httpx.get(emu.base_url + "/models", headers=key)
        assert api.status_code == 502
        assert ctl.get("/_emulator/faults").json()["faults"][0]["remaining"] == 2
        assert ctl.request("DELETE", "/_emulator/faults", json={}).json() == {"faults": []}
        api = httpx.get(emu.base_url + "/models", headers=key)
        assert api.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_emulator/faults"),
        ("POST", "/_emulator/faults"),
        ("DELETE", "/_emulator/faults"),
        ("POST", "/_emulator/reset"),
        ("GET", "/_emulator/requests"),
    ],
)
def test_control_endpoints_need_a_valid_key(emu: Emulator, method: str, path: str) -> None:
    fault = {"kind": "status", "status": 500}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.request(method, emu.root_url + path, json=fault, headers=headers)
        assert (r.status_code, r.json()) == (
            401,
            {"detail": "Token is not associated with a valid user"},
        )
    assert emu.faults == []


def test_control_endpoints_refuse_bodies_that_are_not_json(emu: Emulator) -> None:
    # A web page can post a text/plain form across origins without a preflight; JSON it cannot.
    key = {"Authorization": f"Bearer {emu.api_key}"}
    body = '{"kind": "status", "status": 500}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**key, **({"Content-Type": content_type} if content_type else {})}
        r = httpx.post(emu.root_url + "/_emulator/faults", content=body, headers=headers)
        assert r.status_code == 415
        assert "application/json" in r.json()["error"]["message"]
        r = httpx.post(emu.root_url + "/_emulator/reset", content=b"", headers=headers)
        assert r.status_code == 415
    assert emu.faults == []


def test_a_fault_never_fires_for_an_unauthenticated_request(emu: Emulator) -> None:
    emu.inject_fault("status", status=503, count=1)
    r = httpx.get(emu.base_url + "/models", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = httpx.post(
        emu.base_url + "/chat/completions",
        json=CHAT,
        headers={"x-emulator-fault": json.dumps({"kind": "status", "status": 500})},
    )
    assert r.status_code == 401
    assert emu.faults[0]["remaining"] == 1  # not used up by the requests without a key
    key = {"Authorization": f"Bearer {emu.api_key}"}
    assert httpx.get(emu.base_url + "/models", headers=key).status_code == 503
    assert httpx.get(emu.base_url + "/models", headers=key).status_code == 200
