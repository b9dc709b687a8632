"""A hostile event stream: lines past the cap, an error object anywhere in an event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compactifai import APIResponseValidationError, BadRequestError, InternalServerError
from compactifai._sse import MAX_LINE_LENGTH, SSEDecoder, SSELineTooLong
from tests.transport.conftest import Make
from tests.transport.drivers import CHAT, chunk, sse, stream_response

PIECE = 64 * 1024


def test_the_cap_is_at_most_16_mib_and_above_one_mib() -> None:
    assert MAX_LINE_LENGTH > 1024 * 1024 and MAX_LINE_LENGTH * 4 <= 16 * 1024 * 1024


@pytest.mark.parametrize("prefix", [b"data: ", b": comment ", b"event: "])
def test_a_line_past_the_cap_raises_before_it_is_all_buffered(prefix: bytes) -> None:
    decoder = SSEDecoder()
    decoder.feed(prefix)

    def feed_until_refused() -> int:
        fed = 0
        while fed < 4 * MAX_LINE_LENGTH:  # bounded: the test fails rather than run away
            fed += PIECE
            try:
                decoder.feed(b"x" * PIECE)
            except SSELineTooLong:
                return fed
        return fed

    assert feed_until_refused() <= MAX_LINE_LENGTH + PIECE


def test_many_data_lines_in_one_event_are_capped_too() -> None:
    decoder = SSEDecoder(max_line_length=1000)
    with pytest.raises(SSELineTooLong):
        decoder.feed(b"data: 0123456789\n" * 200)


def test_a_capped_line_inside_one_piece_is_refused() -> None:
    decoder = SSEDecoder(max_line_length=1000)
    with pytest.raises(SSELineTooLong):
        decoder.feed(b"data: " + b"y" * 5000 + b"\n\n")


async def test_an_endless_line_in_a_stream_is_a_typed_error(make: Make) -> None:
    def endless() -> Iterator[bytes]:
        yield b"data: "
        for _ in range(4 * MAX_LINE_LENGTH // PIECE):  # 16 Mi characters, never a newline
            yield b"z" * PIECE

    driver, _ = make(stream_response(endless(), "req-long"))
    with pytest.raises(APIResponseValidationError, match="longer than") as info:
        await driver.stream(**CHAT)
    assert info.value.request_id == "req-long"


@pytest.mark.parametrize(
    ("event", "error", "status", "message"),
    [
        (
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "error": {"message": "GPU lost", "code": 503},
            },
            InternalServerError,
            503,
            "GPU lost",
        ),
        (
            {
                "id": "chatcmpl-1",
                "choices": [],
                "error": {"message": "context too long", "code": "400"},
            },
            BadRequestError,
            400,
            "context too long",
        ),
        (
            {
                "object": "error",
                "message": "Sampling failed",
                "type": "BadRequestError",
                "code": 400,
            },
            BadRequestError,
            400,
            "Sampling failed",
        ),
        (
            {"object": "error", "message": "engine dead", "code": "engine_dead"},
            InternalServerError,
            500,
            "engine dead",
        ),
        ({"error": "plain words"}, InternalServerError, 500, "plain words"),
    ],
    ids=["error-member-after-id", "with-choices", "vllm-400", "vllm-code-not-a-status", "string"],
)
async def test_an_error_object_anywhere_in_an_event_is_raised_with_its_message(
    make: Make,
    event: dict[str, object],
    error: type[Exception],
    status: int,
    message: str,
) -> None:
    driver, _ = make(stream_response(sse(chunk("a"), event, done=False), "req-e"))
    received: list[object] = []
    with pytest.raises(error) as info:
        await driver.stream_into(received, **CHAT)
    assert len(received) == 1  # the chunk before the error was delivered
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.message == message  # type: ignore[attr-defined]
    assert info.value.request_id == "req-e"  # type: ignore[attr-defined]


async def test_a_chunk_that_merely_mentions_error_is_a_chunk(make: Make) -> None:
    content = '{"error": "this is the answer text", "object": "error"}'
    driver, _ = make(stream_response(sse(chunk(content))))
    chunks = await driver.stream(**CHAT)
    assert chunks[0].choices[0].delta.content == content
