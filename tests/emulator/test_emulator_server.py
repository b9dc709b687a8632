"""The server side: lifecycle, latency under concurrency, in-process ASGI use and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from compactifai.cli import main
from compactifai.emulator import Emulator, create_app

MODEL = "cai-mistral-small-3-1-slim"


def test_start_stop_is_fast_and_leaks_no_thread() -> None:
    before = threading.active_count()
    t0 = time.monotonic()
    emu = Emulator(api_keys=("k1",))
    emu.start()
    started = time.monotonic() - t0
    assert emu.running and re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", emu.base_url)
    assert (
        httpx.get(emu.base_url + "/models", headers={"Authorization": "Bearer k1"}).status_code
        == 200
    )
    t1 = time.monotonic()
    emu.stop()
    stopped = time.monotonic() - t1
    assert started < 1.0 and stopped < 1.0
    assert not emu.running and threading.active_count() == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url + "/models")


def test_two_emulators_side_by_side() -> None:
    with Emulator(api_keys=("a",)) as one, Emulator(api_keys=("b",)) as two:
        assert one.base_url != two.base_url
        assert (
            httpx.get(one.base_url + "/models", headers={"Authorization": "Bearer b"}).status_code
            == 401
        )
        assert (
            httpx.get(two.base_url + "/models", headers={"Authorization": "Bearer b"}).status_code
            == 200
        )


async def _raw_get(host: str, port: int, path: str, key: str, n: int) -> list[int]:
    """Open ``n`` connections, then send one GET on each at once (a lean HTTP/1.1 client, so
    the measurement is the server's, not a client library's connection-pool overhead)."""
    conns = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in range(n)))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length"))
        await reader.readexactly(length)
        writer.close()
        return int(lines[0].split()[1])

    return await asyncio.gather(*(one(r, w) for r, w in conns))


async def test_latency_is_async_under_concurrency() -> None:
    with Emulator(latency=0.05) as emu:
        t0 = time.monotonic()
        (status,) = await _raw_get(emu.host, emu.port, "/v1/models", emu.api_key, 1)
        assert status == 200 and time.monotonic() - t0 >= 0.05
        t0 = time.monotonic()
        statuses = await _raw_get(emu.host, emu.port, "/v1/models", emu.api_key, 256)
        wall = time.monotonic() - t0
    assert statuses == [200] * 256
    # 256 sequential sleeps would take 12.8 s; overlapping ones take about one latency (the
    # bound leaves room for a loaded machine, and is still far from sequential).
    assert 0.05 <= wall < 3.0, wall


async def test_create_app_in_process() -> None:
    app = create_app(api_keys=("inproc",))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer inproc"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator/v1", headers=headers
    ) as c:
        r = await c.post(
            "/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        s = await c.post(
            "/chat/completions",
            json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert s.text.endswith("data: [DONE]\n\n")
    assert len(app.state.emulator.ledger.records) == 2


def test_reset_clears_faults_usage_and_log() -> None:
    with Emulator() as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        httpx.post(
            emu.base_url + "/completions", json={"model": MODEL, "prompt": "hi"}, headers=headers
        )
        emu.inject_fault("status", status=500, count=None)
        assert emu.ledger.records and emu.requests and emu.faults
        assert emu.requests[0].body == {"model": MODEL, "prompt": "hi"}
        assert "authorization" not in emu.requests[0].headers
        emu.reset()
        assert not emu.ledger.records and not emu.requests and not emu.faults


def test_inject_fault_takes_the_fault_fields_and_refuses_others() -> None:
    emu = Emulator()  # not started: scripting needs no server
    spec = emu.inject_fault("stall_stream", after_chunks=2, seconds=0.5, path="/chat/completions")
    assert (spec.kind, spec.count, spec.after_chunks, spec.probability) == (
        "stall_stream",
        1,
        2,
        1.0,
    )
    assert emu.faults and emu.faults[0]["after_chunks"] == 2
    with pytest.raises(TypeError, match="stauts"):
        emu.inject_fault("status", stauts=500)  # type: ignore[call-arg]
    assert len(emu.faults) == 1


def test_cli_help_lists_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "emulator" in capsys.readouterr().out
    assert main([]) == 2


@contextmanager
def _emulator_process(*command: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """An emulator started as a command, with the line it printed on startup; stopped after
    the block with Ctrl-C, which must exit cleanly."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_emulator_subcommand() -> None:
    keys = ("--api-key", "k-cli", "--api-key", "k2")
    with _emulator_process("compactifai.cli", "emulator", *keys) as (_, line):
        m = re.search(
            r"listening on (http://127\.0\.0\.1:\d+/v1) \(catalog: current; API key: k-cli, k2\)",
            line,
        )
        assert m, line
        base_url = m.group(1)
        r = httpx.get(base_url + "/models", headers={"Authorization": "Bearer k2"})
        assert r.status_code == 200 and len(r.json()["data"]) == 12
        assert (
            httpx.get(base_url + "/models", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )


def test_python_m_emulator_serves_a_catalog_file_without_the_cli(tmp_path: Path) -> None:
    catalog = tmp_path / "models.json"
    catalog.write_text(
        json.dumps({"object": "list", "data": [{"id": "next-model-9b", "owned_by": "x"}]})
    )
    args = ("--catalog", str(catalog), "--reasoning-field", "reasoning_content")
    args += ("--max-body-bytes", "2048")
    with _emulator_process("compactifai.emulator", *args) as (_, line):
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1)", line)
        assert m, line
        assert str(catalog) in line
        key = {"Authorization": "Bearer test-key"}
        r = httpx.get(m.group(1) + "/models", headers=key)
        assert [item["id"] for item in r.json()["data"]] == ["next-model-9b"]
        big = {"model": "next-model-9b", "messages": [{"role": "user", "content": "x" * 3000}]}
        r = httpx.post(m.group(1) + "/chat/completions", json=big, headers=key)
        assert r.status_code == 413 and "2048" in r.json()["error"]["message"]


def test_python_m_emulator_does_not_import_the_cli() -> None:
    code = (
        "import sys, runpy; sys.argv = ['x', '--help']\n"
        "try:\n    runpy.run_module('compactifai.emulator', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('compactifai.cli' in sys.modules, 'compactifai.compare' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "--catalog current|reference|PATH" in out
    assert out.strip().splitlines()[-1] == "False False"


def test_bad_catalog_argument_is_a_clear_cli_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    proc = subprocess.run(
        [sys.executable, "-m", "compactifai.emulator", "--port", "0", "--catalog", str(missing)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "--catalog" in proc.stderr and "neither a catalog name" in proc.stderr
