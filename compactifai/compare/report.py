"""What a comparison found: one observation per (model, item), aggregated per model and per pair.

:class:`ComparisonReport` is built from raw observations by :meth:`ComparisonReport.build`
(pure: tests build reports from hand-made observations) and serialises to a stable JSON
shape (:data:`SCHEMA`) with :meth:`ComparisonReport.to_dict`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from compactifai.compare.metrics import Price
from compactifai.compare.pairing import ModelPair
from compactifai.compare.records import ItemAgreement, ModelStats, Observation, PairStats, WorkItem
from compactifai.compare.report_html import render_html

__all__ = [
    "SCHEMA",
    "ComparisonReport",
    "ItemAgreement",
    "ModelStats",
    "Observation",
    "PairStats",
    "WorkItem",
]

SCHEMA = "compactifai.compare/1"


@dataclass
class ComparisonReport:
    """Everything a comparison measured; build it with :meth:`build`."""

    workload: str
    models: list[str]
    items: list[WorkItem]
    observations: dict[tuple[str, str], Observation]
    model_stats: list[ModelStats]
    pairs: list[PairStats]
    concurrency: int = 1
    base_url: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    duration: float = 0.0
    _by_item: dict[str, list[ItemAgreement]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        workload: str,
        models: Sequence[str],
        items: Sequence[WorkItem],
        observations: Sequence[Observation],
        pairs: Sequence[ModelPair],
        prices: Mapping[str, Price] | None = None,
        **extra: Any,
    ) -> ComparisonReport:
        by_key = {(o.model, o.item_id): o for o in observations}
        missing = [(m, i.id) for m in models for i in items if (m, i.id) not in by_key]
        if missing:
            raise ValueError(f"no observation for {missing[:3]}")
        prices = prices or {}
        stats = {
            m: ModelStats.from_observations(m, [by_key[(m, i.id)] for i in items], prices.get(m))
            for m in models
        }
        pair_stats = [
            PairStats.build(
                pair,
                [
                    ItemAgreement.of(
                        pair, by_key[(pair.candidate, i.id)], by_key[(pair.reference, i.id)]
                    )
                    for i in items
                ],
                stats,
            )
            for pair in pairs
        ]
        return cls(
            workload=workload,
            models=list(models),
            items=list(items),
            observations=by_key,
            model_stats=[stats[m] for m in models],
            pairs=pair_stats,
            **extra,
        )

    # -- views --------------------------------------------------------------------------------
    def stats(self, model: str) -> ModelStats:
        return next(s for s in self.model_stats if s.model == model)

    def observation(self, model: str, item_id: str) -> Observation:
        return self.observations[(model, item_id)]

    def agreements(self, item_id: str) -> list[ItemAgreement]:
        """The item's agreement in every pair, in pair order."""
        if self._by_item is None:
            by_item: dict[str, list[ItemAgreement]] = {}
            for pair in self.pairs:
                for agreement in pair.items:
                    by_item.setdefault(agreement.item_id, []).append(agreement)
            self._by_item = by_item
        return list(self._by_item.get(item_id, []))

    def item_score(self, item_id: str) -> float:
        """The item's worst agreement over all pairs (-1 when a request failed; 1 if no pair)."""
        scores = [a.score for a in self.agreements(item_id)]
        if any(not self.observation(m, item_id).ok for m in self.models):
            return -1.0
        return min(scores) if scores else 1.0

    def worst_first(self) -> list[WorkItem]:
        """Items by increasing agreement (failed requests first; ties keep workload order)."""
        return sorted(self.items, key=lambda item: self.item_score(item.id))

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.model_stats)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (``schema`` names its version); items worst first."""
        return {
            "schema": SCHEMA,
            "workload": self.workload,
            "started": self.started.isoformat(),
            "duration_s": self.duration,
            "concurrency": self.concurrency,
            "base_url": self.base_url,
            "models": [s.to_dict() for s in self.model_stats],
            "pairs": [p.to_dict() for p in self.pairs],
            "items": [
                {
                    "id": item.id,
                    "input": item.label,
                    "score": self.item_score(item.id),
                    "answers": {m: self.observation(m, item.id).to_dict() for m in self.models},
                    "agreement": [a.to_dict() for a in self.agreements(item.id)],
                }
                for item in self.worst_first()
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_html(self, title: str | None = None) -> str:
        """One self-contained HTML page: tables, a latency chart and the answers side by side."""
        return render_html(self, title=title)
