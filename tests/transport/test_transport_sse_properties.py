"""Property-based tests: the SSE decoder and the chunk parser read any valid stream, split anywhere."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from compactifai._protocol import ChunkStreamParser, _parser
from compactifai._sse import ServerSentEvent, SSEDecoder
from compactifai.types import ChatCompletionChunk

# Text without CR/LF (those end lines); any other unicode, including U+2028 and emoji.
line_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
)
newlines = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[str, list[ServerSentEvent]]:
    """An event stream with comments and multi-line data, and the events it must decode to."""
    newline = draw(newlines)
    text, expected = "", []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            text += ":" + draw(line_text) + newline
        lines = draw(st.lists(line_text, min_size=1, max_size=3))
        event = draw(st.sampled_from(["", "message", "update"]))
        if event:
            text += f"event: {event}{newline}"
        for line in lines:
            text += (
                f"data: {line}{newline}"
                if draw(st.booleans())
                else f"data:{' ' + line if line.startswith(' ') else line}{newline}"
            )
        text += newline
        expected.append(ServerSentEvent(data="\n".join(lines), event=event or "message"))
    return text, expected


def split_anywhere(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(raw)]:
        pieces.append(raw[start:point])
        start = point
    return pieces


@settings(max_examples=300, deadline=None)
@given(event_streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_decoder_reads_any_stream_split_at_any_byte(
    stream: tuple[str, list[ServerSentEvent]], cuts: list[int]
) -> None:
    text, expected = stream
    decoder = SSEDecoder()
    events = [e for piece in split_anywhere(text.encode(), cuts) for e in decoder.feed(piece)]
    events += decoder.flush()
    assert events == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(line_text, min_size=1, max_size=8),
    st.lists(st.integers(0, 10_000), max_size=12),
    newlines,
)
def test_chunk_parser_rebuilds_the_text_and_stops_at_done(
    deltas: list[str], cuts: list[int], newline: str
) -> None:
    events = [
        json.dumps(
            {"id": "c", "choices": [{"index": 0, "delta": {"content": d}}]}, ensure_ascii=False
        )
        for d in deltas
    ]
    text = (
        "".join(f"data: {e}{newline}{newline}" for e in events) + f"data: [DONE]{newline}{newline}"
    )
    parser = ChunkStreamParser(_parser(ChatCompletionChunk), "req")
    chunks = [c for piece in split_anywhere(text.encode(), cuts) for c in parser.feed(piece)]
    parser.finish()
    assert parser.done
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(deltas)


@settings(max_examples=200, deadline=None)
@given(event_streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_a_leading_byte_order_mark_is_dropped_wherever_the_stream_is_split(
    stream: tuple[str, list[ServerSentEvent]], cuts: list[int]
) -> None:
    text, expected = stream
    decoder = SSEDecoder()
    raw = "\ufeff".encode() + text.encode()
    events = [e for piece in split_anywhere(raw, cuts) for e in decoder.feed(piece)]
    events += decoder.flush()
    assert events == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_retry_is_read_only_from_ascii_digits_and_never_raises(value: str, newline: str) -> None:
    value = value.replace("\r", "").replace("\n", "")
    decoder = SSEDecoder()
    events = decoder.feed(f"retry: {value}{newline}data: x{newline}{newline}".encode())
    assert [e.data for e in events] == ["x"]
    expected = int(value) if value.isascii() and value.isdigit() else None
    assert events[0].retry == expected


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64 * 1024), st.sampled_from(["\n", "\r\n", "\r"]))
def test_a_one_mebibyte_line_in_any_piece_size_is_read(piece: int, newline: str) -> None:
    data = "x" * (1024 * 1024)
    raw = f"data: {data}{newline}{newline}".encode()
    decoder = SSEDecoder()
    events = [
        e for start in range(0, len(raw), piece) for e in decoder.feed(raw[start : start + piece])
    ]
    assert [len(e.data) for e in events] == [len(data)]
