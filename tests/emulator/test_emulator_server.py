"""The server side: lifecycle, latency under concurrency, in-process ASGI use and the CLI."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from compactifai.cli import main
from compactifai.emulator import Emulator, create_app

MODEL = "cai-llama-3-1-8b-slim"


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
    # 256 sequential sleeps would take 12.8 s; overlapping ones take about one latency.
    assert 0.05 <= wall < 0.6, wall


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


def test_cli_help_lists_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "emulator" in capsys.readouterr().out
    assert main([]) == 2


def test_cli_emulator_subcommand() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compactifai.cli",
            "emulator",
            "--port",
            "0",
            "--api-key",
            "k-cli",
            "--api-key",
            "k2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1) \(API key: k-cli, k2\)", line)
        assert m, line
        base_url = m.group(1)
        r = httpx.get(base_url + "/models", headers={"Authorization": "Bearer k2"})
        assert r.status_code == 200 and len(r.json()["data"]) == 9
        assert (
            httpx.get(base_url + "/models", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
