"""An incremental server-sent-events decoder that performs no I/O.

Bytes go in as the network delivers them, split anywhere (inside a line, a CRLF pair or a
multi-byte UTF-8 character); complete events come out. It follows the WHATWG event-stream
parsing rules that matter for an API client: LF, CR and CRLF line ends, ``:`` comments,
multi-line ``data``, one optional space after the colon, a leading byte order mark, and
``retry`` read only when it is ASCII digits.

A hostile or broken server cannot make it use unbounded memory or time: a line (or an
event's data) longer than ``MAX_LINE_LENGTH`` characters raises ``SSELineTooLong`` (the
client reports it as an ``APIResponseValidationError``), and a long line that arrives in
many pieces is kept as a list of parts, joined once (no quadratic string growth).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["MAX_LINE_LENGTH", "SSEDecoder", "SSELineTooLong", "ServerSentEvent"]

# 4 Mi characters: at most 16 MiB of UTF-8 (and of memory, as Python stores wide characters).
# Lines of 1 MiB (a large tool call's arguments in one event) are far below it.
MAX_LINE_LENGTH = 4 * 1024 * 1024


class SSELineTooLong(ValueError):
    """A line or an event's data grew past ``MAX_LINE_LENGTH`` characters."""


# Only CR, LF and CRLF end lines in an event stream (str.splitlines knows many more).
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    def __init__(self, max_line_length: int = MAX_LINE_LENGTH) -> None:
        # utf-8-sig drops a byte order mark at the start of the stream (and only there).
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._max = max_line_length
        self._parts: list[str] = []  # the unfinished last line, as it arrived
        self._partial = 0  # its length
        self._pending_cr = False
        self._data: list[str] = []
        self._data_length = 0
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
        if "\n" not in text and "\r" not in text:
            # No line ends: keep the piece; a long line costs one join, not one copy a piece.
            if text:
                self._keep(text)
            return []
        if self._parts:
            buffer = "".join(self._parts) + text
            self._parts, self._partial = [], 0
        else:
            buffer = text
        if len(buffer) > self._max:
            self._check_lines(buffer)
        events: list[ServerSentEvent] = []
        if "\r" not in buffer:
            # The usual stream (LF only): split once, handle data lines inline.
            lines = buffer.split("\n")
            self._keep(lines.pop())
            for line in lines:
                if not line:
                    if self._has_fields:
                        event = self._dispatch()
                        if event is not None:
                            events.append(event)
                elif line.startswith("data:"):
                    self._add_data(line[6:] if line.startswith("data: ") else line[5:])
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
        self._keep(buffer[start:])
        return events

    def _keep(self, text: str) -> None:
        if not text:
            return
        self._partial += len(text)
        if self._partial > self._max:
            raise SSELineTooLong(f"an event-stream line is longer than {self._max} characters")
        self._parts.append(text)

    def _check_lines(self, buffer: str) -> None:
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.start() - start > self._max:
                raise SSELineTooLong(f"an event-stream line is longer than {self._max} characters")
            start = match.end()

    def _add_data(self, value: str) -> None:
        self._data_length += len(value) + 1
        if self._data_length > self._max:
            raise SSELineTooLong(f"an event's data is longer than {self._max} characters")
        self._data.append(value)
        self._has_fields = True

    def flush(self) -> list[ServerSentEvent]:
        """End of input: a final line without its line end still counts."""
        tail = "".join(self._parts) + self._text.decode(b"", final=True)
        self._parts, self._partial = [], 0
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
        return bool(self._parts) or self._has_fields

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._add_data(value)
        elif name == "event":
            self._event = value
            self._has_fields = True
        elif name == "id":
            if "\0" not in value:
                self._id = value
            self._has_fields = True
        elif name == "retry":
            if value.isascii() and value.isdigit():  # "²" is a digit to str.isdigit
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
        self._data_length = 0
        self._event = ""
        self._retry = None
        return event
