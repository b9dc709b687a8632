"""The emulator as a server shared by a team or a CI fleet (issue 26): what one key, or one
unauthenticated peer, can do to everyone else."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import tracemalloc

import h11
import httpx
import pytest

from compactifai import CompactifAIClient
from compactifai.emulator import Emulator
from compactifai.emulator.request_log import DEFAULT_LOG_PER_USER
from compactifai.errors import BadRequestError, NotFoundError
from tests.emulator_fixtures import running_emulator

MODEL = "cai-mistral-small-3-1-slim"
MiB = 1024 * 1024


def _open(emu: Emulator) -> socket.socket:
    return socket.create_connection((emu.host, emu.port), timeout=10)


def _chunked_upload(
    emu: Emulator, path: str, headers: list[tuple[str, str]], total: int
) -> tuple[int | None, int]:
    """POST ``total`` bytes with ``Transfer-Encoding: chunked``, stopping as soon as the server
    answers (or hangs up); returns (the response's status or None, bytes sent)."""
    conn = h11.Connection(h11.CLIENT)
    sock = _open(emu)
    head = h11.Request(
        method="POST",
        target=path,
        headers=[
            ("host", emu.host),
            ("transfer-encoding", "chunked"),
            ("content-type", "multipart/form-data; boundary=xyz"),
            *headers,
        ],
    )
    block = b"\0" * (256 * 1024)
    sent = 0
    with sock:
        sock.sendall(conn.send(head))
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer came
            try:
                sock.sendall(conn.send(h11.Data(data=block)))
            except OSError:  # the server hung up
                break
            sent += len(block)
        else:
            sock.sendall(conn.send(h11.EndOfMessage()))
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Response):
                return event.status_code, sent
            if event is h11.NEED_DATA:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return None, sent
                conn.receive_data(data)
                if not data:
                    return None, sent


def test_an_unauthenticated_chunked_upload_is_refused_before_its_body_is_read() -> None:
    """150 MiB streamed without a key: the 401 comes from the headers, the body is never held."""
    with Emulator() as emu:
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            status, sent = _chunked_upload(emu, "/v1/files", [], 150 * MiB)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert status == 401
    assert peak - baseline < 4 * MiB, f"grew by {(peak - baseline) / MiB:.1f} MiB"
    assert sent < 150 * MiB  # the client was told to stop long before the end


def test_an_authenticated_chunked_body_is_bounded_while_it_is_read() -> None:
    with Emulator(max_body_bytes=64 * 1024) as emu:
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            auth = [("authorization", f"Bearer {emu.api_key}")]
            status, _ = _chunked_upload(emu, "/v1/chat/completions", auth, 64 * MiB)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert status == 413
    assert peak - baseline < 4 * MiB, f"grew by {(peak - baseline) / MiB:.1f} MiB"


# -- the file store: quotas, reset, expiry ------------------------------------------------------


small_store = running_emulator(
    name="small_store",
    scope="function",
    api_keys=("key-a", "key-b"),
    file_quota_bytes=10_000,
    total_file_quota_bytes=15_000,
)


def _client(emu: Emulator, key: str) -> CompactifAIClient:
    return CompactifAIClient(base_url=emu.base_url, api_key=key, max_retries=0)


def test_each_key_has_a_file_quota_and_all_keys_share_a_total(small_store: Emulator) -> None:
    with _client(small_store, "key-a") as a, _client(small_store, "key-b") as b:
        a.upload_file(b"x" * 6_000)
        with pytest.raises(BadRequestError, match="quota") as raised:
            a.upload_file(b"x" * 6_000)  # 12,000 > the key's 10,000
        assert raised.value.status_code == 400
        assert raised.value.body is not None
        b.upload_file(b"x" * 6_000)  # another key's quota: 12,000 in all
        with pytest.raises(BadRequestError, match="quota"):
            b.upload_file(b"x" * 4_000)  # 16,000 > the total of 15,000
        b.upload_file(b"x" * 2_000)


def test_reset_frees_files_and_batches(small_store: Emulator) -> None:
    with _client(small_store, "key-a") as a:
        file = a.upload_file(b'{"custom_id": "1", "body": {}, "url": "/v1/chat/completions"}')
        batch = a.create_batch(file.id)
        admin = httpx.post(
            small_store.root_url + "/_emulator/reset",
            headers={"Authorization": "Bearer key-a"},
            json={},
        )
        assert admin.status_code == 200
        with pytest.raises(NotFoundError, match="File not found"):
            a.download_file(file.id)
        with pytest.raises(NotFoundError):
            a.retrieve_batch(batch.id)
        a.upload_file(b"x" * 9_000)  # the quota is free again


def test_files_expire_by_their_ttl(small_store: Emulator) -> None:
    store = small_store.app.state.batches
    with _client(small_store, "key-a") as a:
        file = a.upload_file(b"x" * 9_000)
        assert file.ttl is not None and file.ttl > file.created_at
        assert a.download_file(file.id) == b"x" * 9_000
        store.configure(clock=1e9)  # emulated years pass in a real second
        time.sleep(0.05)
        with pytest.raises(NotFoundError, match="File not found"):
            a.download_file(file.id)
        store.configure(clock=1.0)
        a.upload_file(b"x" * 9_000)  # the expired file no longer counts
    assert file.id not in store.files


# -- control endpoints: one key's log and faults are its own ------------------------------------


shared = running_emulator(
    name="shared", scope="function", api_keys=("key-a", "key-b"), admin_key="admin-secret"
)


def _chat(emu: Emulator, key: str, prompt: str) -> httpx.Response:
    return httpx.post(
        emu.base_url + "/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": prompt}]},
        headers={"Authorization": f"Bearer {key}"},
    )


def _control(emu: Emulator, key: str) -> httpx.Client:
    return httpx.Client(base_url=emu.root_url, headers={"Authorization": f"Bearer {key}"})


def test_a_key_sees_only_its_own_requests(shared: Emulator) -> None:
    assert _chat(shared, "key-a", "secret plans of A").status_code == 200
    assert _chat(shared, "key-b", "B asks").status_code == 200
    with _control(shared, "key-b") as b:
        log = b.get("/_emulator/requests").json()["requests"]
    assert "secret plans of A" not in str(log)
    assert "B asks" in str(log)
    with _control(shared, "admin-secret") as admin:
        everything = str(admin.get("/_emulator/requests").json()["requests"])
    assert "secret plans of A" in everything and "B asks" in everything


def test_another_keys_traffic_does_not_push_a_keys_requests_out(shared: Emulator) -> None:
    assert _chat(shared, "key-a", "A's only question").status_code == 200
    with httpx.Client(
        base_url=shared.base_url, headers={"Authorization": "Bearer key-b"}, timeout=10
    ) as b:
        for _ in range(DEFAULT_LOG_PER_USER + 1):
            assert b.get("/models").status_code == 200
    with _control(shared, "key-a") as a:
        (kept,) = a.get("/_emulator/requests").json()["requests"]
    assert kept["body"]["messages"][0]["content"] == "A's only question"
    with _control(shared, "key-b") as b_control:
        b_log = b_control.get("/_emulator/requests").json()["requests"]
    # B's own log is bounded: its oldest request went first.
    assert len(b_log) == DEFAULT_LOG_PER_USER
    assert {entry["path"] for entry in b_log} == {"/v1/models"}
    with _control(shared, "admin-secret") as admin:
        everyone = admin.get("/_emulator/requests").json()["requests"]
    assert len(everyone) == DEFAULT_LOG_PER_USER + 1
    assert everyone[0] == kept  # oldest first, across keys
    assert [entry["timestamp"] for entry in everyone] == sorted(e["timestamp"] for e in everyone)


def test_a_keys_faults_act_on_its_own_requests_only(shared: Emulator) -> None:
    with _control(shared, "key-b") as b:
        assert b.post("/_emulator/faults", json={"kind": "status", "count": None}).is_success
        assert _chat(shared, "key-a", "Hi").status_code == 200
        assert _chat(shared, "key-b", "Hi").status_code == 500
        with _control(shared, "key-a") as a:
            assert a.get("/_emulator/faults").json() == {"faults": []}
            # A may clear and reset (its own state), which must leave B's fault in place.
            assert a.request("DELETE", "/_emulator/faults", json={}).is_success
            assert a.post("/_emulator/reset", json={}).is_success
        assert _chat(shared, "key-b", "Hi").status_code == 500  # A cleared only its own
        assert len(b.get("/_emulator/faults").json()["faults"]) == 1
        b.post("/_emulator/reset", json={})
        assert _chat(shared, "key-b", "Hi").status_code == 200


def test_the_admin_key_is_not_an_api_key_and_stays_out_of_reprs() -> None:
    with pytest.raises(ValueError, match="admin_key"):
        Emulator(api_keys=("key-a",), admin_key="key-a")
    emu = Emulator(api_keys=("key-a",), admin_key="admin-secret")
    assert "admin-secret" not in repr(emu) + repr(emu.state)


def test_the_admin_key_scripts_faults_for_everyone_and_is_no_api_key(shared: Emulator) -> None:
    with _control(shared, "admin-secret") as admin:
        admin.post("/_emulator/faults", json={"kind": "status", "status": 502, "count": 2})
        assert _chat(shared, "key-a", "Hi").status_code == 502
        assert _chat(shared, "key-b", "Hi").status_code == 502
        assert _chat(shared, "admin-secret", "Hi").status_code == 401
        assert _chat(shared, "key-a", "Hi").status_code == 200
        assert _chat(shared, "key-b", "B again").status_code == 200
        assert "B again" in str(admin.get("/_emulator/requests").json()["requests"])
        assert admin.post("/_emulator/reset", json={}).is_success
        assert admin.get("/_emulator/requests").json() == {"requests": []}


def test_with_an_admin_key_only_it_changes_everyones_catalog(shared: Emulator) -> None:
    listed = httpx.get(shared.base_url + "/models", headers={"Authorization": "Bearer key-a"})
    smaller = {"object": "list", "data": listed.json()["data"][:1]}
    with _control(shared, "key-a") as a:
        refused = a.post("/_emulator/catalog", json=smaller)
        assert refused.status_code == 403
        a.post("/_emulator/reset", json={})
    assert len(shared.models) == len(listed.json()["data"])
    with _control(shared, "admin-secret") as admin:
        assert admin.post("/_emulator/catalog", json=smaller).status_code == 200
    assert len(shared.models) == 1


def test_a_keys_reset_keeps_other_keys_stored_responses(shared: Emulator) -> None:
    def store(key: str) -> str:
        r = httpx.post(
            shared.base_url + "/responses",
            json={"model": "hypernova-60b", "input": "Hi", "store": True},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    def status(key: str, response_id: str) -> int:
        return httpx.get(
            f"{shared.base_url}/responses/{response_id}",
            headers={"Authorization": f"Bearer {key}"},
        ).status_code

    kept, dropped = store("key-a"), store("key-b")
    assert (status("key-a", kept), status("key-b", dropped)) == (200, 200)
    with _control(shared, "key-b") as b:
        assert b.post("/_emulator/reset", json={}).is_success
    assert (status("key-a", kept), status("key-b", dropped)) == (200, 404)


# -- slow clients: a head timeout and a connection cap -------------------------------------------


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within ``within`` seconds (after an error
    response or none)."""
    deadline = time.monotonic() + within
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return False


@pytest.fixture(params=["httptools", "h11"])
def http_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The guards hold on both HTTP implementations uvicorn may pick (h11 without httptools)."""
    if request.param == "h11":
        from uvicorn.protocols.http import auto
        from uvicorn.protocols.http.h11_impl import H11Protocol

        monkeypatch.setattr(auto, "AutoHTTPProtocol", H11Protocol)
    return str(request.param)


def test_a_request_head_that_never_completes_is_cut_off(http_impl: str) -> None:
    with Emulator(head_timeout=0.5) as emu:
        trickling = [_open(emu) for _ in range(5)]
        for sock in trickling:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        for sock in trickling:
            sock.sendall(b"X-Slow: 1\r\n")  # data keeps coming, the head never ends
        assert all(_closed_by_server(sock, 3.0) for sock in trickling)
        for sock in trickling:
            sock.close()
        # A complete head is not cut off, however slowly its body comes.
        with _open(emu) as sock:
            conn = h11.Connection(h11.CLIENT)
            body = b'{"model": "cai-mistral-small-3-1-slim", "messages": []}'
            sock.sendall(
                conn.send(
                    h11.Request(
                        method="POST",
                        target="/v1/chat/completions",
                        headers=[
                            ("host", "x"),
                            ("authorization", f"Bearer {emu.api_key}"),
                            ("content-type", "application/json"),
                            ("content-length", str(len(body))),
                        ],
                    )
                )
            )
            time.sleep(0.8)
            sock.sendall(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
            events = []
            while not events or not isinstance(events[-1], h11.EndOfMessage):
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(65536))
                else:
                    events.append(event)
            assert events[0].status_code == 400  # answered (empty messages are refused)
            # A keep-alive connection's next head has the same deadline.
            sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
            assert _closed_by_server(sock, 3.0)


def test_an_endless_request_head_is_cut_off_by_its_size(http_impl: str) -> None:
    with Emulator() as emu, _open(emu) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nX-Long: ")
        try:
            for _ in range(64):  # 4 MiB of one header value
                sock.sendall(b"a" * 65536)
        except OSError:
            pass  # closed while sending: what the test wants
        assert _closed_by_server(sock, 3.0)


def test_connections_beyond_the_cap_are_turned_away() -> None:
    with Emulator(max_connections=3) as emu:
        held = [_open(emu) for _ in range(3)]
        time.sleep(0.1)
        try:
            r = httpx.get(emu.base_url + "/models", headers={"Authorization": "Bearer test-key"})
            assert r.status_code == 503
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 5
        while (
            httpx.get(emu.base_url + "/models", headers={"Authorization": "Bearer test-key"})
        ).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_the_emulator_command_takes_the_shared_server_options() -> None:
    args = ["--api-key", "k1", "--admin-key", "ci-admin", "--file-quota-bytes", "2000"]
    args += ["--head-timeout", "0.5", "--max-connections", "50", "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "compactifai.emulator", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base_url = line.split("listening on ")[1].split()[0]
        assert "ci-admin" not in line
        root = base_url.removesuffix("/v1")
        log = httpx.get(root + "/_emulator/requests", headers={"Authorization": "Bearer ci-admin"})
        assert log.status_code == 200
        with CompactifAIClient(base_url=base_url, api_key="k1", max_retries=0) as client:
            with pytest.raises(BadRequestError, match="quota"):
                client.upload_file(b"x" * 3000)
        host, port = root.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
            assert _closed_by_server(sock, 3.0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
