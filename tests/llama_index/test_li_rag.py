"""RAG over the bundled documents: BM25 retrieval (no embeddings endpoint exists) feeding a
``RetrieverQueryEngine`` whose answers use the retrieved text."""

from __future__ import annotations

from importlib.resources import files

import pytest
from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import BaseNode
from llama_index.retrievers.bm25 import BM25Retriever

from llama_index_compactifai import CompactifAI

pytestmark = pytest.mark.vcr

QUESTION = "How many parameters does the slim Llama 3.1 8B model have?"
ANSWER_TEXT = "3.28 billion parameters"  # in slim-models.md
SECOND_QUESTION = "What does the bond dimension of a tensor network control?"
SECOND_ANSWER_TEXT = "bond dimension controls"  # in tensor-networks.md


@pytest.fixture(scope="module")
def nodes() -> list[BaseNode]:
    # Only the file name as metadata: absolute paths and dates would make request bodies
    # differ between machines (and cassettes match on bodies).
    docs_dir = files("compactifai") / "data" / "docs"
    documents = [
        Document(text=path.read_text(encoding="utf-8"), metadata={"file_name": path.name})
        for path in sorted(docs_dir.iterdir(), key=lambda p: p.name)
        if path.name.endswith(".md")
    ]
    assert len(documents) >= 3
    return SentenceSplitter(chunk_size=256, chunk_overlap=0).get_nodes_from_documents(documents)


def _engine(nodes: list[BaseNode], llm: CompactifAI, streaming: bool) -> RetrieverQueryEngine:
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=2)
    return RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=streaming)


def _sources(response: object) -> list[str]:
    return [n.node.metadata["file_name"] for n in response.source_nodes]  # type: ignore[attr-defined]


def test_query_answers_from_the_retrieved_document(
    nodes: list[BaseNode], live_llm: CompactifAI
) -> None:
    response = _engine(nodes, live_llm, streaming=False).query(QUESTION)
    assert _sources(response)[0] == "slim-models.md"
    assert ANSWER_TEXT in str(response)


def test_streaming_query_answers_from_the_retrieved_document(
    nodes: list[BaseNode], live_llm: CompactifAI
) -> None:
    response = _engine(nodes, live_llm, streaming=True).query(SECOND_QUESTION)
    pieces = list(response.response_gen)  # type: ignore[union-attr]
    assert len([piece for piece in pieces if piece]) > 2  # incremental, not one block
    assert _sources(response)[0] == "tensor-networks.md"
    assert SECOND_ANSWER_TEXT in "".join(pieces)


async def test_async_query_and_streaming_query(
    nodes: list[BaseNode], live_llm: CompactifAI
) -> None:
    response = await _engine(nodes, live_llm, streaming=False).aquery(QUESTION)
    assert ANSWER_TEXT in str(response)
    streamed = await _engine(nodes, live_llm, streaming=True).aquery(SECOND_QUESTION)
    text = "".join([piece async for piece in streamed.async_response_gen()])  # type: ignore[union-attr]
    assert SECOND_ANSWER_TEXT in text
