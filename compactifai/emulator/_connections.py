"""Connection-level guards for the emulator's uvicorn server: slow or endless request heads.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``) and, with
``limit_concurrency``, answers 503 past a number of connections, but it sets no deadline on a
request head: a peer that trickles a header line every few seconds holds its connection (and
its worker's memory) for ever (slow-loris), and httptools does not bound a head's size either.

:func:`guarded_protocol` subclasses the HTTP protocol uvicorn would pick (httptools, else h11)
and closes a connection whose request head has not completed ``head_timeout`` seconds after the
connection opened or the head's first byte came, or whose head passes ``max_head_bytes``. It
parses nothing: the protocol class parses, and a head is complete when the protocol starts a new
request cycle (``self.cycle``, set synchronously while it parses the bytes it was given).
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["DEFAULT_HEAD_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "MAX_HEAD_BYTES", "guarded_protocol"]

DEFAULT_HEAD_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
# Generous for real clients (h11 allows 16 KiB by default), small next to memory.
MAX_HEAD_BYTES = 64 * 1024


def guarded_protocol(
    head_timeout: float, max_head_bytes: int = MAX_HEAD_BYTES
) -> type[asyncio.Protocol]:
    """uvicorn's automatic HTTP protocol class, with a deadline and a size bound on heads."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    base: Any = AutoHTTPProtocol

    class HeadGuardedProtocol(base):  # type: ignore[misc]
        _head_timer: asyncio.TimerHandle | None = None
        _waiting_for_head = False
        _head_cycle: object = None
        _head_bytes = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._await_head()

        def data_received(self, data: bytes) -> None:
            if not self._waiting_for_head and (self.cycle is None or self.cycle.response_complete):
                self._await_head()  # the first bytes of a keep-alive connection's next head
            super().data_received(data)
            if not self._waiting_for_head:
                return
            if self.cycle is not self._head_cycle:
                self._stop_waiting()  # the protocol parsed a whole head
                return
            self._head_bytes += len(data)
            if self._head_bytes > max_head_bytes:
                self._close()

        def on_response_complete(self) -> None:
            # Between requests, uvicorn's keep-alive timeout governs an idle connection.
            self._stop_waiting()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._stop_waiting()
            self._waiting_for_head = True
            self._head_cycle = self.cycle
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _stop_waiting(self) -> None:
            self._waiting_for_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._waiting_for_head and self.cycle is self._head_cycle:
                self._close()

        def _close(self) -> None:
            self._stop_waiting()
            if not self.transport.is_closing():
                self.transport.close()

    return HeadGuardedProtocol
