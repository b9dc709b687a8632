"""Audio transcription (``POST /audio/transcriptions``): what is checked before a file is sent,
the request, the typed answer, and the mapping of a transcript to framework documents.

Transcription is billed per second of audio, so everything the service would refuse is refused
here first, with the limit named: a file over 25 MB, a type the service does not take, and a
model that does not transcribe (when it is known). The clients' ``transcribe`` methods send the
request built here through the one ``Exchange`` every call uses; a file object is rewound by
httpx for a retry the retry policy allows, and a stream that cannot be rewound is read into
memory first (bounded by the size limit).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictStr, field_validator

from compactifai.capabilities import GatedRoute, check_model
from compactifai.errors import RequestValidationError
from compactifai.types import APIObject, APIResponse, Model

if TYPE_CHECKING:
    from compactifai._protocol import Operation

__all__ = [
    "AUDIO_EXTENSIONS",
    "AUDIO_MIME_TYPES",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "MAX_AUDIO_BYTES",
    "RESPONSE_FORMATS",
    "TRANSCRIPTIONS_ROUTE",
    "TRANSCRIPTION_GATE",
    "AudioInput",
    "AudioUpload",
    "ResponseFormat",
    "TranscriptPassage",
    "Transcription",
    "TranscriptionRequest",
    "TranscriptionSegment",
    "TranscriptionUsage",
    "TranscriptionWord",
    "check_transcription_model",
    "open_audio",
    "sniff_audio_format",
    "transcript_passages",
    "transcription",
]

DEFAULT_TRANSCRIPTION_MODEL = "cai-whisper-large-v3-turbo-slim"
TRANSCRIPTIONS_ROUTE = "/v1/audio/transcriptions"
# Served by the transcription model only; the service's refusal speaks of audio or
# transcription (its words are not published).
TRANSCRIPTION_GATE = GatedRoute(
    TRANSCRIPTIONS_ROUTE,
    "supports_audio",
    action="transcribe audio",
    models="transcription models",
    refusal=re.compile(r"transcri|audio", re.IGNORECASE),
    table_reason="it is a chat model",
)
# "≤ 25MB since 2026-02-16" (service-2026.md §6); read as OpenAI's 25 MiB, which it mirrors.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "srt", "verbose_json", "vtt")
TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
TimestampGranularity = Literal["word", "segment"]
# The accepted types (§6), by file extension, with the MIME type sent for each.
AUDIO_EXTENSIONS: Mapping[str, str] = {
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "mp4": "audio/mp4",
    "mpeg": "audio/mpeg",
    "mpga": "audio/mpeg",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "webm": "audio/webm",
}
# MIME types a caller may name for those files (the usual aliases included).
AUDIO_MIME_TYPES = frozenset(
    {
        *AUDIO_EXTENSIONS.values(),
        "audio/x-flac",
        "audio/mp3",
        "audio/mpga",
        "audio/x-m4a",
        "audio/m4a",
        "audio/x-wav",
        "audio/wave",
        "audio/vnd.wave",
        "audio/opus",
        "video/mp4",
        "video/mpeg",
        "video/webm",
        "video/ogg",
        "application/ogg",
    }
)
_ACCEPTED = ", ".join(sorted(AUDIO_EXTENSIONS))
_SNIFF_BYTES = 16

AudioInput = Union[str, "PathLike[str]", bytes, bytearray, memoryview, BinaryIO]


# ---------------------------------------------------------------------------- the answer


class TranscriptionSegment(APIObject):
    """A stretch of the transcript with its times in seconds (``verbose_json``)."""

    id: int = 0
    start: float = 0.0
    end: float = 0.0
    text: str = ""


class TranscriptionWord(APIObject):
    word: str = ""
    start: float = 0.0
    end: float = 0.0


class TranscriptionUsage(APIObject):
    """What the request is billed for: ``{"type": "duration", "seconds": ...}`` for Whisper."""

    type: str | None = None
    seconds: float | None = None


class Transcription(APIResponse):
    """A ``json`` or ``verbose_json`` answer: ``text`` always; the rest where the format has it."""

    text: str
    task: str | None = None
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
    usage: TranscriptionUsage | None = None


# ---------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class AudioUpload:
    """A file ready to send: its name and MIME type (inferred or given) and its size."""

    filename: str
    content: BinaryIO | bytes = field(repr=False)
    content_type: str
    size: int


def sniff_audio_format(head: bytes) -> str | None:
    """The audio format the first bytes of a file announce (an extension), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a" if head[8:11] in (b"M4A", b"M4B") else "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _too_large(size: int) -> RequestValidationError:
    return RequestValidationError(
        "file",
        f"is {size} bytes; the service accepts audio files of at most 25 MB "
        f"({MAX_AUDIO_BYTES} bytes): split the recording and transcribe the parts",
    )


def _checked_size(size: int) -> int:
    if size == 0:
        raise RequestValidationError("file", "is empty (0 bytes)")
    if size > MAX_AUDIO_BYTES:
        raise _too_large(size)
    return size


def _named(name: str | None, head: bytes, content_type: str | None) -> tuple[str, str]:
    """(file name, MIME type): the name's extension decides; a name without one gets the
    extension the content announces. A type the service does not take is refused."""
    basename = PurePath(name).name if name else ""
    extension = PurePath(basename).suffix.lower().lstrip(".")
    if not extension:
        sniffed = sniff_audio_format(head)
        if sniffed is None:
            raise RequestValidationError(
                "file",
                f"{basename or 'the content'} is not a known audio type (accepted: {_ACCEPTED}); "
                "name it with its extension, e.g. filename='meeting.mp3'",
            )
        extension = sniffed
        basename = f"{basename or 'audio'}.{sniffed}"
    if extension not in AUDIO_EXTENSIONS:
        raise RequestValidationError(
            "file",
            f"{basename!r} is not a known audio type (accepted: {_ACCEPTED}); if it is audio, "
            "pass filename= with the right extension",
        )
    if content_type is not None:
        if content_type.partition(";")[0].strip().lower() not in AUDIO_MIME_TYPES:
            raise RequestValidationError(
                "content_type",
                f"{content_type!r} is not an audio type the service takes "
                f"(e.g. {', '.join(sorted(set(AUDIO_EXTENSIONS.values())))})",
            )
        return basename, content_type
    return basename, AUDIO_EXTENSIONS[extension]


@contextlib.contextmanager
def open_audio(
    file: AudioInput, filename: str | None = None, content_type: str | None = None
) -> Iterator[AudioUpload]:
    """``file`` (a path, bytes or a binary file object) checked and ready to send.

    A path is opened here and closed on exit. A file object is sent from its start (httpx
    rewinds it, for a retry too); one that cannot seek is read into memory first. Raises
    :class:`RequestValidationError` for a missing, empty, too large or non-audio file.
    """
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
        _checked_size(len(data))
        name, mime = _named(filename, data[:_SNIFF_BYTES], content_type)
        yield AudioUpload(name, data, mime, len(data))
    elif isinstance(file, (str, PathLike)):
        path = Path(file)
        if not path.is_file():
            raise RequestValidationError("file", f"no such file: {str(path)!r}")
        size = _checked_size(path.stat().st_size)
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            handle.seek(0)
            name, mime = _named(filename or path.name, head, content_type)
            yield AudioUpload(name, handle, mime, size)
    elif isinstance(file, io.TextIOBase):
        raise RequestValidationError(
            "file", "is a text stream: open the file in binary mode ('rb')"
        )
    elif hasattr(file, "read"):
        given = getattr(file, "name", None)
        stream_name = filename or (given if isinstance(given, str) else None)
        if _seekable(file):
            file.seek(0, io.SEEK_END)
            size = _checked_size(file.tell())
            file.seek(0)
            head = file.read(_SNIFF_BYTES)
            file.seek(0)
            named, mime = _named(stream_name, head, content_type)
            yield AudioUpload(named, file, mime, size)
        else:  # a pipe or a socket: read once (bounded), so a retry can send it again
            data = file.read(MAX_AUDIO_BYTES + 1)
            if not isinstance(data, bytes):
                raise RequestValidationError("file", "must give bytes: open it in binary mode")
            _checked_size(len(data))
            named, mime = _named(stream_name, data[:_SNIFF_BYTES], content_type)
            yield AudioUpload(named, data, mime, len(data))
    else:
        raise RequestValidationError(
            "file", f"expected a path, bytes or a binary file object (got {type(file).__name__})"
        )


def _seekable(file: Any) -> bool:
    try:
        return bool(file.seekable()) if hasattr(file, "seekable") else False
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------- the model


def check_transcription_model(model: str, served: Sequence[Model] | None = None) -> None:
    """Refuse, before sending, a model that does not transcribe, when that is known.

    ``served`` is the catalog a client last listed (``list_models()``, kept per server and
    account): a model missing from it raises :class:`ModelNotFoundError`, one whose
    capabilities say ``supports_audio: false`` a :class:`ModelCapabilityError` naming the
    transcription models. Without it, only a model the bundled table knows cannot transcribe
    (the chat models) is refused; any other id is the server's call.
    """
    if not isinstance(model, str) or not model.strip():
        raise RequestValidationError(
            "model", f"a model id is required, e.g. {DEFAULT_TRANSCRIPTION_MODEL!r}"
        )
    check_model(TRANSCRIPTION_GATE, model, served)


# ---------------------------------------------------------------------------- the request


def _text(content: bytes, request_id: str | None) -> str:
    return content.decode("utf-8", errors="replace")


class TranscriptionRequest(BaseModel):
    """The form fields of ``POST /audio/transcriptions`` besides the file (which
    :func:`open_audio` checks first), validated like every request body.

    ``include`` and ``chunking_strategy`` are not sent: the service accepts and ignores them;
    nor is ``stream``: the clients read a transcription whole.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    model: StrictStr = Field(min_length=1)
    language: StrictStr | None = None
    prompt: StrictStr | None = None
    response_format: ResponseFormat = "json"
    temperature: StrictFloat | None = Field(default=None, ge=0, le=1)
    timestamp_granularities: list[TimestampGranularity] | None = Field(
        default=None, min_length=1, serialization_alias="timestamp_granularities[]"
    )

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str | None) -> str | None:
        if value is not None and not (value.isalpha() and 2 <= len(value) <= 3):
            raise ValueError("must be an ISO-639-1 code such as 'en'")
        return value.lower() if value is not None else None

    @field_validator("timestamp_granularities", mode="before")
    @classmethod
    def _one_granularity(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def form(self) -> dict[str, str | list[str]]:
        """The multipart fields as sent (a list repeats its field; a number as its repr)."""
        fields = self.model_dump(exclude_none=True, by_alias=True)
        return {k: v if isinstance(v, (str, list)) else repr(v) for k, v in fields.items()}


def transcription(
    upload: AudioUpload,
    *,
    model: str = DEFAULT_TRANSCRIPTION_MODEL,
    language: str | None = None,
    prompt: str | None = None,
    response_format: str = "json",
    temperature: float | None = None,
    timestamp_granularities: Sequence[str] | None = None,
) -> Operation[Transcription | str]:
    """``POST /audio/transcriptions`` (multipart): a :class:`Transcription` for ``json`` and
    ``verbose_json``, the body as a string for ``text``, ``srt`` and ``vtt``. The fields are
    validated by :class:`TranscriptionRequest` (errors name the field, as on every route)."""
    # The request logic loads with the first transcription, not with this module's types.
    from compactifai._protocol import Operation, _parser, _validation_error

    params = {
        "model": model,
        "language": language,
        "prompt": prompt,
        "response_format": response_format,
        "temperature": temperature,
        "timestamp_granularities": timestamp_granularities,
    }
    try:
        request = TranscriptionRequest.model_validate(params)
    except pydantic.ValidationError as exc:
        raise _validation_error(exc, params) from None
    as_text = request.response_format in TEXT_FORMATS
    parse = _text if as_text else _parser(Transcription)
    return Operation(
        "POST",
        "/audio/transcriptions",
        parse,  # type: ignore[arg-type]
        files={"file": (upload.filename, upload.content, upload.content_type)},
        form=request.form(),
        raw=as_text,
        model=request.model,
        gate=TRANSCRIPTION_GATE,
    )


# ---------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class TranscriptPassage:
    """One document's worth of a transcript: its text and the metadata both frameworks attach
    (``source``, ``model``, and ``language``/``duration`` when known; ``segment``, ``start``
    and ``end`` for a passage per segment)."""

    text: str
    metadata: dict[str, Any]


def transcript_passages(
    result: Transcription, *, source: str | None, model: str, per_segment: bool = False
) -> list[TranscriptPassage]:
    """The whole transcript as one passage, or one passage per segment (with its times)."""
    metadata: dict[str, Any] = {"source": source, "model": model}
    if result.language:
        metadata["language"] = result.language
    if result.duration is not None:
        metadata["duration"] = result.duration
    if not per_segment or not result.segments:
        return [TranscriptPassage(result.text, metadata)]
    return [
        TranscriptPassage(
            segment.text.strip(),
            {**metadata, "segment": segment.id, "start": segment.start, "end": segment.end},
        )
        for segment in result.segments
    ]
