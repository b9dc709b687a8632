"""An incremental server-sent-events decoder that performs no I/O.

Bytes go in as the network delivers them, split anywhere (inside a line, a CRLF pair or a
multi-byte UTF-8 character); complete events come out. It follows the WHATWG event-stream
parsing rules that matter for an API client: LF, CR and CRLF line ends, ``:`` comments,
multi-line ``data``, and one optional space after the colon.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]

# Only CR, LF and CRLF end lines in an event stream (str.splitlines knows many more).
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._has_fields = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completes."""
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        buffer = self._buffer + text if self._buffer else text
        events: list[ServerSentEvent] = []
        if "\r" not in buffer:
            # The usual stream (LF only): split once, handle data lines inline.
            lines = buffer.split("\n")
            self._buffer = lines.pop()
            for line in lines:
                if not line:
                    if self._has_fields:
                        event = self._dispatch()
                        if event is not None:
                            events.append(event)
                elif line.startswith("data:"):
                    self._data.append(line[6:] if line.startswith("data: ") else line[5:])
                    self._has_fields = True
                else:
                    self._process_line(line)
            return events
        start = 0
        for match in _LINE_END.finditer(buffer):
            event = self._process_line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        if start and buffer[start - 1] == "\r":
            # A CR at the end of what arrived may be the first half of a CRLF.
            self._pending_cr = start == len(buffer)
        self._buffer = buffer[start:]
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of input: a final line without its line end still counts."""
        tail = self._buffer + self._text.decode(b"", final=True)
        self._buffer = ""
        events = []
        if tail:
            event = self._process_line(tail)
            if event is not None:
                events.append(event)
        event = self._process_line("")
        if event is not None:
            events.append(event)
        return events

    @property
    def has_partial_data(self) -> bool:
        """True while an event has started but not been dispatched."""
        return bool(self._buffer) or self._has_fields

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_fields = True
        elif name == "event":
            self._event = value
            self._has_fields = True
        elif name == "id":
            if "\0" not in value:
                self._id = value
            self._has_fields = True
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
            self._has_fields = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_fields:
            return None
        self._has_fields = False
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        self._retry = None
        return event
