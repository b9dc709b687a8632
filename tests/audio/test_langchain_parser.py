"""``CompactifAIWhisperParser`` as LangChain users run audio parsers: on blobs, and inside
``GenericLoader`` with a ``FileSystemBlobLoader`` (as for ``OpenAIWhisperParser``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.document_loaders import BaseBlobParser, Blob

from compactifai import CompactifAIClient, ModelNotFoundError, RequestValidationError
from compactifai.emulator import Emulator
from langchain_compactifai import CompactifAIWhisperParser

from .conftest import CHAT_MODEL, WHISPER, tone, transcribed, transcription_requests

pytestmark = [
    pytest.mark.emulator,
    # langchain_community announces its own sunset on import; GenericLoader still lives there.
    pytest.mark.filterwarnings("ignore:.*langchain-community.*:DeprecationWarning"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "monday.wav").write_bytes(tone(5.0, 440))
    (tmp_path / "calls" / "tuesday.wav").write_bytes(tone(9.0, 330))
    (tmp_path / "calls" / "notes.txt").write_text("not audio")
    return tmp_path / "calls"


@pytest.fixture
def parser(live: Emulator) -> CompactifAIWhisperParser:
    return CompactifAIWhisperParser(api_key=live.api_key, base_url=live.base_url)


def test_it_is_a_blob_parser_giving_one_document_per_file(
    parser: CompactifAIWhisperParser, client: CompactifAIClient, folder: Path
) -> None:
    assert isinstance(parser, BaseBlobParser)
    path = folder / "tuesday.wav"
    expected = transcribed(client, path)
    (doc,) = parser.parse(Blob.from_path(path))
    assert doc.page_content == expected.text
    assert doc.metadata == {
        "source": str(path),
        "model": WHISPER,
        "language": "en",
        "duration": pytest.approx(9.0),
    }


def test_a_blob_in_memory_is_transcribed_the_same(
    parser: CompactifAIWhisperParser, client: CompactifAIClient, folder: Path
) -> None:
    path = folder / "monday.wav"
    blob = Blob.from_data(path.read_bytes(), path="uploads/monday.wav")
    (doc,) = parser.lazy_parse(blob)
    assert doc.page_content == transcribed(client, path).text
    assert doc.metadata["source"] == "uploads/monday.wav"


def test_one_document_per_segment_with_times(
    live: Emulator, client: CompactifAIClient, folder: Path
) -> None:
    path = folder / "tuesday.wav"
    expected = transcribed(client, path)
    assert expected.segments is not None and len(expected.segments) > 1
    parser = CompactifAIWhisperParser(
        api_key=live.api_key, base_url=live.base_url, per_segment=True, language="en"
    )
    docs = parser.parse(Blob.from_path(path))
    assert [d.page_content for d in docs] == [s.text.strip() for s in expected.segments]
    assert " ".join(d.page_content for d in docs) == expected.text
    assert [(d.metadata["start"], d.metadata["end"]) for d in docs] == [
        (s.start, s.end) for s in expected.segments
    ]
    assert [d.metadata["segment"] for d in docs] == list(range(len(docs)))
    assert {d.metadata["source"] for d in docs} == {str(path)}
    assert transcription_requests(live)[-1]["language"] == "en"


def test_with_generic_loader_and_a_filesystem_blob_loader(
    parser: CompactifAIWhisperParser, client: CompactifAIClient, folder: Path
) -> None:
    from langchain_community.document_loaders.blob_loaders import FileSystemBlobLoader
    from langchain_community.document_loaders.generic import GenericLoader

    loader = GenericLoader(FileSystemBlobLoader(folder, glob="*.wav"), parser)
    docs = sorted(loader.load(), key=lambda d: d.metadata["source"])
    assert [Path(d.metadata["source"]).name for d in docs] == ["monday.wav", "tuesday.wav"]
    for doc in docs:
        assert doc.page_content == transcribed(client, Path(doc.metadata["source"])).text
    same = GenericLoader.from_filesystem(folder, glob="*.wav", parser=parser).load()
    assert sorted(d.page_content for d in same) == sorted(d.page_content for d in docs)


def test_refusals_are_raised_before_anything_is_sent(
    parser: CompactifAIWhisperParser, live: Emulator, folder: Path
) -> None:
    with pytest.raises(RequestValidationError, match="not a known audio type"):
        parser.parse(Blob.from_path(folder / "notes.txt"))
    chat = CompactifAIWhisperParser(api_key=live.api_key, base_url=live.base_url, model=CHAT_MODEL)
    with pytest.raises(ModelNotFoundError, match="does not transcribe audio"):
        chat.parse(Blob.from_path(folder / "monday.wav"))
    assert transcription_requests(live) == []


def test_the_key_stays_out_of_the_repr(live: Emulator) -> None:
    parser = CompactifAIWhisperParser(api_key="sk-very-secret", base_url=live.base_url)
    assert "sk-very-secret" not in repr(parser)
    assert "sk-very-secret" not in repr(parser.client)


def test_a_given_client_is_used(client: CompactifAIClient, folder: Path) -> None:
    parser = CompactifAIWhisperParser(client=client)
    assert parser.client is client
    (doc,) = parser.parse(Blob.from_path(folder / "monday.wav"))
    assert doc.page_content


def test_server_errors_are_langchains_model_errors(live: Emulator, folder: Path) -> None:
    """A refusal the client cannot foresee (no catalog listed) comes back classified the way
    LangChain's retry and fallback helpers read errors, and is still the package's own error."""
    from langchain_core.exceptions import ModelNotFoundError as LangChainModelNotFound

    parser = CompactifAIWhisperParser(
        api_key=live.api_key, base_url=live.base_url, model="whisper-large-v3"
    )
    with pytest.raises(LangChainModelNotFound) as caught:
        parser.parse(Blob.from_path(folder / "monday.wav"))
    assert isinstance(caught.value, ModelNotFoundError)
    assert caught.value.available is not None and WHISPER in caught.value.available
