"""LlamaIndex RAG with CompactifAI: BM25 retrieval over documents, a streamed answer, sources.

BM25 needs no embeddings endpoint, so the whole pipeline runs on CompactifAI's chat models.
Needs ``llama-index-retrievers-bm25`` (in the ``all`` extra).

Run: python examples/llama_index_rag.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

from importlib.resources import files

from _server import compactifai_or_emulator
from llama_index.core import Document, Settings
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.retrievers.bm25 import BM25Retriever

from llama_index_compactifai import CompactifAI


def load_documents() -> list[Document]:
    """The small corpus bundled with the package; use SimpleDirectoryReader for your own."""
    docs_dir = files("compactifai") / "data" / "docs"
    return [
        Document(text=path.read_text(encoding="utf-8"), metadata={"file_name": path.name})
        for path in sorted(docs_dir.iterdir(), key=lambda p: p.name)
        if path.name.endswith(".md")
    ]


def main() -> None:
    Settings.llm = CompactifAI(model="hypernova-60b", temperature=0, max_tokens=256)
    nodes = SentenceSplitter(chunk_size=256, chunk_overlap=0).get_nodes_from_documents(
        load_documents()
    )
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=2)
    engine = RetrieverQueryEngine.from_args(retriever, streaming=True)  # uses Settings.llm

    question = "What does the bond dimension of a tensor network control?"
    print(f"Q: {question}\nA: ", end="")
    response = engine.query(question)
    for piece in response.response_gen:
        print(piece, end="", flush=True)
    print("\nSources:")
    for source in response.source_nodes:
        print(f"  - {source.node.metadata['file_name']} (score {source.score:.2f})")


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
