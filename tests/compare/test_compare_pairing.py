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
from compactifai.emulator import DEFAULT_MODELS
from compactifai.types import Model

CATALOG = [Model(id=m.id, owned_by=m.owned_by) for m in DEFAULT_MODELS]
SLIM_OWNER = "multiverse_computing"


@pytest.mark.parametrize(
    ("original", "slim"),
    [
        ("llama-3-3-70b", "cai-llama-3-3-70b-slim"),
        ("llama-3-1-8b", "cai-llama-3-1-8b-slim"),
        ("llama-4-scout", "cai-llama-4-scout-slim"),
        ("mistral-small-3-1", "cai-mistral-small-3-1-slim"),
    ],
)
def test_counterparts_both_ways_in_the_emulator_catalog(original: str, slim: str) -> None:
    assert find_counterpart(original, CATALOG) == slim
    assert find_counterpart(slim, CATALOG) == original
    assert pair_for(original, CATALOG) == ModelPair(candidate=slim, reference=original)
    assert pair_for(slim, CATALOG) == ModelPair(candidate=slim, reference=original)


def test_a_model_without_counterpart() -> None:
    assert find_counterpart("deepseek-r1-0528", CATALOG) is None
    with pytest.raises(PairingError, match="no slim/original counterpart"):
        pair_for("deepseek-r1-0528", CATALOG)
    with pytest.raises(PairingError, match="not in the catalog"):
        pair_for("gpt-9", CATALOG)


def test_only_models_available_now_are_paired() -> None:
    catalog = [m for m in CATALOG if m.id != "cai-llama-3-1-8b-slim"]  # retired
    assert find_counterpart("llama-3-1-8b", catalog) is None


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
    models = ["llama-3-3-70b", "cai-llama-3-3-70b-slim", "deepseek-r1-0528"]
    assert auto_pairs(models, CATALOG) == [
        ModelPair("cai-llama-3-3-70b-slim", "llama-3-3-70b"),
        ModelPair("deepseek-r1-0528", "llama-3-3-70b"),
    ]
    assert auto_pairs(["llama-3-3-70b", "deepseek-r1-0528"]) == [
        ModelPair("deepseek-r1-0528", "llama-3-3-70b")
    ]


def test_resolve_models() -> None:
    assert resolve_models(None, "llama-3-1-8b", CATALOG) == (
        ["cai-llama-3-1-8b-slim", "llama-3-1-8b"],
        [ModelPair("cai-llama-3-1-8b-slim", "llama-3-1-8b")],
    )
    models, pairs = resolve_models(["llama-4-scout", "mistral-small-3-1"], None, CATALOG)
    assert models == ["llama-4-scout", "mistral-small-3-1"]
    assert pairs == [ModelPair("mistral-small-3-1", "llama-4-scout")]
    _, pairs = resolve_models(
        ["llama-4-scout", "mistral-small-3-1"],
        None,
        None,
        pairs=[("llama-4-scout", "mistral-small-3-1")],
    )
    assert pairs == [ModelPair("llama-4-scout", "mistral-small-3-1")]
    with pytest.raises(PairingError, match="not in the catalog: gpt-9"):
        resolve_models(["llama-3-3-70b", "gpt-9"], None, CATALOG)
    with pytest.raises(ValueError, match="either"):
        resolve_models(["a", "b"], "c", CATALOG)
    with pytest.raises(ValueError, match="at least two"):
        resolve_models(["a", "a"], None, None)
    with pytest.raises(ValueError, match="not compared"):
        resolve_models(["a", "b"], None, None, pairs=[("a", "z")])
