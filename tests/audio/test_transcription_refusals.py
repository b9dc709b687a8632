"""The server's refusal of a model on the transcription route, read by the same gate as the
Responses API's: it names the transcription models (one listing), and only a 400 that is about
the model on this route is read as one."""

from __future__ import annotations

import httpx
import pytest

from compactifai import BadRequestError, CompactifAIClient, ModelCapabilityError
from compactifai.audio import TRANSCRIPTION_GATE
from compactifai.capabilities import is_refusal
from compactifai.emulator import Emulator
from compactifai.responses import RESPONSES_GATE

from .conftest import WHISPER, tone, transcription_requests

pytestmark = pytest.mark.emulator


def test_the_servers_refusal_names_the_transcription_models(live: Emulator) -> None:
    """Nothing listed, and the bundled table does not know the model: it is sent, and the
    refusal lists the catalog once to name the models that transcribe."""
    chat = {"supports_audio": False, "support_chat_completion": True}
    whisper = {"supports_audio": True, "support_chat_completion": False}
    live.serve_catalog(
        {
            "object": "list",
            "data": [
                {"id": "acme-chat-7b", "capabilities": chat},
                {"id": WHISPER, "capabilities": whisper},
            ],
        }
    )
    with CompactifAIClient(api_key=live.api_key, base_url=live.base_url, max_retries=0) as c:
        with pytest.raises(ModelCapabilityError) as caught:
            c.transcribe(tone(1.0), model="acme-chat-7b")
        assert caught.value.available == [WHISPER] and caught.value.request_id
        assert f"transcription models served: {WHISPER}" in str(caught.value)
        # That listing is this server's catalog now: the next try is refused before sending.
        with pytest.raises(ModelCapabilityError, match="supports_audio: false"):
            c.transcribe(tone(1.0), model="acme-chat-7b")
    assert len(transcription_requests(live)) == 1


def _bad_request(message: str) -> BadRequestError:
    return BadRequestError(message, status_code=400, body={"detail": message})


@pytest.mark.parametrize(
    ("message", "transcription", "responses"),
    [
        ("Invalid request: Model 'm' does not support audio transcriptions", True, False),
        ("This model cannot transcribe audio", True, False),
        ("Unsupported audio format: expected wav", False, False),  # about the file
        ("Audio could not be decoded by model 'm'", False, False),
        ("This model does not support the Responses API.", False, True),
        ("Responses are not enabled for model 'm'", False, True),
        ("Previous response resp_1 is not available for this model", False, False),
        ("Model 'm' not found; available: [a, b]", False, False),  # a withdrawn model
    ],
)
def test_only_a_refusal_of_the_model_on_the_route_is_read_as_one(
    message: str, transcription: bool, responses: bool
) -> None:
    error = _bad_request(message)
    assert is_refusal(TRANSCRIPTION_GATE, error, "m") is transcription
    assert is_refusal(RESPONSES_GATE, error, "m") is responses


def test_a_refusal_of_a_model_not_on_the_route_stays_a_bad_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"detail": "Unsupported audio format: expected wav"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with CompactifAIClient(api_key="k", base_url="http://audio.test/v1", http_client=http) as c:
        with pytest.raises(BadRequestError) as caught:
            c.transcribe(tone(1.0), model=WHISPER)
    assert type(caught.value) is BadRequestError
