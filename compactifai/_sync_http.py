"""A small HTTP/1.1 transport for the default sync client: httpx's API, less CPU per call.

httpcore and h11 are pure Python state machines; for an API client that sends one request per
connection at a time they cost about as much CPU as everything else in a call put together.
This transport speaks the subset of HTTP/1.1 an API needs over a plain (or TLS) socket with a
buffered reader: one request at a time per connection, keep-alive reuse, Content-Length,
chunked and close-delimited bodies, streamed as they arrive. Its errors are the httpx errors
httpcore raises in the same situations.

Only pools the client creates itself use it; proxies from the environment still go through
httpx's own transports (``_BaseClient._direct``), and a caller's ``http_client`` is used as given.
"""

from __future__ import annotations

import io
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import cast

import httpx

from compactifai._mocked import sync_mocked

__all__ = ["SocketTransport"]

_MAX_LINE = 65536
_MAX_HEADERS = 200
_DISCONNECTED = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class _Connection:
    __slots__ = ("closed", "file", "idle_since", "key", "sock")

    def __init__(self, sock: socket.socket, key: tuple[str, str, int]) -> None:
        self.sock = sock
        self.file = cast(io.BufferedReader, sock.makefile("rb", buffering=_MAX_LINE))
        self.key = key
        self.idle_since = 0.0
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.file.close()
            finally:
                self.sock.close()

    def is_idle(self) -> bool:  # for introspection, like httpcore's connections
        return self.idle_since > 0

    def is_closed(self) -> bool:
        return self.closed

    def stale(self) -> bool:
        """An idle connection the server closed (or wrote to) cannot take a request."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class _Body(httpx.SyncByteStream):
    """The response body, framed by Content-Length, chunks or the end of the connection."""

    def __init__(
        self,
        transport: SocketTransport,
        conn: _Connection,
        request: httpx.Request,
        length: int | None,
        chunked: bool,
        reusable: bool,
    ) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._request = request
        self._length = length
        self._chunked = chunked
        self._reusable = reusable
        self._complete = length == 0 and not chunked

    def __iter__(self) -> Iterator[bytes]:
        conn = self._conn
        if conn is None or self._complete:
            return
        try:
            if self._chunked:
                yield from self._read_chunks(conn)
            elif self._length is not None:
                remaining = self._length
                while remaining:
                    data = conn.file.read1(min(remaining, _MAX_LINE))
                    if not data:
                        raise httpx.RemoteProtocolError(
                            "peer closed connection without sending complete message body "
                            f"(received {self._length - remaining} bytes, expected {self._length})",
                            request=self._request,
                        )
                    remaining -= len(data)
                    yield data
            else:
                while data := conn.file.read1(_MAX_LINE):
                    yield data
                self._reusable = False
            self._complete = True
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=self._request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=self._request) from exc

    def _read_chunks(self, conn: _Connection) -> Iterator[bytes]:
        read_line, read = conn.file.readline, conn.file.read
        while True:
            line = read_line(_MAX_LINE)
            if not line.endswith(b"\n"):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    "incomplete chunked read",
                    request=self._request,
                )
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise httpx.RemoteProtocolError(
                    f"malformed chunk size line {line[:40]!r}", request=self._request
                ) from None
            if size == 0:
                while read_line(_MAX_LINE) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return
            data = read(size)
            if len(data) < size or read_line(_MAX_LINE) not in (b"\r\n", b"\n"):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    "incomplete chunked read",
                    request=self._request,
                )
            yield data

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._reusable and (self._complete or self._drain(conn)):
            self._transport._release(conn)
        else:
            self._transport._discard(conn)

    def _drain(self, conn: _Connection) -> bool:
        """Closed before the end (a stream's reader stops at ``[DONE]``): read the end of a
        chunked body if it has already arrived, so the connection can serve the next request.
        Anything not there at once, or more than 64 KiB, and the connection is closed instead.
        """
        if not self._chunked:
            return False
        drained = 0
        try:
            conn.sock.settimeout(0.001)
            for data in self._read_chunks(conn):
                drained += len(data)
                if drained > _MAX_LINE:
                    return False
        except (OSError, httpx.HTTPError):
            return False
        return True


class _PoolView:
    def __init__(self, transport: SocketTransport) -> None:
        self._transport = transport

    @property
    def connections(self) -> list[_Connection]:
        with self._transport._lock:
            return list(self._transport._all)


class SocketTransport(httpx.BaseTransport):
    """Keep-alive HTTP/1.1 over sockets: at most ``limits.max_keepalive_connections`` idle."""

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self._limits = limits
        self._fallback: httpx.HTTPTransport | None = None
        self._max_idle = limits.max_keepalive_connections or 0
        self._expiry = limits.keepalive_expiry
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()

    @property
    def _pool(self) -> _PoolView:
        return _PoolView(self)

    def _httpx_transport(self) -> httpx.HTTPTransport:
        """httpx's own transport, for while tests mock it (see ``_mocked``)."""
        if self._fallback is None:
            self._fallback = httpx.HTTPTransport(verify=self._verify, limits=self._limits)
        return self._fallback

    # ------------------------------------------------------------------ connections

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn = idle.pop()
            if (self._expiry is not None and now - conn.idle_since > self._expiry) or conn.stale():
                self._discard(conn)
                continue
            conn.idle_since = 0.0
            return conn

    def _connect(self, key: tuple[str, str, int], request: httpx.Request) -> _Connection:
        scheme, host, port = key
        timeout = request.extensions.get("timeout", {})
        try:
            sock = socket.create_connection((host, port), timeout=timeout.get("connect"))
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._ssl is None:
                    self._ssl = (
                        self._verify
                        if isinstance(self._verify, ssl.SSLContext)
                        else httpx.create_ssl_context(verify=self._verify)
                    )
                sock = self._ssl.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:
            sock.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        conn = _Connection(sock, key)
        with self._lock:
            self._all.add(conn)
        return conn

    def _release(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(conn.key, [])
            if len(idle) < self._max_idle:
                idle.append(conn)
                return
        self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        with self._lock:
            self._all.discard(conn)
        conn.close()

    # ------------------------------------------------------------------ exchange

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if sync_mocked():
            return self._httpx_transport().handle_request(request)
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'."
            )
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        head = b"".join(
            [
                request.method.encode(),
                b" ",
                url.raw_path,
                b" HTTP/1.1\r\n",
                *[name + b": " + value + b"\r\n" for name, value in request.headers.raw],
                b"\r\n",
            ]
        )
        body = request.read()
        conn = self._checkout(key)
        if conn is not None:
            try:
                return self._exchange(conn, request, head, body)
            except _Stale:
                pass  # the server closed the idle connection as we reused it: a fresh one
        return self._exchange(self._connect(key, request), request, head, body, fresh=True)

    def _exchange(
        self,
        conn: _Connection,
        request: httpx.Request,
        head: bytes,
        body: bytes,
        fresh: bool = False,
    ) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        sock = conn.sock
        try:
            sock.settimeout(timeout.get("write"))
            sock.sendall(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                sock.sendall(body)
            sock.settimeout(timeout.get("read"))
            status, reason, version, headers = self._read_head(conn, request, request.method)
        except _Stale:
            self._discard(conn)
            if fresh:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            raise
        except _DISCONNECTED as exc:
            self._discard(conn)
            if not fresh:
                raise _Stale() from exc
            raise httpx.RemoteProtocolError(
                str(exc) or "Server disconnected without sending a response.", request=request
            ) from exc
        except TimeoutError as exc:
            self._discard(conn)
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except httpx.HTTPError:
            self._discard(conn)
            raise
        except OSError as exc:
            self._discard(conn)
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        length: int | None = None
        chunked = False
        reusable = version == b"HTTP/1.1"
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    self._discard(conn)
                    raise httpx.RemoteProtocolError(
                        "malformed Content-Length", request=request
                    ) from None
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                reusable = reusable and b"close" not in value.lower()
        if request.method == "HEAD" or status in (204, 304):
            length, chunked = 0, False
        elif chunked:
            length = None
        stream = _Body(self, conn, request, length, chunked, reusable)
        if length == 0 and not chunked:
            stream.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": reason},
        )

    @staticmethod
    def _read_head(
        conn: _Connection, request: httpx.Request, method: str
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        read_line = conn.file.readline
        while True:
            line = read_line(_MAX_LINE)
            if not line:
                raise _Stale()
            parts = line.rstrip(b"\r\n").split(b" ", 2)
            try:
                version, status = parts[0], int(parts[1])
            except (IndexError, ValueError):
                raise httpx.RemoteProtocolError(
                    f"malformed status line {line[:40]!r}", request=request
                ) from None
            reason = parts[2] if len(parts) > 2 else b""
            headers: list[tuple[bytes, bytes]] = []
            while True:
                line = read_line(_MAX_LINE)
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected while sending the response headers.", request=request
                    )
                name, sep, value = line.partition(b":")
                if not sep or len(headers) >= _MAX_HEADERS:
                    raise httpx.RemoteProtocolError(
                        f"malformed header line {line[:40]!r}", request=request
                    )
                headers.append((name.strip(), value.strip()))
            if 100 <= status < 200 and status != 101:
                continue  # an informational answer; the real one follows
            return status, reason, version, headers

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
        with self._lock:
            conns = list(self._all)
            self._all.clear()
            self._idle.clear()
        for conn in conns:
            conn.close()


class _Stale(Exception):
    """A reused keep-alive connection turned out closed before any answer: retry on a new one."""
