"""One recording, every way in: the openai SDK, both clients (path, bytes, file object; each
response format), the LangChain parser (per file, per segment, through a blob loader), the
LlamaIndex reader (direct and through SimpleDirectoryReader) and the CLI read the same text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openai
import pytest
from langchain_core.document_loaders import Blob
from llama_index.core import SimpleDirectoryReader

from compactifai import AsyncCompactifAIClient, CompactifAIClient, Transcription
from compactifai.emulator import Emulator
from langchain_compactifai import CompactifAIWhisperParser
from llama_index_compactifai import CompactifAIAudioReader
from tests.cli.conftest import Runner

from .conftest import WHISPER, tone

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.filterwarnings("ignore:.*langchain-community.*:DeprecationWarning"),
]


def _subtitle_text(subtitles: str) -> str:
    return " ".join(
        line
        for line in subtitles.splitlines()
        if line and "-->" not in line and not line.isdigit() and line != "WEBVTT"
    )


async def test_every_surface_reads_the_same_text(
    live: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "meeting"
    folder.mkdir()
    path = folder / "board-meeting.wav"
    path.write_bytes(tone(13.0, 392))
    data = path.read_bytes()
    texts: dict[str, str] = {}

    sdk = openai.OpenAI(base_url=live.base_url, api_key=live.api_key, max_retries=0)
    texts["sdk json"] = sdk.audio.transcriptions.create(model=WHISPER, file=path).text
    texts["sdk text"] = sdk.audio.transcriptions.create(
        model=WHISPER, file=("m.wav", data), response_format="text"
    ).strip()

    with CompactifAIClient(api_key=live.api_key, base_url=live.base_url) as client:
        for kind, file in (("path", path), ("bytes", data), ("file", io.BytesIO(data))):
            for fmt in ("json", "verbose_json", "text", "srt", "vtt"):
                answer = client.transcribe(file, response_format=fmt)  # type: ignore[arg-type]
                texts[f"client {kind} {fmt}"] = (
                    answer.text if isinstance(answer, Transcription) else _subtitle_text(answer)
                )
    async with AsyncCompactifAIClient(api_key=live.api_key, base_url=live.base_url) as aclient:
        for kind, file in (("path", path), ("bytes", data), ("file", io.BytesIO(data))):
            for fmt in ("json", "text", "vtt"):
                answer = await aclient.transcribe(file, response_format=fmt)  # type: ignore[arg-type]
                texts[f"async {kind} {fmt}"] = (
                    answer.text if isinstance(answer, Transcription) else _subtitle_text(answer)
                )

    connection = {"api_key": live.api_key, "base_url": live.base_url}
    (doc,) = CompactifAIWhisperParser(**connection).parse(Blob.from_path(path))
    texts["langchain per file"] = doc.page_content
    segments = CompactifAIWhisperParser(**connection, per_segment=True).parse(Blob.from_path(path))
    assert len(segments) == 3
    texts["langchain per segment"] = " ".join(d.page_content for d in segments)
    from langchain_community.document_loaders.generic import GenericLoader

    (loaded,) = GenericLoader.from_filesystem(
        folder, glob="*.wav", parser=CompactifAIWhisperParser(**connection)
    ).load()
    texts["langchain generic loader"] = loaded.page_content

    reader = CompactifAIAudioReader(**connection)
    texts["llama-index reader"] = reader.load_data(path)[0].text
    texts["llama-index reader async"] = (await reader.aload_data(path))[0].text
    texts["llama-index directory"] = (
        SimpleDirectoryReader(str(folder), file_extractor={".wav": reader}).load_data()[0].text
    )

    monkeypatch.setenv("COMPACTIFAI_BASE_URL", live.base_url)
    monkeypatch.setenv("COMPACTIFAI_API_KEY", live.api_key)
    cli = Runner(capsys)
    texts["cli text"] = cli("transcribe", str(path)).out.strip()
    texts["cli json"] = json.loads(cli("transcribe", str(path), "--format", "json").out)["text"]
    texts["cli srt"] = _subtitle_text(cli("transcribe", str(path), "--format", "srt").out)

    assert len(set(texts.values())) == 1, json.dumps(texts, indent=1)
    assert texts["sdk json"].count(".") == 3  # three sentences: one segment each
