"""``CompactifAIWhisperParser``: audio files as LangChain documents, transcribed by CompactifAI's
slim Whisper (``cai-whisper-large-v3-turbo-slim``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from langchain_core.document_loaders import BaseBlobParser, Blob
from langchain_core.documents import Document
from pydantic import SecretStr

from compactifai._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, env_base_url
from compactifai._holder import api_key_from_env, secret_value
from compactifai.audio import DEFAULT_TRANSCRIPTION_MODEL, transcript_passages
from langchain_compactifai._errors import langchain_errors

if TYPE_CHECKING:
    import httpx

    from compactifai._client import CompactifAIClient

__all__ = ["CompactifAIWhisperParser"]


class CompactifAIWhisperParser(BaseBlobParser):
    """Transcribe audio blobs (flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm; at most 25 MB
    each) with CompactifAI's compressed Whisper, one ``Document`` per file, or one per segment.

    Setup:
        ``pip install "compactifai-integrations[langchain]"`` and
        ``export COMPACTIFAI_API_KEY="..."``.

    With a blob loader (``langchain_community``), as for LangChain's ``OpenAIWhisperParser``:
        .. code-block:: python

            from langchain_community.document_loaders.generic import GenericLoader
            from langchain_compactifai import CompactifAIWhisperParser

            loader = GenericLoader.from_filesystem(
                "recordings/", glob="**/*.mp3", parser=CompactifAIWhisperParser()
            )
            docs = loader.load()
            docs[0].metadata  # {"source": ..., "model": ..., "language": "en", "duration": 63.2}

    Or on one blob: ``parser.parse(Blob.from_path("call.wav"))``.

    ``per_segment=True`` gives one document per segment of the transcript, with ``segment``
    (its index), ``start`` and ``end`` (seconds) added to the metadata: passages a retriever
    can cite by time. Errors are raised, not skipped: each request is billed, and a file the
    service would refuse (too large, not audio) is refused before it is sent.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_TRANSCRIPTION_MODEL,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        per_segment: bool = False,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        client: CompactifAIClient | None = None,
    ) -> None:
        """``client`` (a ``CompactifAIClient``) is used as given; otherwise one is made on first
        use from the connection arguments (``COMPACTIFAI_API_KEY``/``_BASE_URL`` by default)."""
        self.model = model
        self.language = language
        self.prompt = prompt
        self.temperature = temperature
        self.per_segment = per_segment
        self._client = client
        self._client_args: dict[str, Any] = {
            "api_key": secret_value(api_key if api_key is not None else api_key_from_env()),
            "base_url": base_url or env_base_url(),
            "timeout": timeout,
            "max_retries": max_retries,
            "default_headers": default_headers,
            "http_client": http_client,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, language={self.language!r}, "
            f"per_segment={self.per_segment!r})"
        )

    @property
    def client(self) -> CompactifAIClient:
        """The transport client, made on first use and reused for every blob."""
        if self._client is None:
            from compactifai._client import CompactifAIClient

            self._client = CompactifAIClient(**self._client_args)
        return self._client

    def lazy_parse(self, blob: Blob) -> Iterator[Document]:
        """The blob's transcript: one document, or one per segment with ``per_segment``."""
        # A blob on disk is streamed from its path; one in memory is sent as its bytes.
        file: Any = blob.path if blob.data is None and blob.path is not None else blob.as_bytes()
        name = PurePath(str(blob.path)).name if blob.path is not None else None
        with langchain_errors():
            result = self.client.transcribe(
                file,
                model=self.model,
                language=self.language,
                prompt=self.prompt,
                temperature=self.temperature,
                response_format="verbose_json",
                filename=name,
            )
        for passage in transcript_passages(
            result, source=blob.source, model=self.model, per_segment=self.per_segment
        ):
            yield Document(page_content=passage.text, metadata=passage.metadata)
