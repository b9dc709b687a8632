"""The public entry points: compare prompts, LangChain runnables or LlamaIndex query engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from compactifai._client import AsyncCompactifAIClient
from compactifai.compare.metrics import Price
from compactifai.compare.pairing import ModelPair, PairingError, auto_pairs, pair_for
from compactifai.compare.report import ComparisonReport, Observation, WorkItem
from compactifai.compare.workloads import (
    ProgressCallback,
    PromptItem,
    Subject,
    prompt_items,
    prompt_subject,
    run_matrix,
    work_items,
)
from compactifai.types import Model

if TYPE_CHECKING:
    from typing_extensions import Unpack  # annotations only: no runtime dependency

__all__ = [
    "PriceSpec",
    "acompare_prompts",
    "acompare_query_engine",
    "acompare_runnable",
    "compare_prompts",
    "compare_query_engine",
    "compare_runnable",
    "resolve_models",
]

T = TypeVar("T")
PriceSpec = Price | Sequence[float] | str


def _prices(prices: Mapping[str, PriceSpec] | None) -> dict[str, Price]:
    return {model: Price.parse(value) for model, value in (prices or {}).items()}


def resolve_models(
    models: Sequence[str] | None,
    model: str | None,
    available: Iterable[Model | str] | None,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> tuple[list[str], list[ModelPair]]:
    """The models to run and the pairs to compare.

    Either ``models`` (two or more ids, paired by :func:`~.pairing.auto_pairs`) or ``model``
    (one id, slim or original, completed with its counterpart from the catalog). ``pairs``
    overrides the automatic pairing with explicit ``(candidate, reference)`` tuples.
    Ids missing from ``available`` (the live catalog, when given) raise :class:`PairingError`.
    """
    catalog = list(available) if available is not None else None
    if (models is None) == (model is None):
        raise ValueError(
            "give either models=[...] (two or more) or model='...' (paired automatically)"
        )
    if model is not None:
        if catalog is None:
            raise ValueError("pairing a single model needs the catalog")
        pair = pair_for(model, catalog)
        chosen = [pair.candidate, pair.reference]
    else:
        chosen = list(dict.fromkeys(models or []))
        if len(chosen) < 2:
            raise ValueError("compare at least two different models")
    if catalog is not None:
        ids = {m.id if isinstance(m, Model) else m for m in catalog}
        unknown = [m for m in chosen if m not in ids]
        if unknown:
            raise PairingError(
                f"not in the catalog: {', '.join(unknown)}; available: {', '.join(sorted(ids))}"
            )
    if pairs is not None:
        explicit = [ModelPair(a, b) for a, b in pairs]
        stray = {m for p in explicit for m in (p.candidate, p.reference)} - set(chosen)
        if stray:
            raise ValueError(f"pairs name models that are not compared: {', '.join(sorted(stray))}")
        return chosen, explicit
    return chosen, auto_pairs(chosen, catalog)


async def _catalog(client: AsyncCompactifAIClient) -> list[Model]:
    return await client.list_models()


def _client(
    client: AsyncCompactifAIClient | None,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
) -> tuple[AsyncCompactifAIClient, bool]:
    if client is not None:
        return client, False
    return (
        AsyncCompactifAIClient(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        ),
        True,
    )


async def _run(
    workload: str,
    items: Sequence[WorkItem],
    chosen: Sequence[str],
    pairs: Sequence[ModelPair],
    subjects: Mapping[str, Subject],
    *,
    concurrency: int,
    prices: Mapping[str, PriceSpec] | None,
    on_progress: ProgressCallback | None,
    base_url: str | None,
) -> ComparisonReport:
    parsed_prices = _prices(prices)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    observations: list[Observation] = await run_matrix(
        subjects, items, concurrency=concurrency, on_progress=on_progress
    )
    return ComparisonReport.build(
        workload,
        chosen,
        items,
        observations,
        pairs,
        parsed_prices,
        concurrency=concurrency,
        base_url=base_url,
        started=started,
        duration=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------- prompts


async def acompare_prompts(
    prompts: Iterable[str | Mapping[str, Any] | PromptItem] | str | Path | None = None,
    models: Sequence[str] | None = None,
    *,
    model: str | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    system: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = 0.0,
    concurrency: int = 4,
    prices: Mapping[str, PriceSpec] | None = None,
    on_progress: ProgressCallback | None = None,
    client: AsyncCompactifAIClient | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    max_retries: int = 2,
    check_catalog: bool = True,
    batch: bool = False,
) -> ComparisonReport:
    """Send the same prompts to several models and compare them (see :func:`compare_prompts`).

    ``batch=True``: one Batch API job per model instead of streamed requests.
    """
    if prompts is None:
        from compactifai.compare.workloads import default_prompts_path

        prompts = default_prompts_path()
    pairs_items = prompt_items(prompts, system=system)
    items = [item for item, _ in pairs_items]
    api, owned = _client(client, api_key, base_url, timeout, max_retries)
    try:
        available = await _catalog(api) if (check_catalog or model is not None) else None
        chosen, model_pairs = resolve_models(models, model, available, pairs)
        subjects = {
            m: prompt_subject(api, m, max_tokens=max_tokens, temperature=temperature)
            for m in chosen
        }
        if batch:
            from compactifai.compare._batch import batch_subjects

            subjects = await batch_subjects(
                api, chosen, items, max_tokens=max_tokens, temperature=temperature,
                on_progress=on_progress,
            )  # fmt: skip
        return await _run(
            "prompts",
            items,
            chosen,
            model_pairs,
            subjects,
            concurrency=concurrency,
            prices=prices,
            on_progress=on_progress,
            base_url=api.base_url,
        )
    finally:
        if owned:
            await api.aclose()


def compare_prompts(
    prompts: Iterable[str | Mapping[str, Any] | PromptItem] | str | Path | None = None,
    models: Sequence[str] | None = None,
    **kwargs: Any,
) -> ComparisonReport:
    """Send the same prompts to several models, side by side, and compare the answers.

    ``prompts``: a JSONL path, or strings / ``{"prompt": ..., "id": ..., "response_format":
    "json"}`` objects (default: the bundled demo set). ``models``: the ids to compare, or
    ``model="gpt-oss-120b"`` to compare a model with its slim (or original) counterpart.
    Requests are streamed (time to first token) at most ``concurrency`` at a time, with
    temperature 0 by default. ``prices={"model": (in_per_million, out_per_million)}`` adds
    cost estimates. The client comes from ``client`` or ``api_key``/``base_url`` (else the
    ``COMPACTIFAI_*`` environment).

    Runs its own event loop; in async code use :func:`acompare_prompts`.
    """
    return _sync(acompare_prompts(prompts, models, **kwargs))


def _sync(coro: Awaitable[T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        close = getattr(coro, "close", None)
        if callable(close):
            close()
        raise RuntimeError(
            "called from a running event loop: await the acompare_* function instead"
        )

    async def main() -> T:
        return await coro

    return asyncio.run(main())


# ---------------------------------------------------------------------------- frameworks


async def _framework_models(
    models: Sequence[str] | None,
    model: str | None,
    pairs: Sequence[tuple[str, str]] | None,
    api_key: str | None,
    base_url: str | None,
    check_catalog: bool,
) -> tuple[list[str], list[ModelPair], str]:
    """The models and pairs (from the live catalog unless told not to), and the base URL."""
    async with AsyncCompactifAIClient(api_key=api_key, base_url=base_url) as api:
        if not check_catalog and model is None:
            return *resolve_models(models, None, None, pairs), api.base_url
        available = await api.list_models()
        return *resolve_models(models, model, available, pairs), api.base_url


class FrameworkOptions(TypedDict, total=False):
    """The keyword options of :func:`acompare_runnable` and :func:`acompare_query_engine`
    (and their sync twins); see :func:`compare_prompts` for their meaning."""

    model: str | None
    pairs: Sequence[tuple[str, str]] | None
    llm_factory: Callable[[str], Any] | None
    """Builds the LLM for a model id (default: the integration's model, temperature 0)."""
    llm_kwargs: Mapping[str, Any] | None
    """More arguments for the default LLM."""
    concurrency: int
    prices: Mapping[str, PriceSpec] | None
    on_progress: ProgressCallback | None
    api_key: str | None
    base_url: str | None
    check_catalog: bool


async def _compare_framework(
    caller: str,
    framework: str,
    default_llm: Callable[..., Any],
    subject_of: Callable[[Any], Any],
    factory: Callable[[Any], Any],
    items: list[WorkItem],
    models: Sequence[str] | None,
    options: FrameworkOptions,
) -> ComparisonReport:
    """Build the framework object once per model around its LLM, then run every item on each."""
    unknown = sorted(set(options) - set(FrameworkOptions.__annotations__))
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword arguments: {', '.join(unknown)}")
    api_key, base_url = options.get("api_key"), options.get("base_url")
    llm_factory, llm_kwargs = options.get("llm_factory"), options.get("llm_kwargs")
    chosen, model_pairs, resolved_url = await _framework_models(
        models,
        options.get("model"),
        options.get("pairs"),
        api_key,
        base_url,
        options.get("check_catalog", True),
    )

    def make_llm(m: str) -> Any:
        if llm_factory is not None:
            return llm_factory(m)
        return default_llm(m, api_key=api_key, base_url=base_url, llm_kwargs=llm_kwargs)

    subjects = {m: subject_of(factory(make_llm(m))) for m in chosen}
    return await _run(
        framework,
        items,
        chosen,
        model_pairs,
        subjects,
        concurrency=options.get("concurrency", 4),
        prices=options.get("prices"),
        on_progress=options.get("on_progress"),
        base_url=resolved_url,
    )


async def acompare_runnable(
    factory: Callable[[Any], Any],
    inputs: Iterable[Any],
    models: Sequence[str] | None = None,
    **options: Unpack[FrameworkOptions],
) -> ComparisonReport:
    """Async :func:`compare_runnable`."""
    from compactifai.compare._langchain import default_chat_model, runnable_subject

    return await _compare_framework(
        "acompare_runnable",
        "langchain",
        default_chat_model,
        runnable_subject,
        factory,
        work_items(inputs),
        models,
        options,
    )


def compare_runnable(
    factory: Callable[[Any], Any],
    inputs: Iterable[Any],
    models: Sequence[str] | None = None,
    **kwargs: Any,
) -> ComparisonReport:
    """Run the same LangChain runnable on several models and compare the outputs.

    ``factory(llm)`` builds the runnable around a chat model, e.g.
    ``lambda llm: prompt | llm | StrOutputParser()``; it is called once per model with
    ``ChatCompactifAI(model=m, streaming=True, temperature=0, **llm_kwargs)`` (or
    ``llm_factory(m)``). Each input goes to ``ainvoke``; callbacks measure the time to the
    first token and add up ``usage_metadata`` over the run's LLM calls. Dict and pydantic
    outputs are compared field by field. Other arguments as in :func:`compare_prompts`.
    """
    return _sync(acompare_runnable(factory, inputs, models, **kwargs))


async def acompare_query_engine(
    factory: Callable[[Any], Any],
    queries: Iterable[str],
    models: Sequence[str] | None = None,
    **options: Unpack[FrameworkOptions],
) -> ComparisonReport:
    """Async :func:`compare_query_engine`."""
    from compactifai.compare._llama_index import default_llm, query_engine_subject

    return await _compare_framework(
        "acompare_query_engine",
        "llama_index",
        default_llm,
        query_engine_subject,
        factory,
        work_items(queries),
        models,
        options,
    )


def compare_query_engine(
    factory: Callable[[Any], Any],
    queries: Iterable[str],
    models: Sequence[str] | None = None,
    **kwargs: Any,
) -> ComparisonReport:
    """Run the same LlamaIndex query engine on several models and compare the answers.

    ``factory(llm)`` builds the engine around an LLM, e.g.
    ``lambda llm: RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=True)``; it is
    called once per model with ``CompactifAI(model=m, temperature=0, **llm_kwargs)`` (or
    ``llm_factory(m)``). Each query goes to ``aquery``; streaming engines also give the time
    to first token. Tokens come from the LLM's usage events. Other arguments as in
    :func:`compare_prompts`.
    """
    return _sync(acompare_query_engine(factory, queries, models, **kwargs))
