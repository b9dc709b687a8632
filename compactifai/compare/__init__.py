"""Side-by-side evaluation of slim vs original models: "can my chain run on the slim model?"

Run the same workload on several models (a list of prompts, a LangChain runnable factory or a
LlamaIndex query engine factory), with bounded concurrency, and compare latency (time to first
token and total), tokens, throughput, errors, answer agreement and estimated cost::

    from compactifai.compare import compare_prompts, compare_runnable

    report = compare_prompts(["What is a tensor network?"], model="gpt-oss-120b")
    report = compare_runnable(
        lambda llm: prompt | llm | StrOutputParser(),
        [{"question": "..."}],
        models=["hypernova-60b", "gpt-oss-120b"],
        prices={"gpt-oss-120b": (0.05, 0.23), "hypernova-60b": (0.04, 0.14)},
    )
    print(report.to_json())
    Path("report.html").write_text(report.to_html())

The metrics are defined in :mod:`compactifai.compare.metrics`. The library needs neither
``rich`` nor a framework: LangChain and LlamaIndex are imported only by their entry points.
"""

from compactifai.compare.api import (
    acompare_prompts,
    acompare_query_engine,
    acompare_runnable,
    compare_prompts,
    compare_query_engine,
    compare_runnable,
    resolve_models,
)
from compactifai.compare.metrics import Price
from compactifai.compare.pairing import (
    ModelPair,
    PairingError,
    auto_pairs,
    find_counterpart,
    pair_for,
)
from compactifai.compare.report import (
    SCHEMA,
    ComparisonReport,
    ItemAgreement,
    ModelStats,
    Observation,
    PairStats,
    WorkItem,
)
from compactifai.compare.workloads import PromptItem, default_prompts_path, load_prompts

__all__ = [
    "SCHEMA",
    "ComparisonReport",
    "ItemAgreement",
    "ModelPair",
    "ModelStats",
    "Observation",
    "PairStats",
    "PairingError",
    "Price",
    "PromptItem",
    "WorkItem",
    "acompare_prompts",
    "acompare_query_engine",
    "acompare_runnable",
    "auto_pairs",
    "compare_prompts",
    "compare_query_engine",
    "compare_runnable",
    "default_prompts_path",
    "find_counterpart",
    "load_prompts",
    "pair_for",
    "resolve_models",
]
