"""What a comparison measured, record by record: one observation per (model, item), and its
aggregates per model and per pair. :class:`~compactifai.compare.report.ComparisonReport`
holds them; the JSON and HTML renderings read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compactifai.catalog import is_slim
from compactifai.compare import metrics
from compactifai.compare.metrics import FieldDiff, Price
from compactifai.compare.pairing import ModelPair

__all__ = ["ItemAgreement", "ModelStats", "Observation", "PairStats", "WorkItem"]


@dataclass(frozen=True)
class WorkItem:
    """One unit of the workload: a prompt, a runnable's input or a query."""

    id: str
    input: Any
    label: str  # how the input is shown in tables and reports


@dataclass
class Observation:
    """One model's run of one item.

    ``text`` is the answer as text (structured answers as JSON); ``structured`` the
    JSON-like value of a structured answer (``None`` for text). Times are in seconds:
    ``ttft`` from sending the request to the first generated token (``None`` when the
    workload does not stream), ``latency`` to the complete answer.
    """

    model: str
    item_id: str
    text: str = ""
    structured: Any = None
    ttft: float | None = None
    latency: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answer(self) -> Any:
        return self.structured if self.structured is not None else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "structured": self.structured,
            "ttft_s": self.ttft,
            "latency_s": self.latency,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "error": self.error,
        }


@dataclass
class ModelStats:
    """Per-model aggregates over its successful requests (see :mod:`.metrics`)."""

    model: str
    kind: str  # "slim" or "original"
    requests: int
    errors: int
    ttft_median: float | None
    ttft_p95: float | None
    latency_median: float | None
    latency_p95: float | None
    input_tokens: int
    output_tokens: int
    output_tokens_per_second: float | None
    price: Price | None = None
    cost: float | None = None

    @classmethod
    def from_observations(
        cls, model: str, observations: Sequence[Observation], price: Price | None = None
    ) -> ModelStats:
        ok = [o for o in observations if o.ok]
        ttfts = [o.ttft for o in ok if o.ttft is not None]
        latencies = [o.latency for o in ok if o.latency is not None]
        counted = [o for o in ok if o.output_tokens is not None and o.latency is not None]
        input_tokens = sum(o.input_tokens or 0 for o in ok)
        output_tokens = sum(o.output_tokens or 0 for o in ok)
        return cls(
            model=model,
            kind="slim" if is_slim(model) else "original",
            requests=len(observations),
            errors=len(observations) - len(ok),
            ttft_median=metrics.median(ttfts),
            ttft_p95=metrics.p95(ttfts),
            latency_median=metrics.median(latencies),
            latency_p95=metrics.p95(latencies),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            output_tokens_per_second=metrics.tokens_per_second(
                [o.output_tokens or 0 for o in counted], [o.latency or 0.0 for o in counted]
            ),
            price=price,
            cost=metrics.cost(input_tokens, output_tokens, price) if price else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            "requests": self.requests,
            "errors": self.errors,
            "ttft_s": {"median": self.ttft_median, "p95": self.ttft_p95},
            "latency_s": {"median": self.latency_median, "p95": self.latency_p95},
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "output_tokens_per_second": self.output_tokens_per_second,
            "price_per_million": None
            if self.price is None
            else {"input": self.price.input_per_million, "output": self.price.output_per_million},
            "cost": self.cost,
        }


@dataclass
class ItemAgreement:
    """How one item's answers of a pair agree. All ``None`` when either request failed."""

    item_id: str
    candidate: str
    reference: str
    exact_match: bool | None
    token_overlap: float | None
    field_agreement: float | None = None
    fields: list[FieldDiff] = field(default_factory=list)

    @property
    def score(self) -> float:
        """0..1 (field agreement for structured answers, else token overlap); -1 for errors."""
        if self.exact_match is None:
            return -1.0
        if self.field_agreement is not None:
            return self.field_agreement
        return self.token_overlap if self.token_overlap is not None else -1.0

    @classmethod
    def of(cls, pair: ModelPair, a: Observation, b: Observation) -> ItemAgreement:
        if not (a.ok and b.ok):
            return cls(a.item_id, pair.candidate, pair.reference, None, None)
        structured = a.structured is not None and b.structured is not None
        return cls(
            item_id=a.item_id,
            candidate=pair.candidate,
            reference=pair.reference,
            exact_match=metrics.exact_match(a.answer, b.answer),
            token_overlap=metrics.token_overlap(a.text, b.text),
            field_agreement=metrics.field_agreement(a.structured, b.structured)
            if structured
            else None,
            fields=metrics.field_diffs(a.structured, b.structured) if structured else [],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "exact_match": self.exact_match,
            "token_overlap": self.token_overlap,
            "field_agreement": self.field_agreement,
            "fields": [
                {"path": d.path, "candidate": d.a, "reference": d.b, "equal": d.equal}
                for d in self.fields
            ],
        }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class PairStats:
    """Agreement of a pair over the items both models answered, and their estimated costs."""

    candidate: str
    reference: str
    compared: int
    exact_match_rate: float | None
    token_overlap_mean: float | None
    structured: int
    field_agreement_mean: float | None
    candidate_cost: float | None
    reference_cost: float | None
    items: list[ItemAgreement]

    @property
    def cost_saving(self) -> float | None:
        """``1 - candidate_cost / reference_cost`` (0.6 = the candidate costs 60% less)."""
        if self.candidate_cost is None or not self.reference_cost:
            return None
        return 1 - self.candidate_cost / self.reference_cost

    @classmethod
    def build(
        cls, pair: ModelPair, items: list[ItemAgreement], stats: Mapping[str, ModelStats]
    ) -> PairStats:
        done = [i for i in items if i.exact_match is not None]
        structured = [i.field_agreement for i in done if i.field_agreement is not None]
        return cls(
            candidate=pair.candidate,
            reference=pair.reference,
            compared=len(done),
            exact_match_rate=_mean([float(bool(i.exact_match)) for i in done]),
            token_overlap_mean=_mean([i.token_overlap or 0.0 for i in done]),
            structured=len(structured),
            field_agreement_mean=_mean(structured),
            candidate_cost=stats[pair.candidate].cost,
            reference_cost=stats[pair.reference].cost,
            items=items,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "compared": self.compared,
            "exact_match": self.exact_match_rate,
            "token_overlap": self.token_overlap_mean,
            "structured": self.structured,
            "field_agreement": self.field_agreement_mean,
            "cost": None
            if self.candidate_cost is None and self.reference_cost is None
            else {
                "candidate": self.candidate_cost,
                "reference": self.reference_cost,
                "saving": self.cost_saving,
            },
        }
