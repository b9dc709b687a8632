"""``CompactifAIAudioReader``: audio files as LlamaIndex documents, transcribed by CompactifAI's
slim Whisper (``cai-whisper-large-v3-turbo-slim``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from os import PathLike
from pathlib import Path, PurePath
from typing import Any, Union

import httpx
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.readers.base import BasePydanticReader
from llama_index.core.schema import Document

from compactifai._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from compactifai._holder import ClientHolder
from compactifai._lazy_clients import LazyClients
from compactifai.audio import (
    DEFAULT_TRANSCRIPTION_MODEL,
    MAX_AUDIO_BYTES,
    Transcription,
    transcript_passages,
)
from llama_index_compactifai._connection import ConnectionFields

# An fsspec file system (``fsspec`` ships no type information).
AbstractFileSystem = Any
__all__ = ["CompactifAIAudioReader"]

AudioPath = Union[str, "PathLike[str]"]


class CompactifAIAudioReader(ClientHolder, ConnectionFields, BasePydanticReader):
    """Transcribe audio files (flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm; at most 25 MB
    each) with CompactifAI's compressed Whisper: one ``Document`` per file, or one per segment.

    Example:
        .. code-block:: python

            from llama_index.core import SimpleDirectoryReader
            from llama_index_compactifai import CompactifAIAudioReader

            reader = CompactifAIAudioReader()
            docs = reader.load_data("meeting.mp3")
            docs[0].metadata  # {"source": ..., "model": ..., "language": "en", "duration": 63.2}

            # A folder of recordings among other documents:
            audio = {ext: reader for ext in (".mp3", ".wav", ".m4a", ".ogg", ".flac", ".webm")}
            docs = SimpleDirectoryReader("notes/", file_extractor=audio).load_data()

    ``per_segment=True`` gives one document per segment of the transcript with ``segment``,
    ``start`` and ``end`` (seconds) in its metadata. Files are read from the local disk, or
    through ``fs`` (an fsspec file system, as ``SimpleDirectoryReader`` passes it). Each
    request is billed: a file the service would refuse is refused before it is sent.
    """

    model: str = Field(
        default=DEFAULT_TRANSCRIPTION_MODEL, description="The transcription model id."
    )
    language: str | None = Field(
        default=None, description="ISO-639-1 code of the spoken language; detected if unset."
    )
    prompt: str | None = Field(
        default=None, description="Text to guide the transcription (names, spelling)."
    )
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    per_segment: bool = Field(
        default=False, description="One document per transcript segment, with its times."
    )
    timeout: float | httpx.Timeout | None = Field(default=DEFAULT_TIMEOUT)
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    default_headers: dict[str, str] | None = Field(default=None)
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    async_http_client: httpx.AsyncClient | None = Field(default=None, exclude=True)

    _lazy_clients: LazyClients | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "CompactifAIAudioReader"

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "language": self.language,
            "prompt": self.prompt,
            "temperature": self.temperature,
        }

    def _documents(
        self, result: Transcription, source: str, extra_info: dict[str, Any] | None
    ) -> list[Document]:
        passages = transcript_passages(
            result, source=source, model=self.model, per_segment=self.per_segment
        )
        return [
            Document(text=passage.text, metadata={**(extra_info or {}), **passage.metadata})
            for passage in passages
        ]

    def lazy_load_data(  # type: ignore[override]
        self,
        file: AudioPath | Sequence[AudioPath],
        extra_info: dict[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
    ) -> Iterator[Document]:
        """Each file's documents as it is transcribed (``extra_info`` joins their metadata)."""
        for path in _paths(file):
            audio, name = _audio(path, fs)
            result = self.client.transcribe(
                audio, response_format="verbose_json", filename=name, **self._options()
            )
            yield from self._documents(result, str(path), extra_info)

    def load_data(  # type: ignore[override]
        self,
        file: AudioPath | Sequence[AudioPath],
        extra_info: dict[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
    ) -> list[Document]:
        """The documents of one file or several (the keywords ``SimpleDirectoryReader`` uses)."""
        return list(self.lazy_load_data(file, extra_info=extra_info, fs=fs))

    async def aload_data(  # type: ignore[override]
        self,
        file: AudioPath | Sequence[AudioPath],
        extra_info: dict[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
    ) -> list[Document]:
        """``load_data`` on the async client (``SimpleDirectoryReader.aload_data`` calls it)."""
        documents: list[Document] = []
        for path in _paths(file):
            audio, name = _audio(path, fs)
            result = await self.async_client.transcribe(
                audio, response_format="verbose_json", filename=name, **self._options()
            )
            documents.extend(self._documents(result, str(path), extra_info))
        return documents


def _paths(file: AudioPath | Sequence[AudioPath]) -> Iterable[AudioPath]:
    if isinstance(file, (str, PathLike)):
        return [file]
    return list(file)


def _audio(path: AudioPath, fs: AbstractFileSystem | None) -> tuple[Path | bytes, str]:
    """What to send for ``path``: the local path (streamed), or the bytes ``fs`` holds
    (read up to one byte past the limit, so a file too large is still refused as such)."""
    name = PurePath(str(path)).name
    if fs is None:
        return Path(path), name
    with fs.open(str(path), "rb") as handle:
        return bytes(handle.read(MAX_AUDIO_BYTES + 1)), name
