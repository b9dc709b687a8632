"""Audio made here with the ``wave`` module (a few KB each), and a live emulator to send it to."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient, Transcription
from compactifai.emulator import Emulator
from tests.emulator_fixtures import running_emulator

pytestmark = pytest.mark.emulator

WHISPER = "cai-whisper-large-v3-turbo-slim"
CHAT_MODEL = "hypernova-60b"
RATE = 4000  # samples a second: a few KB for a few seconds of 8-bit tone


def tone(seconds: float = 6.0, frequency: float = 440.0, rate: int = RATE) -> bytes:
    """A WAV file of a sine tone: 8-bit mono PCM, ``rate`` samples a second."""
    frames = bytes(
        128 + round(100 * math.sin(2 * math.pi * frequency * i / rate))
        for i in range(round(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return buffer.getvalue()


def transcribed(client: CompactifAIClient, path: Path) -> Transcription:
    """What ``client.transcribe`` answers for ``path`` (verbose): what a loader's documents must hold."""
    answer = client.transcribe(path, response_format="verbose_json")
    assert isinstance(answer, Transcription)
    return answer


def fake_mp3(size: int) -> bytes:
    """An ID3-tagged body of ``size`` bytes: announces mp3 (the emulator estimates its length)."""
    return b"ID3" + struct.pack(">B", 4) + bytes(size - 4)


emu = running_emulator(name="emu", scope="session", api_keys=("test-key",))


@pytest.fixture
def live(emu: Emulator) -> Emulator:
    """The emulator with no faults, usage or requests left from another test, and no catalog
    remembered from one (``list_models()`` answers are kept per process, server and key)."""
    from compactifai import _served_catalog

    emu.reset()
    _served_catalog.forget()
    return emu


@pytest.fixture
def client(live: Emulator) -> Iterator[CompactifAIClient]:
    with CompactifAIClient(api_key=live.api_key, base_url=live.base_url) as c:
        yield c


@pytest.fixture
async def aclient(live: Emulator) -> AsyncIterator[AsyncCompactifAIClient]:
    async with AsyncCompactifAIClient(api_key=live.api_key, base_url=live.base_url) as c:
        yield c


def transcription_requests(emu: Emulator) -> list[dict[str, object]]:
    """The bodies the emulator recorded for transcription requests, oldest first."""
    return [r.body for r in emu.requests if r.path == "/v1/audio/transcriptions"]
