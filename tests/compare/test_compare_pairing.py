"""Slim <-> original pairing from the catalog's ids and owners, both ways."""

from __future__ import annotations

import pytest

from compactifai.compare import (
    ModelPair,
    PairingError,
    auto_pairs,
    find_counterpart,
    pair_for,
    resolve_models,
)
from compactifai.types import Model

SLIM_OWNER = "multiverse_computing"
# Today's chat catalog (service-2026.md §1.1): ids and owners as GET /models reports them.
CATALOG = [
    Model(id="hypernova-60b", owned_by=SLIM_OWNER),
    Model(id="carina-60b", owned_by=SLIM_OWNER),
    Model(id="cai-mistral-small-3-1-slim", owned_by=SLIM_OWNER),
    Model(id="mistral-small-3-1", owned_by="mistralai"),
    Model(id="gpt-oss-120b", owned_by="openai"),
    Model(id="quasar-438b", owned_by="quasar"),
    Model(id="nemotron-3-nano-omni", owned_by="nvidia"),
]


@pytest.mark.parametrize(
    ("original", "slim"),
    [
        ("gpt-oss-120b", "hypernova-60b"),  # the catalog table knows this one
        ("mistral-small-3-1", "cai-mistral-small-3-1-slim"),  # cai-<original>-slim
    ],
)
def test_counterparts_both_ways_in_todays_catalog(original: str, slim: str) -> None:
    assert find_counterpart(original, CATALOG) == slim
    assert find_counterpart(slim, CATALOG) == original
    assert pair_for(original, CATALOG) == ModelPair(candidate=slim, reference=original)
    assert pair_for(slim, CATALOG) == ModelPair(candidate=slim, reference=original)


@pytest.mark.parametrize("model", ["quasar-438b", "nemotron-3-nano-omni", "carina-60b"])
def test_a_model_without_counterpart(model: str) -> None:
    assert find_counterpart(model, CATALOG) is None
    with pytest.raises(PairingError, match="no slim/original counterpart"):
        pair_for(model, CATALOG)


def test_a_model_not_in_the_catalog() -> None:
    with pytest.raises(PairingError, match="not in the catalog"):
        pair_for("gpt-9", CATALOG)


def test_only_models_available_now_are_paired() -> None:
    catalog = [m for m in CATALOG if m.id != "cai-mistral-small-3-1-slim"]  # withdrawn
    assert find_counterpart("mistral-small-3-1", catalog) is None


def test_unknown_models_pair_by_owner_and_normalised_ids() -> None:
    catalog = [
        Model(id="qwen-3.5-14B", owned_by="qwen"),
        Model(id="cai-qwen-3-5-14b-slim", owned_by=SLIM_OWNER),
        Model(id="cai-phi-4-slim", owned_by="someone-else"),  # slim by its id only
        Model(id="phi_4", owned_by="microsoft"),
    ]
    assert find_counterpart("qwen-3.5-14B", catalog) == "cai-qwen-3-5-14b-slim"
    assert find_counterpart("cai-qwen-3-5-14b-slim", catalog) == "qwen-3.5-14B"
    assert find_counterpart("phi_4", catalog) == "cai-phi-4-slim"
    assert pair_for("phi_4", catalog) == ModelPair("cai-phi-4-slim", "phi_4")


def test_owner_makes_a_model_slim_even_with_an_original_looking_id() -> None:
    # hypernova-60b (owned by Multiverse) is the slim version of gpt-oss-120b.
    catalog = [
        Model(id="gpt-oss-120b", owned_by="openai"),
        Model(id="hypernova-60b", owned_by=SLIM_OWNER),
    ]
    assert pair_for("gpt-oss-120b", catalog) == ModelPair("hypernova-60b", "gpt-oss-120b")
    assert pair_for("hypernova-60b", catalog) == ModelPair("hypernova-60b", "gpt-oss-120b")


def test_auto_pairs_pairs_counterparts_and_compares_the_rest_with_the_first() -> None:
    models = ["gpt-oss-120b", "hypernova-60b", "quasar-438b"]
    assert auto_pairs(models, CATALOG) == [
        ModelPair("hypernova-60b", "gpt-oss-120b"),
        ModelPair("quasar-438b", "gpt-oss-120b"),
    ]
    assert auto_pairs(["gpt-oss-120b", "quasar-438b"]) == [ModelPair("quasar-438b", "gpt-oss-120b")]


def test_resolve_models() -> None:
    assert resolve_models(None, "mistral-small-3-1", CATALOG) == (
        ["cai-mistral-small-3-1-slim", "mistral-small-3-1"],
        [ModelPair("cai-mistral-small-3-1-slim", "mistral-small-3-1")],
    )
    models, pairs = resolve_models(["nemotron-3-nano-omni", "mistral-small-3-1"], None, CATALOG)
    assert models == ["nemotron-3-nano-omni", "mistral-small-3-1"]
    assert pairs == [ModelPair("mistral-small-3-1", "nemotron-3-nano-omni")]
    _, pairs = resolve_models(
        ["nemotron-3-nano-omni", "mistral-small-3-1"],
        None,
        None,
        pairs=[("nemotron-3-nano-omni", "mistral-small-3-1")],
    )
    assert pairs == [ModelPair("nemotron-3-nano-omni", "mistral-small-3-1")]
    with pytest.raises(PairingError, match="not in the catalog: gpt-9"):
        resolve_models(["gpt-oss-120b", "gpt-9"], None, CATALOG)
    with pytest.raises(ValueError, match="either"):
        resolve_models(["a", "b"], "c", CATALOG)
    with pytest.raises(ValueError, match="at least two"):
        resolve_models(["a", "a"], None, None)
    with pytest.raises(ValueError, match="not compared"):
        resolve_models(["a", "b"], None, None, pairs=[("a", "z")])
