"""Test your own LangChain code offline: the emulator for live tests, cassettes for replay.

Three patterns, as pytest tests you can copy into your suite:

1. run your chain against the bundled emulator (a local, deterministic CompactifAI API);
2. script failures (429, 503, dropped streams) and check your code survives them;
3. record the HTTP exchange once into a cassette (against the emulator, or the real API when
   COMPACTIFAI_API_KEY is set), then replay it with no server at all, in CI.

Run: python examples/testing_offline.py   (same as: pytest examples/testing_offline.py)
Cassettes go to examples/cassettes/ (or $CASSETTE_DIR); delete one to re-record it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from compactifai.emulator import Emulator
from langchain_compactifai import ChatCompactifAI

CASSETTES = Path(os.environ.get("CASSETTE_DIR") or Path(__file__).parent / "cassettes")
QUESTION = {
    "text": "The Eiffel Tower is in Paris and was completed in 1889.",
    "question": "When was the Eiffel Tower completed?",
}


# ------------------------------------------------------------------- the code under test


def build_chain(llm: ChatCompactifAI) -> Runnable[dict[str, str], str]:
    prompt = ChatPromptTemplate.from_messages(
        [("human", "Answer from this text.\n\n{text}\n\nQuestion: {question}")]
    )
    return prompt | llm | StrOutputParser()


# ------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_keys=("test-key",)) as emu:
        yield emu


@pytest.fixture
def llm(emulator: Emulator) -> ChatCompactifAI:
    emulator.reset()  # no leftover faults or usage from another test
    return ChatCompactifAI(
        base_url=emulator.base_url, api_key=emulator.api_key, temperature=0, max_retries=2
    )


# ------------------------------------------------------------------- 1. against the emulator


def test_chain_answers_from_the_text(llm: ChatCompactifAI, emulator: Emulator) -> None:
    assert "1889" in build_chain(llm).invoke(QUESTION)
    [request] = [r for r in emulator.requests if r.path == "/v1/chat/completions"]
    assert request.body["temperature"] == 0  # what your code sent


# ------------------------------------------------------------------- 2. scripted failures


def test_chain_survives_a_rate_limit(llm: ChatCompactifAI, emulator: Emulator) -> None:
    emulator.inject_fault("status", status=429, retry_after=0, count=1)
    assert "1889" in build_chain(llm).invoke(QUESTION)  # retried after the 429


def test_a_dropped_stream_is_an_error_not_a_short_answer(
    llm: ChatCompactifAI, emulator: Emulator
) -> None:
    from compactifai import IncompleteStreamError

    emulator.inject_fault("drop_stream", after_chunks=2, count=1)
    with pytest.raises(IncompleteStreamError):
        "".join(build_chain(llm).stream(QUESTION))


# ------------------------------------------------------------------- 3. cassettes

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    filter_headers=[("authorization", "<scrubbed>")],  # the key never lands in the file
    match_on=["method", "path", "body"],  # not the host: the emulator's port changes
    decode_compressed_response=True,
)


def test_chain_replays_from_a_cassette_without_any_server(emulator: Emulator) -> None:
    key = os.environ.get("COMPACTIFAI_API_KEY")
    live = (
        ChatCompactifAI(temperature=0)  # the real API: COMPACTIFAI_API_KEY / _BASE_URL
        if key
        else ChatCompactifAI(base_url=emulator.base_url, api_key=emulator.api_key, temperature=0)
    )
    with recorder.use_cassette("eiffel_tower.yaml", record_mode="once"):  # record if missing
        recorded = build_chain(live).invoke(QUESTION)

    # Replay: nothing listens on this address and no key is valid; the cassette answers.
    offline = ChatCompactifAI(base_url="http://127.0.0.1:9/v1", api_key="unused", temperature=0)
    with recorder.use_cassette("eiffel_tower.yaml", record_mode="none"):
        replayed = build_chain(offline).invoke(QUESTION)
    assert replayed == recorded
    assert "<scrubbed>" in (CASSETTES / "eiffel_tower.yaml").read_text()


if __name__ == "__main__":
    import subprocess

    sys.exit(
        subprocess.call([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"])
    )
