"""Audio transcription for the emulator: ``POST /v1/audio/transcriptions`` (multipart).

Served for the transcription model only (a model whose capabilities say ``supports_audio``
and not ``support_chat_completion``: ``cai-whisper-large-v3-turbo-slim`` today). Like the
service (service-2026.md §6):

- fields ``file`` and ``model`` (required), ``language``, ``prompt``, ``response_format``
  (``json`` | ``text`` | ``srt`` | ``verbose_json`` | ``vtt``; any other value answers
  ``json``), ``temperature`` (0 to 1); ``timestamp_granularities[]``, ``include``,
  ``chunking_strategy`` and ``stream`` are accepted and ignored (the answer is never streamed);
- a file over 25 MB answers 413; a file name whose extension is not an accepted type, or a
  body that is not audio (a WAV that ``wave`` cannot read, bytes no format announces) answers
  400; a chat model answers 400, an unknown model 400 naming the models served.

The "recognised" text is derived from the audio bytes alone (a SHA-256 seeds the choice of
sentences from :mod:`.words`): the same file always reads the same, whatever the format,
prompt or temperature. A WAV's duration is read from its header (``wave``); any other
format's is estimated from its size at :data:`ESTIMATED_BYTES_PER_SECOND` (128 kbit/s). There
is one sentence per :data:`SECONDS_PER_SENTENCE` seconds (at least one), each a segment spread
evenly over the duration. Usage is reported as ``{"type": "duration", "seconds": N}`` (whole
seconds, rounded up); the ledger records the billed seconds (per second, one-minute minimum)
as ``audio_seconds``.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import struct
import wave
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The service's documented limit and types, shared with the client (why: see _audio_formats).
from compactifai._audio_formats import (
    ACCEPTED_AUDIO_EXTENSIONS,
    MAX_AUDIO_BYTES,
    sniff_audio_format,
)

from ._checks import served_model_or_400
from ._fault_responses import finish_json
from ._http import LARGER_BODIES, ApiError, Unprocessable
from .catalog import EmulatedModel
from .faults import FaultSpec
from .state import EmulatorState, V1Wrapper, record_request
from .words import TRANSCRIPT_OBJECTS, TRANSCRIPT_SUBJECTS, TRANSCRIPT_TAILS, TRANSCRIPT_VERBS

__all__ = [
    "ESTIMATED_BYTES_PER_SECOND",
    "MAX_AUDIO_BYTES",
    "SECONDS_PER_SENTENCE",
    "audio_duration",
    "install_audio",
    "transcript_sentences",
]

PATH = "/v1/audio/transcriptions"
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
ESTIMATED_BYTES_PER_SECOND = 16_000
SECONDS_PER_SENTENCE = 4.0
BILLING_MINIMUM_SECONDS = 60
# The form's other fields are short: a prompt of a few hundred words at most.
MAX_FIELD_BYTES = 64 * 1024


def audio_duration(data: bytes, extension: str) -> float:
    """Seconds of audio: a WAV's header says; other formats are estimated from the size."""
    if extension == "wav":
        with wave.open(io.BytesIO(data), "rb") as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate else 0.0
    return len(data) / ESTIMATED_BYTES_PER_SECOND


def transcript_sentences(data: bytes, duration: float) -> list[str]:
    """What the emulated model "hears" in ``data``: the same bytes give the same sentences."""
    rng = random.Random(hashlib.sha256(data).digest())
    count = max(1, round(duration / SECONDS_PER_SENTENCE)) if duration > 0 else 0
    return [
        f"{rng.choice(TRANSCRIPT_SUBJECTS)} {rng.choice(TRANSCRIPT_VERBS)} "
        f"{rng.choice(TRANSCRIPT_OBJECTS)}{rng.choice(TRANSCRIPT_TAILS)}."
        for _ in range(count)
    ]


def _transcription_model(state: EmulatorState, model_id: str) -> EmulatedModel:
    model = served_model_or_400(state, model_id)
    if not model.supports_audio or model.supports_chat_completion:
        served = [
            m.id for m in state.models or () if m.supports_audio and not m.supports_chat_completion
        ]
        raise ApiError(
            400,
            f"Invalid request: Model '{model_id}' does not support audio transcriptions (use "
            f"/v1/chat/completions for a chat model); transcription models: [{', '.join(served)}]",
            param="model",
        )
    return model


def _missing(name: str) -> Unprocessable:
    return Unprocessable(
        [{"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None}]
    )


def _text_field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _temperature(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ApiError(
            400, f"temperature must be between 0 and 1, got {raw!r}.", param="temperature"
        )
    return value


def _decoded(data: bytes, filename: str) -> float:
    """The duration of an upload the service would accept; 400 for anything else."""
    dot_extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if dot_extension and dot_extension not in ACCEPTED_AUDIO_EXTENSIONS:
        raise ApiError(
            400,
            f"Invalid file format. Supported formats: {list(ACCEPTED_AUDIO_EXTENSIONS)}",
            param="file",
        )
    sniffed = sniff_audio_format(data[:16])
    if sniffed is None:
        raise ApiError(
            400,
            "The audio file could not be decoded: its content is not "
            f"{', '.join(ACCEPTED_AUDIO_EXTENSIONS)} audio.",
            param="file",
        )
    try:
        return audio_duration(data, sniffed)
    # wave's chunk reader raises RuntimeError on a chunk that runs past the end of the data.
    except (wave.Error, EOFError, ValueError, RuntimeError, struct.error) as exc:
        raise ApiError(
            400, f"The audio file could not be decoded ({sniffed}: {exc}).", param="file"
        ) from None


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _segments(
    sentences: list[str], duration: float, temperature: float | None
) -> list[dict[str, Any]]:
    step = duration / len(sentences) if sentences else 0.0
    return [
        {
            "id": i,
            "seek": 0,
            "start": round(i * step, 2),
            "end": round((i + 1) * step if i < len(sentences) - 1 else duration, 2),
            "text": " " + sentence,
            "tokens": [],
            "temperature": temperature or 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.01,
        }
        for i, sentence in enumerate(sentences)
    ]


def _subtitles(segments: list[dict[str, Any]], vtt: bool) -> str:
    cues = []
    for segment in segments:
        start = _timestamp(segment["start"], "." if vtt else ",")
        end = _timestamp(segment["end"], "." if vtt else ",")
        number = "" if vtt else f"{segment['id'] + 1}\n"
        cues.append(f"{number}{start} --> {end}\n{segment['text'].strip()}\n")
    return ("WEBVTT\n\n" if vtt else "") + "\n".join(cues)


async def transcriptions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        await record_request(request, state, None)
        raise ApiError(400, "Expected a multipart/form-data body with a 'file' part.", param="file")
    try:
        async with request.form(max_files=1, max_fields=32, max_part_size=MAX_FIELD_BYTES) as form:
            upload = form.get("file")
            model_id = _text_field(form, "model")
            requested = _text_field(form, "response_format") or "json"
            language = _text_field(form, "language")
            prompt = _text_field(form, "prompt")
            raw_temperature = _text_field(form, "temperature")
            size = upload.size if isinstance(upload, UploadFile) else None
            filename = (upload.filename or "") if isinstance(upload, UploadFile) else ""
            await record_request(
                request,
                state,
                {
                    "model": model_id,
                    "filename": filename,
                    "bytes": size,
                    "response_format": requested,
                    "language": language,
                    "prompt": prompt,
                    "temperature": raw_temperature,
                },
            )
            if not isinstance(upload, UploadFile):
                raise _missing("file")
            if model_id is None:
                raise _missing("model")
            model = _transcription_model(state, model_id)
            if size is None or size > MAX_AUDIO_BYTES:
                raise ApiError(
                    413,
                    f"Maximum content size limit ({MAX_AUDIO_BYTES}) exceeded ({size} bytes read).",
                    param="file",
                )
            temperature = _temperature(raw_temperature)
            data = await upload.read()
    except HTTPException as exc:  # the multipart parser refused the body
        raise ApiError(400, f"Malformed multipart body: {exc.detail}") from None
    duration = _decoded(data, filename)
    response_format = requested if requested in FORMATS else "json"
    sentences = transcript_sentences(data, duration)
    segments = _segments(sentences, duration, temperature)
    text = "".join(segment["text"] for segment in segments).strip()
    seconds = math.ceil(duration)
    if fault is None:
        state.ledger.record(
            user, model.id, 0, 0, audio_seconds=max(BILLING_MINIMUM_SECONDS, seconds)
        )
    usage = {"type": "duration", "seconds": seconds}
    if response_format == "text":
        return Response(text + "\n", media_type="text/plain")
    if response_format in ("srt", "vtt"):
        return Response(_subtitles(segments, response_format == "vtt"), media_type="text/plain")
    if response_format == "json":
        return finish_json({"text": text, "usage": usage}, fault)
    payload = {
        "task": "transcribe",
        "language": (language or "en").lower(),
        "duration": round(duration, 2),
        "text": text,
        "segments": segments,
        "usage": usage,
    }
    return finish_json(payload, fault)


def install_audio(app: Starlette, v1: V1Wrapper) -> None:
    """Add the transcription route to an emulator app, wrapped by its ``/v1`` wrapper ``v1``."""
    # A 25 MB file plus the form's other fields, above the app's general body limit.
    LARGER_BODIES[PATH] = MAX_AUDIO_BYTES + 2**20
    app.router.routes.append(Route(PATH, v1(transcriptions), methods=["POST"]))
