"""Slim ⇄ original pairing over the live catalog (ids and ``owned_by``).

Builds on :mod:`compactifai.catalog`: :func:`~compactifai.catalog.counterpart` knows the
published pairs and the ``cai-<original>-slim`` naming; on top of it, a model the catalog
reports as owned by Multiverse Computing is slim, and ids are compared after normalising
separators (``mistral-small-3.1`` and ``cai-mistral-small-3-1-slim`` are a pair).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from compactifai.catalog import counterpart, is_slim, model_info
from compactifai.types import Model

__all__ = ["ModelPair", "PairingError", "auto_pairs", "find_counterpart", "pair_for"]

_SEPARATORS = re.compile(r"[-_.\s]+")


class PairingError(ValueError):
    """No counterpart for a model, or a model that is not in the catalog."""


@dataclass(frozen=True)
class ModelPair:
    """Two models whose answers are compared: ``candidate`` (usually slim) vs ``reference``."""

    candidate: str
    reference: str

    @property
    def label(self) -> str:
        return f"{self.candidate} vs {self.reference}"


def _as_models(available: Iterable[Model | str]) -> list[Model]:
    return [m if isinstance(m, Model) else Model(id=m) for m in available]


def _norm(model_id: str) -> str:
    return _SEPARATORS.sub("-", model_id.lower()).strip("-")


def _base_of_slim(model_id: str) -> str:
    """The original's id a slim id was derived from (``cai-x-slim`` -> ``x``), normalised."""
    norm = _norm(model_id)
    if norm.startswith("cai-"):
        norm = norm[len("cai-") :]
    if norm.endswith("-slim"):
        norm = norm[: -len("-slim")]
    return norm


def find_counterpart(model_id: str, available: Iterable[Model | str]) -> str | None:
    """The slim model of an original, or the original of a slim model, among ``available``.

    ``available`` is the live catalog (:class:`~compactifai.types.Model` objects carry
    ``owned_by``; bare ids work too). ``None`` when the catalog has no counterpart.
    """
    models = _as_models(available)
    by_id = {m.id: m for m in models}
    found = counterpart(model_id, by_id)
    if found is not None:
        return found
    me = by_id.get(model_id, Model(id=model_id))
    if is_slim(me.id, me.owned_by) or model_info(me.id).original is not None:
        original = model_info(me.id).original
        wanted = _norm(original) if original else _base_of_slim(me.id)
        matches = [
            m.id
            for m in models
            if m.id != me.id and not is_slim(m.id, m.owned_by) and _norm(m.id) == wanted
        ]
    else:
        wanted = _norm(me.id)
        matches = [
            m.id
            for m in models
            if m.id != me.id
            and is_slim(m.id, m.owned_by)
            and (_base_of_slim(m.id) == wanted or _norm(model_info(m.id).original or "") == wanted)
        ]
    return matches[0] if matches else None


def pair_for(model_id: str, available: Iterable[Model | str]) -> ModelPair:
    """The (slim, original) pair of ``model_id``, whichever of the two it is.

    Raises :class:`PairingError` when the model is not in the catalog or has no counterpart.
    """
    models = _as_models(available)
    ids = [m.id for m in models]
    if model_id not in ids:
        raise PairingError(
            f"model {model_id!r} is not in the catalog; available: {', '.join(ids) or 'none'}"
        )
    other = find_counterpart(model_id, models)
    if other is None:
        raise PairingError(
            f"no slim/original counterpart of {model_id!r} in the catalog; name the models "
            "to compare explicitly"
        )
    me = next(m for m in models if m.id == model_id)
    if is_slim(me.id, me.owned_by) or model_info(me.id).original is not None:
        return ModelPair(candidate=model_id, reference=other)
    return ModelPair(candidate=other, reference=model_id)


def auto_pairs(
    models: Sequence[str], available: Iterable[Model | str] | None = None
) -> list[ModelPair]:
    """The pairs to report for a list of models.

    Each slim model is paired with its original when both are in ``models``; every model left
    without a pair is compared with the first model of the list (the baseline). ``available``
    (the live catalog, for ``owned_by``) defaults to ``models`` themselves.
    """
    catalog = _as_models(available if available is not None else models)
    known = {m.id: m for m in catalog}
    pool = [known.get(m, Model(id=m)) for m in models]
    pairs: list[ModelPair] = []
    paired: set[str] = set()
    for model in pool:
        if model.id in paired:
            continue
        other = find_counterpart(model.id, pool)
        if other is None or other in paired:
            continue
        slim = is_slim(model.id, model.owned_by) or model_info(model.id).original is not None
        pair = ModelPair(model.id, other) if slim else ModelPair(other, model.id)
        pairs.append(pair)
        paired.update((model.id, other))
    if models:
        baseline = models[0]
        for model_id in models[1:]:
            if model_id not in paired and model_id != baseline:
                pairs.append(ModelPair(candidate=model_id, reference=baseline))
    return pairs
