"""``transcribe`` on the sync and async clients: inputs, formats, what is refused before
sending (nothing reaches the server), and retries that re-send the whole file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from compactifai import (
    AsyncCompactifAIClient,
    CompactifAIClient,
    InternalServerError,
    ModelCapabilityError,
    ModelNotFoundError,
    RequestValidationError,
    Transcription,
    TranscriptionSegment,
)
from compactifai.audio import MAX_AUDIO_BYTES, TRANSCRIPTION_GATE, AudioUpload, transcription
from compactifai.emulator import Emulator

from .conftest import CHAT_MODEL, WHISPER, tone, transcription_requests

pytestmark = pytest.mark.emulator


class OneWayStream(io.RawIOBase):
    """A pipe-like binary stream: it can be read once, never rewound."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "standup.wav"
    path.write_bytes(tone(7.0))
    return path


def _inputs(path: Path) -> dict[str, Any]:
    return {
        "path": path,
        "str path": str(path),
        "bytes": path.read_bytes(),
        "file object": path.open("rb"),
        "in-memory file": io.BytesIO(path.read_bytes()),
        "one-way stream": OneWayStream(path.read_bytes()),
    }


def test_every_kind_of_input_gives_the_same_transcription(
    client: CompactifAIClient, recording: Path, live: Emulator
) -> None:
    texts = {}
    for kind, file in _inputs(recording).items():
        answer = client.transcribe(file)
        assert isinstance(answer, Transcription), kind
        texts[kind] = answer.text
        if hasattr(file, "close"):
            file.close()
    assert len(set(texts.values())) == 1, texts
    names = [body["filename"] for body in transcription_requests(live)]
    # Named after the path or file object; bytes and streams get a name from their content.
    assert names == [
        "standup.wav",
        "standup.wav",
        "audio.wav",
        "standup.wav",
        "audio.wav",
        "audio.wav",
    ]


def test_verbose_json_is_typed_and_other_formats_are_the_text(
    client: CompactifAIClient, recording: Path
) -> None:
    verbose = client.transcribe(recording, response_format="verbose_json", language="en")
    assert isinstance(verbose, Transcription)
    assert verbose.language == "en"
    assert verbose.duration == pytest.approx(7.0)
    assert verbose.segments and isinstance(verbose.segments[0], TranscriptionSegment)
    assert verbose.segments[-1].end == pytest.approx(7.0)
    assert verbose.usage is not None and verbose.usage.seconds == 7
    assert verbose.request_id
    plain = client.transcribe(recording)
    assert isinstance(plain, Transcription) and plain.text == verbose.text
    assert plain.segments is None and plain.duration is None
    text = client.transcribe(recording, response_format="text")
    assert isinstance(text, str) and text.strip() == verbose.text
    srt = client.transcribe(recording, response_format="srt")
    assert isinstance(srt, str) and srt.startswith("1\n00:00:00,000 --> 00:00:")
    vtt = client.transcribe(recording, response_format="vtt")
    assert isinstance(vtt, str) and vtt.startswith("WEBVTT")
    for subtitles in (srt, vtt):
        for segment in verbose.segments:
            assert segment.text.strip() in subtitles


def test_name_and_type_can_be_given(client: CompactifAIClient, live: Emulator) -> None:
    client.transcribe(tone(1.0), filename="kickoff.wav", content_type="audio/x-wav")
    (body,) = transcription_requests(live)
    assert body["filename"] == "kickoff.wav"


def test_options_reach_the_server(client: CompactifAIClient, live: Emulator) -> None:
    client.transcribe(
        tone(1.0),
        language="es",
        prompt="CompactifAI, Multiverse",
        temperature=0.2,
        timestamp_granularities=["segment"],
    )
    (body,) = transcription_requests(live)
    assert body["language"] == "es"
    assert body["prompt"] == "CompactifAI, Multiverse"
    assert body["temperature"] == "0.2"
    client.transcribe(tone(1.0), language="DE", temperature=0, timestamp_granularities="word")
    assert transcription_requests(live)[-1]["language"] == "de"
    assert transcription_requests(live)[-1]["temperature"] == "0.0"


def test_the_form_carries_each_field_as_the_service_reads_it() -> None:
    upload = AudioUpload("a.mp3", b"ID3\x04", "audio/mpeg", 4)
    op = transcription(
        upload,
        language="EN",
        temperature=1,
        timestamp_granularities="segment",
        response_format="srt",
    )
    assert op.form == {
        "model": WHISPER,
        "language": "en",
        "response_format": "srt",
        "temperature": "1.0",
        "timestamp_granularities[]": ["segment"],
    }
    assert op.raw and op.model == WHISPER and op.gate is TRANSCRIPTION_GATE


async def test_the_async_client_gives_the_same_answers(
    aclient: AsyncCompactifAIClient, client: CompactifAIClient, recording: Path
) -> None:
    expected = client.transcribe(recording, response_format="verbose_json")
    assert isinstance(expected, Transcription)
    for kind, file in _inputs(recording).items():
        answer = await aclient.transcribe(file)
        assert isinstance(answer, Transcription), kind
        assert answer.text == expected.text, kind
    verbose = await aclient.transcribe(recording, response_format="verbose_json")
    assert isinstance(verbose, Transcription)
    assert verbose.model_dump() == expected.model_dump()
    for fmt in ("text", "srt", "vtt"):
        assert await aclient.transcribe(recording, response_format=fmt) == client.transcribe(
            recording, response_format=fmt
        )


# ---------------------------------------------------------------------------- refused before sending


def _refused(client: CompactifAIClient, file: Any, **options: Any) -> RequestValidationError:
    with pytest.raises(RequestValidationError) as caught:
        client.transcribe(file, **options)
    return caught.value


def test_a_file_over_25_mb_is_refused_naming_the_limit(
    client: CompactifAIClient, tmp_path: Path, live: Emulator
) -> None:
    huge = tmp_path / "all-hands.wav"
    with huge.open("wb") as handle:
        handle.truncate(MAX_AUDIO_BYTES + 1)  # sparse: no disk used, nothing read
    for file in (huge, io.BytesIO(bytes(MAX_AUDIO_BYTES + 1))):
        error = _refused(client, file)
        assert error.field == "file"
        assert f"{MAX_AUDIO_BYTES + 1} bytes" in str(error)
        assert "at most 25 MB" in str(error)
    error = _refused(client, OneWayStream(bytes(MAX_AUDIO_BYTES + 10)))
    assert "at most 25 MB" in str(error)
    assert transcription_requests(live) == []


@pytest.mark.parametrize(
    ("file", "options", "field", "says"),
    [
        (b"plain text, not audio", {}, "file", "not a known audio type"),
        (b"RIFF....WAVE", {"filename": "notes.txt"}, "file", "'notes.txt' is not a known audio"),
        (b"", {}, "file", "is empty"),
        (b"ID3\x04" + bytes(100), {"content_type": "text/plain"}, "content_type", "not an audio"),
        # The form fields are validated like every request body: the field path, pydantic's
        # reason and the value given.
        (
            b"ID3\x04" + bytes(100),
            {"response_format": "docx"},
            "response_format",
            "'verbose_json' or 'vtt' (got 'docx')",
        ),
        (b"ID3\x04" + bytes(100), {"temperature": 1.5}, "temperature", "less than or equal to 1"),
        (b"ID3\x04" + bytes(100), {"temperature": True}, "temperature", "valid number"),
        (b"ID3\x04" + bytes(100), {"language": "english"}, "language", "ISO-639-1"),
        (b"ID3\x04" + bytes(100), {"prompt": 3}, "prompt", "valid string (got 3)"),
        (
            b"ID3\x04" + bytes(100),
            {"timestamp_granularities": ["word", "char"]},
            "timestamp_granularities[1]",
            "'word' or 'segment' (got 'char')",
        ),
        (
            b"ID3\x04" + bytes(100),
            {"timestamp_granularities": []},
            "timestamp_granularities",
            "at least 1 item",
        ),
        (io.StringIO("text"), {}, "file", "binary mode"),
        (12, {}, "file", "expected a path, bytes or a binary file object"),
    ],
)
def test_bad_input_is_refused_before_sending(
    client: CompactifAIClient,
    live: Emulator,
    file: Any,
    options: dict[str, Any],
    field: str,
    says: str,
) -> None:
    error = _refused(client, file, **options)
    assert error.field == field
    assert says in str(error)
    assert live.requests == []


def test_a_missing_path_is_refused(client: CompactifAIClient, tmp_path: Path) -> None:
    error = _refused(client, tmp_path / "nope.mp3")
    assert "no such file" in str(error)


def test_a_chat_model_is_refused_before_sending(client: CompactifAIClient, live: Emulator) -> None:
    with pytest.raises(ModelCapabilityError) as caught:
        client.transcribe(tone(1.0), model=CHAT_MODEL)
    error = caught.value
    assert error.route == "/v1/audio/transcriptions"
    assert error.model == CHAT_MODEL and error.available == [WHISPER]
    assert error.attempts == 0 and error.request_id is None
    assert "Refused before sending: it is a chat model" in str(error)
    assert live.requests == []


def test_with_the_catalog_listed_models_that_do_not_transcribe_are_refused(
    client: CompactifAIClient, live: Emulator
) -> None:
    client.list_models()
    with pytest.raises(ModelNotFoundError) as unknown:
        client.transcribe(tone(1.0), model="whisper-large-v3")
    assert not isinstance(unknown.value, ModelCapabilityError)
    assert unknown.value.attempts == 0
    assert unknown.value.available is not None and WHISPER in unknown.value.available
    assert f"transcription models served: {WHISPER}" in str(unknown.value)
    with pytest.raises(ModelCapabilityError) as chat:  # the table leaves glm-5-1's audio open
        client.transcribe(tone(1.0), model="glm-5-1")
    assert "supports_audio: false" in str(chat.value)
    assert chat.value.available == [WHISPER]
    assert transcription_requests(live) == []
    assert isinstance(client.transcribe(tone(1.0)), Transcription)


async def test_the_async_client_refuses_the_same(
    aclient: AsyncCompactifAIClient, live: Emulator
) -> None:
    with pytest.raises(RequestValidationError, match="at most 25 MB"):
        await aclient.transcribe(bytes(MAX_AUDIO_BYTES + 1), filename="a.wav")
    with pytest.raises(ModelCapabilityError, match="chat model"):
        await aclient.transcribe(tone(1.0), model=CHAT_MODEL)
    await aclient.list_models()
    with pytest.raises(ModelNotFoundError, match="not in the catalog"):
        await aclient.transcribe(tone(1.0), model="whisper-1")
    assert transcription_requests(live) == []


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_the_servers_refusal_of_a_chat_model_is_a_capability_error(
    live: Emulator, asynchronous: bool
) -> None:
    """A model the bundled table does not know is sent; the server's 400 is typed all the same."""
    flags = {"supports_audio": False, "support_chat_completion": True}
    whisper = {"supports_audio": True, "support_chat_completion": False}
    live.serve_catalog(
        {
            "object": "list",
            "data": [
                {"id": "acme-chat-7b", "owned_by": "acme", "capabilities": flags},
                {"id": WHISPER, "owned_by": "multiverse_computing", "capabilities": whisper},
            ],
        }
    )
    options = {"api_key": live.api_key, "base_url": live.base_url, "max_retries": 0}

    async def send() -> None:
        if asynchronous:
            async with AsyncCompactifAIClient(**options) as aclient:
                await aclient.transcribe(tone(1.0), model="acme-chat-7b")
        else:
            with CompactifAIClient(**options) as client:
                client.transcribe(tone(1.0), model="acme-chat-7b")

    with pytest.raises(ModelCapabilityError) as caught:
        await send()
    error = caught.value
    assert error.status_code == 400 and error.request_id and error.attempts == 1
    assert error.route == "/v1/audio/transcriptions"
    assert "Server said: Invalid request: Model 'acme-chat-7b' does not support audio" in str(error)
    assert len(transcription_requests(live)) == 1


def test_without_the_catalog_the_server_refuses_an_unknown_model(
    client: CompactifAIClient, live: Emulator
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        client.transcribe(tone(1.0), model="whisper-large-v3")
    assert caught.value.status_code == 400
    assert caught.value.available is not None and WHISPER in caught.value.available


# ---------------------------------------------------------------------------- retries (billable)


def _counting_client(live: Emulator, max_retries: int) -> tuple[CompactifAIClient, list[int]]:
    sent: list[int] = []

    def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/audio/transcriptions"):
            sent.append(1)

    http = httpx.Client(event_hooks={"request": [count]})
    client = CompactifAIClient(
        api_key=live.api_key, base_url=live.base_url, max_retries=max_retries, http_client=http
    )
    return client, sent


@pytest.mark.parametrize("kind", ["path", "file object", "one-way stream", "bytes"])
def test_a_retry_re_sends_the_whole_file_and_only_as_the_policy_allows(
    live: Emulator, recording: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compactifai._client

    monkeypatch.setattr(compactifai._client, "_sleep", lambda seconds: None)
    expected = recording.stat().st_size
    live.inject_fault("status", status=500, count=1, path="/v1/audio/transcriptions")
    client, sent = _counting_client(live, max_retries=1)
    answer = client.transcribe(_inputs(recording)[kind])
    assert isinstance(answer, Transcription) and answer.text
    assert len(sent) == 2
    (body,) = transcription_requests(live)  # the fault answered the first before reading it
    assert body["bytes"] == expected


def test_no_retry_is_sent_when_the_policy_allows_none(live: Emulator, recording: Path) -> None:
    live.inject_fault("status", status=500, count=1, path="/v1/audio/transcriptions")
    client, sent = _counting_client(live, max_retries=0)
    with pytest.raises(InternalServerError):
        client.transcribe(recording)
    assert len(sent) == 1
    assert live.ledger.records == []


async def test_the_async_client_retries_the_same_way(
    live: Emulator, recording: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compactifai._client

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(compactifai._client, "_async_sleep", no_wait)
    size = len(tone(7.0))
    live.inject_fault("status", status=503, count=2, path="/v1/audio/transcriptions")
    async with AsyncCompactifAIClient(
        api_key=live.api_key, base_url=live.base_url, max_retries=2
    ) as aclient:
        with recording.open("rb") as handle:
            answer = await aclient.transcribe(handle, response_format="text")
    assert isinstance(answer, str) and answer.strip()
    (body,) = transcription_requests(live)
    assert body["bytes"] == size
