"""Text from a server or a model is printed as text (issue 26): rich markup in an answer or a
status is shown as written, escape sequences never reach the terminal, and an unexpected
failure is one ``error:`` line with the request id, not a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from compactifai import CompactifAIClient
from compactifai.commands import _common, batch, chat, models

from .conftest import Runner, error_line

pytestmark = pytest.mark.emulator

BATCH_ID = "batch_1"
# A window title, a screen clear, an 8-bit CSI, a bell: none may reach the terminal.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\r"
LINK = "[link=https://evil.example]click here[/link]"


def _batch(**fields: Any) -> dict[str, Any]:
    return {
        "id": BATCH_ID,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": "completed",
        "created_at": 1,
        "request_counts": {"total": 1, "completed": 1, "failed": 0},
        **fields,
    }


def _answer_line(custom_id: str, content: str) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    line = {"id": "r1", "custom_id": custom_id, "response": {"status_code": 200, "body": body}}
    return json.dumps(line).encode() + b"\n"


def _serve(
    monkeypatch: pytest.MonkeyPatch,
    routes: dict[str, Callable[[], httpx.Response]],
    command: Any = batch,
) -> None:
    """``command`` gets a client whose server answers ``routes`` (by path)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return routes[request.url.path]()

    def make_client(args: Any) -> CompactifAIClient:
        return CompactifAIClient(
            api_key="k",
            base_url="https://api.test.invalid/v1",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )

    monkeypatch.setattr(command, "make_client", make_client)


def _assert_clean(text: str) -> None:
    for char in ("\x1b", "\x07", "\x9b", "\r"):
        assert char not in text


def test_batch_status_prints_server_text_as_text(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = {"object": "list", "data": [{"code": "x", "line": 1, "message": f"[/INST]{ESCAPES}"}]}
    batch_json = _batch(status=LINK, model=f"m{ESCAPES}[bold]", errors=errors)
    _serve(monkeypatch, {f"/v1/batches/{BATCH_ID}": lambda: httpx.Response(200, json=batch_json)})
    result = cli("batch", "status", BATCH_ID)
    assert result.code == 0, result.err
    assert LINK in result.out  # printed as written: no clickable link
    assert "[/INST]" in result.out and "m]0;pwned[2J31m[bold]" in result.out
    _assert_clean(result.out)


def test_batch_results_prints_model_text_as_text(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = f"Sure.[/INST] {LINK}\nSecond line\twith a tab{ESCAPES}"
    done = _batch(output_file_id="file-out")
    inputs = b'{"custom_id": "q[1]", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    _serve(
        monkeypatch,
        {
            f"/v1/batches/{BATCH_ID}": lambda: httpx.Response(200, json=done),
            "/v1/files/file-in/content": lambda: httpx.Response(200, content=inputs),
            "/v1/files/file-out/content": lambda: httpx.Response(
                200, content=_answer_line("q[1]", answer)
            ),
        },
    )
    result = cli("batch", "results", BATCH_ID)
    assert result.code == 0, result.err
    assert "q[1]: Sure.[/INST] " + LINK in result.out
    # A multi-line answer keeps its lines and its tabs: a tab reaches the terminal as a tab
    # (which puts it on its next tab stop), never rich's spaces.
    assert "\nSecond line\twith a tab]0;pwned[2J31m\n" in result.out
    _assert_clean(result.out)
    as_json = cli("batch", "results", BATCH_ID, "--json")
    assert as_json.code == 0, as_json.err
    _assert_clean(as_json.out)
    assert json.loads(as_json.out)["content"] == answer  # escaped, not altered


class _ResponseProblem(Exception):
    """An error some library raised while a response was handled, carrying its request id."""

    request_id = "req-77"


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (RuntimeError(f"boom{ESCAPES}"), "error: unexpected RuntimeError: boom"),
        (_ResponseProblem("odd answer"), "odd answer (request id: req-77)"),
    ],
)
def test_an_unexpected_failure_is_one_line_with_the_request_id(
    cli: Runner, monkeypatch: pytest.MonkeyPatch, failure: Exception, expected: str
) -> None:
    _serve(monkeypatch, {f"/v1/batches/{BATCH_ID}": lambda: httpx.Response(200, json=_batch())})

    def show(*args: Any) -> None:
        raise failure

    monkeypatch.setattr(batch, "_show", show)
    result = cli("batch", "status", BATCH_ID)
    assert result.code == 1
    assert expected in error_line(result)
    _assert_clean(result.err)


def test_ctrl_c_still_ends_a_command_as_interrupted(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, {f"/v1/batches/{BATCH_ID}": lambda: httpx.Response(200, json=_batch())})

    def show(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_show", show)
    result = cli("batch", "status", BATCH_ID)
    assert result.code == _common.EXIT_INTERRUPTED
    assert error_line(result) == "error: interrupted"


def test_models_prints_ids_as_text(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = {
        "object": "list",
        "data": [{"id": f"glm[/INST]{ESCAPES}", "object": "model", "created": 0, "owned_by": LINK}],
    }
    _serve(monkeypatch, {"/v1/models": lambda: httpx.Response(200, json=listed)}, models)
    result = cli("models")
    assert result.code == 0, result.err
    assert "glm[/INST]" in result.out and "[link=https://evil.example]" in result.out
    _assert_clean(result.out)


def test_chat_streams_answers_as_text(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    def chunk(**delta: Any) -> bytes:
        event = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": f"m[/INST]{ESCAPES}",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        return b"data: " + json.dumps(event).encode() + b"\n\n"

    stream = (
        chunk(role="assistant", content="")
        + chunk(reasoning="hmm\x1b[2J [/think]\tso")
        + chunk(content=f"[/INST] {LINK}\x1b]0;")
        + chunk(content="pwned\x07\nline two")
        + chunk(content="\tcolumn\t2")
        + b"data: [DONE]\n\n"
    )
    _serve(
        monkeypatch,
        {
            "/v1/chat/completions": lambda: httpx.Response(
                200, content=stream, headers={"content-type": "text/event-stream"}
            )
        },
        chat,
    )
    result = cli("chat", "Hi")
    assert result.code == 0, result.err
    # Tabs reach the terminal as tabs: only it knows the column a streamed piece starts at.
    assert f"[/INST] {LINK}]0;pwned\nline two\tcolumn\t2" in result.out
    assert "hmm[2J [/think]\tso" in result.err and "m[/INST]" in result.err
    _assert_clean(result.out + result.err)
