"""The emulator's ``POST /v1/audio/transcriptions``, driven by the official ``openai`` SDK as a
user of the service would (and by raw httpx for what the SDK cannot send)."""

from __future__ import annotations

import itertools
import math

import httpx
import openai
import pytest

from compactifai import CompactifAIClient, Transcription
from compactifai.emulator import Emulator
from compactifai.emulator.audio import (
    ESTIMATED_BYTES_PER_SECOND,
    MAX_AUDIO_BYTES,
    SECONDS_PER_SENTENCE,
)

from .conftest import CHAT_MODEL, WHISPER, fake_mp3, tone, transcription_requests

pytestmark = pytest.mark.emulator


@pytest.fixture
def sdk(live: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.base_url, api_key=live.api_key, max_retries=0)


@pytest.fixture
def http(live: Emulator) -> httpx.Client:
    return httpx.Client(
        base_url=live.base_url, headers={"authorization": f"Bearer {live.api_key}"}, timeout=30
    )


def test_the_sdk_transcribes_in_every_format_with_the_same_text(sdk: openai.OpenAI) -> None:
    audio = tone(9.0)
    verbose = sdk.audio.transcriptions.create(
        model=WHISPER,
        file=("meeting.wav", audio),
        response_format="verbose_json",
        timestamp_granularities=["segment", "word"],  # accepted, ignored (as the service)
    )
    assert verbose.text and verbose.text.endswith(".")
    assert verbose.language == "en"
    assert verbose.duration == pytest.approx(9.0)
    segments = verbose.segments or []
    assert len(segments) == round(9.0 / SECONDS_PER_SENTENCE)
    assert segments[0].start == 0 and segments[-1].end == pytest.approx(9.0)
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))
    assert " ".join(s.text.strip() for s in segments) == verbose.text

    plain = sdk.audio.transcriptions.create(model=WHISPER, file=("meeting.wav", audio))
    assert plain.text == verbose.text
    assert plain.usage is not None and plain.usage.type == "duration"
    assert plain.usage.seconds == 9

    text = sdk.audio.transcriptions.create(
        model=WHISPER, file=("meeting.wav", audio), response_format="text"
    )
    assert text.strip() == verbose.text

    srt = sdk.audio.transcriptions.create(
        model=WHISPER, file=("meeting.wav", audio), response_format="srt"
    )
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert f"{len(segments)}\n" in srt
    cues = [line for line in srt.splitlines() if line and "-->" not in line and not line.isdigit()]
    assert " ".join(cues) == verbose.text

    vtt = sdk.audio.transcriptions.create(
        model=WHISPER, file=("meeting.wav", audio), response_format="vtt"
    )
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    cues = [line for line in vtt.splitlines()[1:] if line and "-->" not in line]
    assert " ".join(cues) == verbose.text


def test_verbose_json_has_the_documented_shape_and_no_words_even_when_asked(
    http: httpx.Client, client: CompactifAIClient
) -> None:
    """``timestamp_granularities`` is "accepted, ignored" (service-2026.md §6): asking for words
    gives the documented answer (task, language, duration, text, segments), with no ``words``,
    and the client's type takes it so."""
    response = http.post(
        "/audio/transcriptions",
        files={"file": ("call.wav", tone(9.0), "audio/wav")},
        data={
            "model": WHISPER,
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        },
    )
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"task", "language", "duration", "text", "segments", "usage"}
    assert payload["task"] == "transcribe" and payload["language"] == "en"
    assert {"id", "start", "end", "text"} <= set(payload["segments"][0])
    typed = client.transcribe(
        tone(9.0), response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert isinstance(typed, Transcription)
    assert typed.words is None
    assert typed.text == payload["text"] and typed.segments
    assert [s.text for s in typed.segments] == [s["text"] for s in payload["segments"]]


def test_the_same_audio_always_reads_the_same_and_other_audio_differently(
    sdk: openai.OpenAI,
) -> None:
    first = sdk.audio.transcriptions.create(model=WHISPER, file=("a.wav", tone(4.0, 440)))
    again = sdk.audio.transcriptions.create(
        model=WHISPER,
        file=("renamed.wav", tone(4.0, 440)),
        prompt="Names: CompactifAI",
        temperature=0.7,
        language="fr",
    )
    other = sdk.audio.transcriptions.create(model=WHISPER, file=("a.wav", tone(4.0, 523)))
    assert first.text == again.text
    assert first.text != other.text


def test_a_wav_duration_comes_from_its_header_others_are_estimated_from_size(
    sdk: openai.OpenAI,
) -> None:
    wav = sdk.audio.transcriptions.create(
        model=WHISPER, file=("short.wav", tone(2.5)), response_format="verbose_json"
    )
    assert wav.duration == pytest.approx(2.5)
    size = 5 * ESTIMATED_BYTES_PER_SECOND
    mp3 = sdk.audio.transcriptions.create(
        model=WHISPER, file=("call.mp3", fake_mp3(size)), response_format="verbose_json"
    )
    assert mp3.duration == pytest.approx(5.0)
    assert mp3.language == "en"


def test_an_unknown_response_format_answers_json_as_the_service_does(http: httpx.Client) -> None:
    response = http.post(
        "/audio/transcriptions",
        files={"file": ("a.wav", tone(2.0), "audio/wav")},
        data={"model": WHISPER, "response_format": "yaml"},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"text", "usage"}


def test_usage_is_billed_per_second_with_a_one_minute_minimum(
    sdk: openai.OpenAI, live: Emulator
) -> None:
    sdk.audio.transcriptions.create(model=WHISPER, file=("a.wav", tone(3.2)))
    long_call = fake_mp3(75 * ESTIMATED_BYTES_PER_SECOND + 10)
    sdk.audio.transcriptions.create(model=WHISPER, file=("b.mp3", long_call))
    records = [r for r in live.ledger.records if r.model == WHISPER]
    assert [r.audio_seconds for r in records] == [60, 76]
    assert all(r.input_tokens == r.output_tokens == 0 for r in records)
    assert {r.user_id for r in records} == {live.user_id()}


# ---------------------------------------------------------------------------- refusals


def test_a_chat_model_is_refused_naming_the_transcription_model(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.audio.transcriptions.create(model=CHAT_MODEL, file=("a.wav", tone(1.0)))
    message = caught.value.body["message"]  # type: ignore[index]
    assert "does not support audio transcriptions" in message
    assert WHISPER in message


def test_an_unknown_model_is_refused_listing_the_models(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.audio.transcriptions.create(model="whisper-large-v3", file=("a.wav", tone(1.0)))
    assert "Model 'whisper-large-v3' not found; available: [" in str(caught.value)


@pytest.mark.parametrize(
    ("filename", "content", "says"),
    [
        ("notes.txt", b"just text", "Invalid file format"),
        ("notes.wav", b"just text, not a recording", "could not be decoded"),
        ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", "could not be decoded"),
        ("noname", b"\x00" * 64, "could not be decoded"),
    ],
)
def test_a_file_that_is_not_audio_answers_400(
    sdk: openai.OpenAI, filename: str, content: bytes, says: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.audio.transcriptions.create(model=WHISPER, file=(filename, content))
    assert says in str(caught.value)


def test_a_file_over_25_mb_answers_413(http: httpx.Client, live: Emulator) -> None:
    too_big = fake_mp3(MAX_AUDIO_BYTES + 1)
    response = http.post(
        "/audio/transcriptions",
        files={"file": ("long.mp3", too_big, "audio/mpeg")},
        data={"model": WHISPER},
    )
    assert response.status_code == 413
    assert f"({MAX_AUDIO_BYTES})" in response.json()["error"]["message"]
    # Far over: the gateway refuses the body before the route reads it.
    response = http.post(
        "/audio/transcriptions",
        files={"file": ("long.mp3", too_big + bytes(2 * 2**20), "audio/mpeg")},
        data={"model": WHISPER},
    )
    assert response.status_code == 413
    assert live.ledger.records == []


def test_missing_fields_and_other_bodies(http: httpx.Client) -> None:
    no_file = http.post("/audio/transcriptions", files={"model": (None, WHISPER)})
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["loc"] == ["body", "file"]
    no_model = http.post("/audio/transcriptions", files={"file": ("a.wav", tone(1.0))})
    assert no_model.status_code == 422
    assert no_model.json()["detail"][0]["loc"] == ["body", "model"]
    as_json = http.post("/audio/transcriptions", json={"model": WHISPER, "file": "a.wav"})
    assert as_json.status_code == 400
    assert "multipart/form-data" in as_json.json()["error"]["message"]
    hot = http.post(
        "/audio/transcriptions",
        files={"file": ("a.wav", tone(1.0))},
        data={"model": WHISPER, "temperature": "1.5"},
    )
    assert hot.status_code == 400
    assert hot.json()["error"]["param"] == "temperature"


def test_more_than_one_file_part_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/audio/transcriptions",
        files=[("file", ("a.wav", tone(1.0))), ("file", ("b.wav", tone(1.0)))],
        data={"model": WHISPER},
    )
    assert response.status_code == 400
    assert "Malformed multipart body" in response.json()["error"]["message"]


def test_the_form_is_bounded(http: httpx.Client) -> None:
    many = {f"field{i}": "x" for i in range(40)}
    response = http.post(
        "/audio/transcriptions",
        files={"file": ("a.wav", tone(1.0))},
        data={"model": WHISPER, **many},
    )
    assert response.status_code == 400
    long_prompt = http.post(
        "/audio/transcriptions",
        files={"file": ("a.wav", tone(1.0))},
        data={"model": WHISPER, "prompt": "word " * 20_000},
    )
    assert long_prompt.status_code == 400
    assert "Malformed multipart body" in long_prompt.json()["error"]["message"]


def test_the_key_is_checked_before_anything_is_read(live: Emulator) -> None:
    sdk = openai.OpenAI(base_url=live.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        sdk.audio.transcriptions.create(model=WHISPER, file=("a.wav", tone(1.0)))
    assert transcription_requests(live) == []


def test_the_request_log_keeps_the_form_not_the_audio(sdk: openai.OpenAI, live: Emulator) -> None:
    audio = tone(1.5)
    sdk.audio.transcriptions.create(model=WHISPER, file=("a.wav", audio), language="de")
    (body,) = transcription_requests(live)
    assert body == {
        "model": WHISPER,
        "filename": "a.wav",
        "bytes": len(audio),
        "response_format": "json",
        "language": "de",
        "prompt": None,
        "temperature": None,
    }


def test_segments_cover_the_duration_in_order(sdk: openai.OpenAI) -> None:
    answer = sdk.audio.transcriptions.create(
        model=WHISPER, file=("a.wav", tone(21.0)), response_format="verbose_json"
    )
    segments = answer.segments or []
    assert len(segments) == 5
    assert [s.id for s in segments] == list(range(5))
    assert math.isclose(segments[-1].end, 21.0)
    assert all(s.start < s.end for s in segments)
