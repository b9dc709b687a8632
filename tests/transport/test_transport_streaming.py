"""SSE streaming: incremental delivery, [DONE], usage chunks, incomplete streams, retries."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator

import httpx
import pytest

from compactifai import IncompleteStreamError, InternalServerError, RateLimitError
from compactifai._sse import ServerSentEvent, SSEDecoder
from compactifai.chat import StreamAccumulator
from compactifai.types import ChatCompletionChunk
from tests.transport.conftest import Make
from tests.transport.drivers import CHAT, chunk, sse, stream_response


async def test_stream_yields_typed_chunks_and_stops_at_done(make: Make) -> None:
    body = sse(chunk("Hello"), chunk(" there")) + b'data: {"not": "read"}\n\n'
    driver, recorder = make(stream_response(body, "req-s1"))
    chunks = await driver.stream(**CHAT)
    assert [c.choices[0].delta.content for c in chunks] == ["Hello", " there"]
    assert all(c.request_id == "req-s1" for c in chunks)
    assert recorder.bodies[0]["stream"] is True
    assert recorder.requests[0].headers["accept"] == "text/event-stream"


async def test_a_chunks_request_id_survives_copies_and_pickling_and_stays_out_of_dumps(
    make: Make,
) -> None:
    driver, _ = make(stream_response(sse(chunk("Hello")), "req-s2"))
    (first,) = await driver.stream(**CHAT)
    for kept in (copy.copy(first), copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert kept.request_id == "req-s2"
        assert kept == first
    assert "req-s2" not in json.dumps(first.model_dump())
    assert first.model_copy(update={"id": "other"}).request_id == "req-s2"


async def test_a_chunk_gives_back_its_json_as_sent_keys_and_extras_included(make: Make) -> None:
    sent = chunk(reasoning_content="hmm", finish=None)
    sent["system_fingerprint"] = "fp-1"  # a field our type does not declare
    driver, _ = make(stream_response(sse(sent)))
    (received,) = await driver.stream(**CHAT)
    assert received.choices[0].delta.reasoning == "hmm"  # read through the alias
    assert received.as_sent() == sent  # but given back with the server's own key
    assert copy.deepcopy(received).as_sent() == sent
    built = ChatCompletionChunk(id="c-1", model="m")  # no JSON behind it: its fields as given
    assert built.as_sent() == {"id": "c-1", "model": "m"}


async def test_openai_framing_with_role_finish_and_usage_only_chunk(make: Make) -> None:
    usage_only = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                  "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}  # fmt: skip
    body = sse(
        chunk("", role="assistant"), chunk("Hi"), chunk("!"), chunk(finish="stop"), usage_only
    )
    driver, recorder = make(stream_response(body))
    chunks = await driver.stream(stream_options={"include_usage": True}, **CHAT)
    acc = StreamAccumulator()
    for c in chunks:
        acc.add(c)
    assert acc.text == "Hi!"
    assert acc.finish_reason == "stop"
    assert acc.usage is not None and (acc.usage.prompt_tokens, acc.usage.completion_tokens) == (
        9,
        2,
    )
    assert chunks[-1].choices == []
    assert recorder.bodies[0]["stream_options"] == {"include_usage": True}


async def test_streamed_tool_call_fragments_are_reassembled(make: Make) -> None:
    first = {
        "index": 0,
        "id": "chatcmpl-tool-1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    body = sse(
        chunk(tool_calls=[first]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"location": '}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}]),
        chunk(finish="tool_calls"),
    )  # fmt: skip
    driver, _ = make(stream_response(body))
    acc = StreamAccumulator()
    for c in await driver.stream(**CHAT):
        acc.add(c)
    [call] = acc.tool_calls
    assert (call.id, call.name, call.args, call.error) == (
        "chatcmpl-tool-1",
        "get_weather",
        {"location": "Paris"},
        None,
    )
    assert acc.finish_reason == "tool_calls"


async def test_chunks_arrive_before_the_stream_ends(make: Make) -> None:
    produced: list[int] = []
    seen_when_delivered: list[int] = []

    def body() -> Iterator[bytes]:
        for i in range(3):
            produced.append(i)
            yield sse(chunk(str(i)), done=False)
        yield b"data: [DONE]\n\n"

    driver, _ = make(stream_response(body()))

    class Sink(list[object]):
        def append(self, item: object) -> None:
            seen_when_delivered.append(len(produced))
            super().append(item)

    sink = Sink()
    await driver.stream_into(sink, **CHAT)
    assert len(sink) == 3
    assert seen_when_delivered == [1, 2, 3]  # each chunk reached us before the next was produced


async def test_stream_without_done_raises_incomplete_after_delivering_chunks(make: Make) -> None:
    driver, _ = make(stream_response(sse(chunk("Hel"), chunk("lo"), done=False), "req-cut"))
    received: list[object] = []
    with pytest.raises(IncompleteStreamError) as info:
        await driver.stream_into(received, **CHAT)
    assert len(received) == 2
    assert info.value.chunks_received == 2
    assert info.value.request_id == "req-cut"
    assert "[DONE]" in str(info.value)


async def test_stream_broken_midway_raises_incomplete_and_is_not_retried(
    make: Make, sleeps: list[float]
) -> None:
    def body() -> Iterator[bytes]:
        yield sse(chunk("partial"), done=False)
        raise httpx.ReadError("connection reset")

    driver, recorder = make(stream_response(body()))
    received: list[object] = []
    with pytest.raises(IncompleteStreamError) as info:
        await driver.stream_into(received, **CHAT)
    assert len(received) == 1
    assert "ReadError" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert len(recorder.requests) == 1 and sleeps == []


async def test_stream_broken_before_first_chunk_is_retried(make: Make, sleeps: list[float]) -> None:
    def broken() -> Iterator[bytes]:
        raise httpx.ReadError("reset before any data")
        yield b""  # pragma: no cover

    driver, recorder = make(stream_response(broken()), stream_response(sse(chunk("ok"))))
    chunks = await driver.stream(**CHAT)
    assert [c.choices[0].delta.content for c in chunks] == ["ok"]
    assert len(recorder.requests) == 2 and len(sleeps) == 1


async def test_stream_error_status_is_retried_then_streams(make: Make, sleeps: list[float]) -> None:
    driver, recorder = make(
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "0"}),
        stream_response(sse(chunk("fine"))),
    )
    chunks = await driver.stream(**CHAT)
    assert chunks[0].choices[0].delta.content == "fine"
    assert len(recorder.requests) == 2 and sleeps == [0.0]


async def test_stream_error_status_after_retries_is_typed(make: Make, sleeps: list[float]) -> None:
    driver, recorder = make(httpx.Response(429, json={"error": {"message": "slow down"}}))
    with pytest.raises(RateLimitError, match="slow down"):
        await driver.stream(**CHAT)
    assert len(recorder.requests) == 3


async def test_error_object_inside_a_stream_is_raised(make: Make) -> None:
    body = sse(
        chunk("a"), {"error": {"type": "server_error", "message": "model crashed"}}, done=False
    )
    driver, _ = make(stream_response(body, "req-e"))
    received: list[object] = []
    with pytest.raises(InternalServerError) as info:
        await driver.stream_into(received, **CHAT)
    assert len(received) == 1
    assert info.value.message == "model crashed" and info.value.request_id == "req-e"


async def test_garbage_line_in_a_stream_is_a_typed_error(make: Make) -> None:
    from compactifai import APIResponseValidationError

    driver, _ = make(stream_response(sse(chunk("a"), "this is not json")))
    with pytest.raises(APIResponseValidationError, match="malformed JSON"):
        await driver.stream(**CHAT)


async def test_json_answer_to_a_stream_request_is_a_typed_error(make: Make) -> None:
    from compactifai import APIResponseValidationError

    driver, _ = make(httpx.Response(200, json={"choices": []}))
    with pytest.raises(APIResponseValidationError, match="text/event-stream"):
        await driver.stream(**CHAT)


# ---------------------------------------------------------------------------- SSE decoder


def decode(parts: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for p in parts for e in decoder.feed(p)]
    return events + decoder.flush()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_decoder_line_endings_comments_and_multiline_data(newline: bytes) -> None:
    text = b': keep-alive\n\nevent: note\nid: 7\ndata: first\ndata:second\n\ndata: {"a": 1}\n\n'.replace(
        b"\n", newline
    )
    for size in (1, 2, 3, 7, len(text)):
        parts = [text[i : i + size] for i in range(0, len(text), size)]
        assert decode(parts) == [
            ServerSentEvent(data="first\nsecond", event="note", id="7"),
            ServerSentEvent(data='{"a": 1}', id="7"),
        ]


def test_decoder_keeps_multibyte_characters_split_across_reads() -> None:
    raw = 'data: {"content": "café ☕ — 日本"}\n\n'.encode()
    parts = [raw[i : i + 1] for i in range(len(raw))]
    assert decode(parts) == [ServerSentEvent(data='{"content": "café ☕ — 日本"}')]


def test_decoder_does_not_split_on_unicode_line_separators() -> None:
    assert decode(["data: a\u2028b\x85c\n\n".encode()]) == [ServerSentEvent(data="a\u2028b\x85c")]


def test_decoder_flushes_a_final_event_without_blank_line() -> None:
    assert decode([b"data: [DONE]"]) == [ServerSentEvent(data="[DONE]")]
