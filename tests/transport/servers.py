"""Loopback servers for transport tests that count connections on the server side.

``RawServer`` answers each request with scripted raw bytes (broken framing, hostile headers);
``CountingProxy`` forwards to a real server (the emulator) and counts the TCP connections the
client opens: pools are judged by what reaches the wire, never by their private state.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

Answer = bytes | None | Callable[[socket.socket], None]


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _read_request(reader: object) -> bytes | None:
    """One request head and its Content-Length body (bounded); None when the peer closed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)  # type: ignore[attr-defined]
        if not line:
            return None
        head += line
        if len(head) > 1 << 20:
            return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = reader.read(length) if length else b""  # type: ignore[attr-defined]
    return head + body


class RawServer:
    """Answers each request with the next scripted answer, on loopback, in a thread.

    An answer is raw bytes, None (close the connection without answering), or a function
    given the socket (to write slowly or in pieces). ``close_after`` closes every connection
    after one answer. ``connections`` and ``requests`` count what arrived.
    """

    def __init__(
        self,
        script: list[Answer],
        *,
        close_after: bool = False,
        tls: ssl.SSLContext | None = None,
        repeat_last: bool = False,
    ) -> None:
        self.script = list(script)
        self.close_after = close_after
        self.repeat_last = repeat_last
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.sock = _listening_socket()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self._threads: list[threading.Thread] = []
        self._closed = False
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _next_answer(self) -> tuple[bool, Answer]:
        if not self.script:
            return False, None
        if self.repeat_last and len(self.script) == 1:
            return True, self.script[0]
        return True, self.script.pop(0)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(10)
            with conn, conn.makefile("rb") as reader:
                for _ in range(1000):  # bounded: a test never needs more
                    request = _read_request(reader)
                    if request is None:
                        return
                    self.requests.append(request)
                    found, answer = self._next_answer()
                    if not found or answer is None:
                        return
                    if callable(answer):
                        answer(conn)
                    else:
                        conn.sendall(answer)
                    if self.close_after:
                        return
        except OSError:
            return

    def close(self) -> None:
        self._closed = True
        self.sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CountingProxy:
    """A TCP forwarder to ``upstream`` (host, port) that counts the connections clients open."""

    def __init__(self, upstream_url: str) -> None:
        rest = upstream_url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self._upstream = (host, int(port))
        self.opened = 0
        self.open_now = 0
        self._lock = threading.Lock()
        self.sock = _listening_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/{path}"
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.opened += 1
                self.open_now += 1
                self._sockets += [client, upstream]
            done = threading.Barrier(2, action=self._closed_one)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target, done), daemon=True
                ).start()

    def _closed_one(self) -> None:
        with self._lock:
            self.open_now -= 1

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, done: threading.Barrier) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        with contextlib.suppress(threading.BrokenBarrierError):
            done.wait(timeout=30)

    def wait_open(self, expected: int, timeout: float = 5.0) -> int:
        """The number of open connections once it reaches ``expected`` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while self.open_now != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_now

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def __enter__(self) -> CountingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def counting_proxy(upstream_url: str) -> Iterator[CountingProxy]:
    with CountingProxy(upstream_url) as proxy:
        yield proxy


def http_response(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "content-type: application/json", *headers]
    head.append(f"content-length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunked_response(body: bytes, *headers: str, sizes: int = 7) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", "transfer-encoding: chunked"]
    out = ("\r\n".join([*head, *headers]) + "\r\n\r\n").encode()
    for start in range(0, len(body), sizes):
        part = body[start : start + sizes]
        out += f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
    return out + b"0\r\nx-trailer: y\r\n\r\n"
