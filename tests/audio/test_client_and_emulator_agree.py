"""The client refuses before sending exactly what the emulator, playing the service, refuses:
the same size limit and the same audio types (both read service-2026.md §6 from one place,
``compactifai._audio_formats``; these tests catch a side that stops following it)."""

from __future__ import annotations

import httpx
import pytest

from compactifai.audio import MAX_AUDIO_BYTES, open_audio
from compactifai.emulator import Emulator
from compactifai.errors import RequestValidationError

from .conftest import WHISPER, fake_mp3

pytestmark = pytest.mark.emulator

# Each accepted type, and names close to them the service does not take.
NAMES = [
    *(f"talk.{extension}" for extension in ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga")),
    *(f"talk.{extension}" for extension in ("ogg", "wav", "webm", "aac", "opus", "wma", "txt")),
]


def _client_accepts(content: bytes, filename: str) -> bool:
    try:
        with open_audio(content, filename=filename):
            return True
    except RequestValidationError:
        return False


def _emulator_status(live: Emulator, content: bytes, filename: str) -> int:
    with httpx.Client(
        base_url=live.base_url, headers={"authorization": f"Bearer {live.api_key}"}, timeout=60
    ) as http:
        return http.post(
            "/audio/transcriptions", files={"file": (filename, content)}, data={"model": WHISPER}
        ).status_code


@pytest.mark.parametrize("filename", NAMES)
def test_the_same_file_types_are_accepted(live: Emulator, filename: str) -> None:
    # The content is mp3 whatever the name says: the type in question is the name's.
    content = fake_mp3(4096)
    accepted = _client_accepts(content, filename)
    assert _emulator_status(live, content, filename) == (200 if accepted else 400)
    assert accepted == (filename.rpartition(".")[2] not in ("aac", "opus", "wma", "txt"))


def test_the_same_size_limit(live: Emulator) -> None:
    largest = fake_mp3(MAX_AUDIO_BYTES)
    assert _client_accepts(largest, "long.mp3")
    assert _emulator_status(live, largest, "long.mp3") == 200
    too_large = largest + b"\0"
    assert not _client_accepts(too_large, "long.mp3")
    assert _emulator_status(live, too_large, "long.mp3") == 413
