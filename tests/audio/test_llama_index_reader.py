"""``CompactifAIAudioReader`` as LlamaIndex users run readers: directly, and as the file
extractor of ``SimpleDirectoryReader`` (which calls ``load_data(file, extra_info=..., fs=...)``)."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.readers.base import BaseReader

from compactifai import CompactifAIClient, RequestValidationError
from compactifai.emulator import Emulator
from llama_index_compactifai import CompactifAIAudioReader

from .conftest import WHISPER, tone, transcribed, transcription_requests

pytestmark = pytest.mark.emulator


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "lectures").mkdir()
    (tmp_path / "lectures" / "intro.wav").write_bytes(tone(6.0, 440))
    (tmp_path / "lectures" / "outro.wav").write_bytes(tone(10.0, 262))
    (tmp_path / "lectures" / "syllabus.md").write_text("# Syllabus\n\nTensor networks.\n")
    return tmp_path / "lectures"


@pytest.fixture
def reader(live: Emulator) -> CompactifAIAudioReader:
    return CompactifAIAudioReader(api_key=live.api_key, base_url=live.base_url)


def test_load_data_gives_one_document_per_file(
    reader: CompactifAIAudioReader, client: CompactifAIClient, folder: Path
) -> None:
    assert isinstance(reader, BaseReader)
    intro, outro = folder / "intro.wav", folder / "outro.wav"
    (doc,) = reader.load_data(intro)
    assert doc.text == transcribed(client, intro).text
    assert doc.metadata == {
        "source": str(intro),
        "model": WHISPER,
        "language": "en",
        "duration": pytest.approx(6.0),
    }
    docs = reader.load_data([str(intro), outro], extra_info={"course": "physics"})
    assert [d.text for d in docs] == [
        transcribed(client, intro).text,
        transcribed(client, outro).text,
    ]
    assert all(d.metadata["course"] == "physics" for d in docs)


def test_one_document_per_segment(live: Emulator, client: CompactifAIClient, folder: Path) -> None:
    reader = CompactifAIAudioReader(api_key=live.api_key, base_url=live.base_url, per_segment=True)
    expected = transcribed(client, folder / "outro.wav")
    assert expected.segments is not None
    docs = reader.load_data(folder / "outro.wav")
    assert [d.text for d in docs] == [s.text.strip() for s in expected.segments]
    assert [(d.metadata["start"], d.metadata["end"]) for d in docs] == [
        (s.start, s.end) for s in expected.segments
    ]


async def test_aload_data_uses_the_async_client(
    reader: CompactifAIAudioReader, client: CompactifAIClient, folder: Path
) -> None:
    docs = await reader.aload_data([folder / "intro.wav", folder / "outro.wav"])
    assert [d.text for d in docs] == [
        transcribed(client, folder / "intro.wav").text,
        transcribed(client, folder / "outro.wav").text,
    ]


def test_as_simple_directory_reader_file_extractor(
    reader: CompactifAIAudioReader, client: CompactifAIClient, folder: Path
) -> None:
    docs = SimpleDirectoryReader(
        str(folder), file_extractor={".wav": reader, ".mp3": reader}, raise_on_error=True
    ).load_data()
    by_name = {d.metadata["file_name"]: d for d in docs}
    assert set(by_name) == {"intro.wav", "outro.wav", "syllabus.md"}
    for name in ("intro.wav", "outro.wav"):
        doc = by_name[name]
        assert doc.text == transcribed(client, folder / name).text
        # SimpleDirectoryReader's file metadata and ours, side by side.
        assert doc.metadata["file_path"] == str(folder / name)
        assert doc.metadata["model"] == WHISPER and doc.metadata["language"] == "en"
    assert "Tensor networks." in by_name["syllabus.md"].text


async def test_as_simple_directory_reader_file_extractor_async(
    reader: CompactifAIAudioReader, client: CompactifAIClient, folder: Path
) -> None:
    docs = await SimpleDirectoryReader(
        str(folder), file_extractor={".wav": reader}, required_exts=[".wav"]
    ).aload_data()
    assert sorted(d.text for d in docs) == sorted(
        transcribed(client, folder / n).text for n in ("intro.wav", "outro.wav")
    )


def test_files_on_another_file_system(
    reader: CompactifAIAudioReader, client: CompactifAIClient, folder: Path
) -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe("/talks/intro.wav", (folder / "intro.wav").read_bytes())
    docs = SimpleDirectoryReader(
        "/talks", fs=memory, file_extractor={".wav": reader}, raise_on_error=True
    ).load_data()
    (doc,) = docs
    assert doc.text == transcribed(client, folder / "intro.wav").text
    assert doc.metadata["source"] == "/talks/intro.wav"


def test_refusals_are_raised_before_anything_is_sent(
    reader: CompactifAIAudioReader, live: Emulator, folder: Path
) -> None:
    with pytest.raises(RequestValidationError, match="not a known audio type"):
        reader.load_data(folder / "syllabus.md")
    assert transcription_requests(live) == []


def test_the_key_is_never_serialized(live: Emulator) -> None:
    reader = CompactifAIAudioReader(api_key="sk-very-secret", base_url=live.base_url)
    assert "sk-very-secret" not in repr(reader)
    assert "sk-very-secret" not in reader.to_json()
    assert reader.to_dict()["model"] == WHISPER
