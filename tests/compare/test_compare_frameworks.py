"""The library from a LangChain runnable and a LlamaIndex query engine, on the live emulator."""

from __future__ import annotations

from importlib.resources import files

import pytest
from pydantic import BaseModel

from compactifai.compare import compare_query_engine, compare_runnable
from compactifai.emulator import Emulator

from .conftest import ORIGINAL, SLIM

# hypernova-60b is compressed from gpt-oss-120b; both call tools.
TOOLS_SLIM, TOOLS_ORIGINAL = "hypernova-60b", "gpt-oss-120b"

pytestmark = pytest.mark.emulator

CONTEXT = (
    "The slim Llama 3.1 8B model has 3.28 billion parameters. "
    "The bond dimension controls how much information flows between tensors. "
    "Healing recovers most of the accuracy lost in compression."
)
QUESTIONS = [
    "How many parameters does the slim Llama 3.1 8B model have?",
    "What does the bond dimension control?",
    "What does healing recover?",
]


def _ledger(emu: Emulator, model: str) -> tuple[int, int]:
    records = [r for r in emu.ledger.records if r.model == model]
    return sum(r.input_tokens for r in records), sum(r.output_tokens for r in records)


def test_langchain_runnable(live: Emulator) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from the context."),
            ("human", "Context: {context}\nQuestion: {question}"),
        ]
    )
    built: list[str] = []

    def factory(llm: object) -> object:
        built.append(llm.model_name)  # type: ignore[attr-defined]
        return prompt | llm | StrOutputParser()

    report = compare_runnable(
        factory,
        [{"question": q, "context": CONTEXT} for q in QUESTIONS],
        model=ORIGINAL,  # paired with its slim model from the emulator's catalog
        api_key=live.api_key,
        base_url=live.base_url,
        concurrency=3,
        prices={ORIGINAL: (0.6, 0.8), SLIM: (0.2, 0.3)},
    )
    assert sorted(built) == sorted([SLIM, ORIGINAL])  # one chain per model
    assert report.workload == "langchain" and report.models == [SLIM, ORIGINAL]
    assert report.base_url == live.base_url.rstrip("/")
    assert report.errors == 0
    assert "3.28 billion parameters" in report.observation(SLIM, "1").text
    assert "bond dimension controls" in report.observation(ORIGINAL, "2").text
    for model in report.models:
        stats = report.stats(model)
        # Tokens come from usage_metadata: exactly what the server billed.
        assert (stats.input_tokens, stats.output_tokens) == _ledger(live, model)
        for item in report.items:
            o = report.observation(model, item.id)
            assert o.ttft is not None and o.latency is not None
            assert 0 < o.ttft < o.latency  # streamed: first token before the end
    pair = report.pairs[0]
    assert (pair.candidate, pair.reference, pair.compared) == (SLIM, ORIGINAL, 3)
    assert pair.cost_saving is not None and 0 < pair.cost_saving < 1


class Facts(BaseModel):
    model: str
    parameters: str


def test_langchain_structured_outputs_compare_field_by_field(live: Emulator) -> None:
    report = compare_runnable(
        lambda llm: llm.with_structured_output(Facts),
        ["The model cai-llama-3-3-70b-slim has 28 billion parameters. Give model and parameters."],
        [SLIM, ORIGINAL],
        api_key=live.api_key,
        base_url=live.base_url,
    )
    assert report.errors == 0, [o.error for o in report.observations.values()]
    answer = report.observation(SLIM, "1").structured
    assert set(answer) == {"model", "parameters"}
    agreement = report.pairs[0].items[0]
    assert [f.path for f in agreement.fields] == ["model", "parameters"]
    assert agreement.field_agreement == pytest.approx(sum(f.equal for f in agreement.fields) / 2)
    assert report.stats(SLIM).output_tokens == _ledger(live, SLIM)[1]


@pytest.fixture(scope="module")
def nodes() -> list[object]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    docs_dir = files("compactifai") / "data" / "docs"
    documents = [
        Document(text=path.read_text(encoding="utf-8"), metadata={"file_name": path.name})
        for path in sorted(docs_dir.iterdir(), key=lambda p: p.name)
        if path.name.endswith(".md")
    ]
    return list(
        SentenceSplitter(chunk_size=256, chunk_overlap=0).get_nodes_from_documents(documents)
    )


@pytest.mark.parametrize("streaming", [True, False])
def test_llama_index_query_engine(live: Emulator, nodes: list[object], streaming: bool) -> None:
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.retrievers.bm25 import BM25Retriever

    def factory(llm: object) -> object:
        retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=2)
        return RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=streaming)

    queries = [
        "How many parameters does the slim Llama 3.1 8B model have?",
        "What does the bond dimension of a tensor network control?",
        "How is CompactifAI deployed?",
    ]
    report = compare_query_engine(
        factory,
        queries,
        [SLIM, ORIGINAL],
        api_key=live.api_key,
        base_url=live.base_url,
        concurrency=4,
    )
    assert report.workload == "llama_index" and report.errors == 0
    assert "3.28 billion parameters" in report.observation(SLIM, "1").text
    assert [i.label for i in report.items] == queries
    for model in report.models:
        assert (report.stats(model).input_tokens, report.stats(model).output_tokens) == _ledger(
            live, model
        )
    for item in report.items:
        slim, orig = report.observation(SLIM, item.id), report.observation(ORIGINAL, item.id)
        # Concurrent runs are attributed to the right item: same prompt, same counts.
        assert slim.input_tokens == orig.input_tokens and slim.input_tokens
        if streaming:
            assert slim.ttft is not None and 0 < slim.ttft < (slim.latency or 0)
        else:
            assert slim.ttft is None
    counts = {report.observation(SLIM, i.id).input_tokens for i in report.items}
    assert len(counts) == len(queries)


class GetWeather(BaseModel):
    """Current weather in a city."""

    city: str


def test_langchain_messages_are_compared_by_text_or_tool_calls(live: Emulator) -> None:
    report = compare_runnable(
        lambda llm: llm,  # the bare chat model: AIMessage outputs
        [f"Context: {CONTEXT}\nQuestion: {QUESTIONS[0]}"],
        [SLIM, ORIGINAL],
        api_key=live.api_key,
        base_url=live.base_url,
    )
    answer = report.observation(SLIM, "1")
    assert answer.structured is None and "3.28 billion parameters" in answer.text
    assert report.pairs[0].exact_match_rate == 1.0  # message ids and metadata are not compared

    # The Mistral pair takes no tools: the tool calls are compared on a pair that does.
    report = compare_runnable(
        lambda llm: llm.bind_tools([GetWeather], tool_choice="any"),
        ["What is the weather in Paris?"],
        [TOOLS_SLIM, TOOLS_ORIGINAL],
        api_key=live.api_key,
        base_url=live.base_url,
    )
    assert report.observation(TOOLS_ORIGINAL, "1").structured == [
        {"name": "GetWeather", "args": {"city": "Paris"}}
    ]
    agreement = report.pairs[0].items[0]
    assert [f.path for f in agreement.fields] == ["[0].name", "[0].args.city"]
    assert report.observation(TOOLS_SLIM, "1").ttft is not None  # tool-call deltas count as tokens


@pytest.mark.parametrize("compare", [compare_runnable, compare_query_engine])
def test_a_misspelt_option_is_refused_before_any_request(compare: object) -> None:
    with pytest.raises(TypeError, match="unexpected keyword arguments: concurency"):
        compare(lambda llm: llm, ["q"], model=ORIGINAL, concurency=3)  # type: ignore[operator]
