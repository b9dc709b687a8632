"""Transcribe a recording with CompactifAI's slim Whisper, then ask questions about it (RAG).

The recording is transcribed one document per segment (with its start and end times) by
``CompactifAIAudioReader`` inside ``SimpleDirectoryReader``, indexed with BM25 (no embeddings
endpoint needed), and a question is answered by a slim chat model, citing the moment it came
from. The example makes its own small WAV file with the ``wave`` module: a three-note chime
that the offline emulator "hears" as a short meeting. Point it at your own recordings (mp3,
m4a, wav, ...) to transcribe real speech with the service.

Needs ``llama-index-retrievers-bm25`` (in the ``all`` extra).

Run: python examples/transcribe_and_ask.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

import math
import tempfile
import wave
from pathlib import Path

from _server import compactifai_or_emulator
from llama_index.core import Settings, SimpleDirectoryReader
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.retrievers.bm25 import BM25Retriever

from llama_index_compactifai import CompactifAI, CompactifAIAudioReader

RATE = 8000  # samples a second


def make_recording(path: Path, notes: tuple[float, ...] = (523.25, 659.25, 783.99)) -> None:
    """Four seconds of each note: 8-bit mono PCM, about 100 KB."""
    frames = bytearray()
    for frequency in notes:
        for i in range(4 * RATE):
            frames.append(128 + round(90 * math.sin(2 * math.pi * frequency * i / RATE)))
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(RATE)
        writer.writeframes(bytes(frames))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        make_recording(Path(folder) / "standup.wav")
        # One document per segment; each audio extension your folder holds maps to the reader.
        reader = CompactifAIAudioReader(per_segment=True)
        segments = SimpleDirectoryReader(folder, file_extractor={".wav": reader}).load_data()

    print("Transcript:")
    for segment in segments:
        meta = segment.metadata
        print(f"  [{meta['start']:5.1f}s - {meta['end']:5.1f}s] {segment.text}")

    Settings.llm = CompactifAI(model="hypernova-60b", temperature=0, max_tokens=256)
    retriever = BM25Retriever.from_defaults(nodes=segments, similarity_top_k=1)
    engine = RetrieverQueryEngine.from_args(retriever)

    question = "Who questioned the quarterly budget?"
    response = engine.query(question)
    print(f"Q: {question}\nA: {response}")
    for source in response.source_nodes:
        meta = source.node.metadata
        print(f"  from {meta['file_name']} at {meta['start']:.1f}s-{meta['end']:.1f}s")


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
