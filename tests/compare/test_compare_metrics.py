"""The metric definitions, checked against hand-computed values."""

from __future__ import annotations

import statistics

import pytest
from pydantic import BaseModel

from compactifai.compare import metrics
from compactifai.compare.metrics import Price


def test_median_and_p95_of_known_samples() -> None:
    data = [float(v) for v in range(1, 21)]  # 1..20
    assert metrics.median(data) == 10.5
    # Linear interpolation: position (20 - 1) * 0.95 = 18.05 -> 19 + 0.05 * (20 - 19).
    assert metrics.p95(data) == pytest.approx(19.05)
    assert metrics.p95(data) == pytest.approx(
        statistics.quantiles(data, n=100, method="inclusive")[94]
    )
    assert metrics.p95([0.3, 0.1, 0.2]) == pytest.approx(0.29)  # order does not matter
    assert metrics.percentile([1.0, 2.0], 50) == 1.5
    assert metrics.percentile([1.0, 2.0, 4.0], 12.5) == pytest.approx(1.25)


def test_percentiles_of_tiny_samples() -> None:
    assert metrics.median([]) is None
    assert metrics.p95([]) is None
    assert metrics.p95([0.42]) == 0.42
    assert metrics.median([0.42]) == 0.42
    with pytest.raises(ValueError):
        metrics.percentile([1.0, 2.0], 101)


def test_tokens_per_second_is_tokens_over_summed_request_time() -> None:
    assert metrics.tokens_per_second([10, 30], [0.5, 1.5]) == pytest.approx(20.0)
    assert metrics.tokens_per_second([], []) is None
    with pytest.raises(ValueError):
        metrics.tokens_per_second([1], [])


def test_token_overlap_is_f1_over_lowercased_words() -> None:
    assert metrics.token_overlap("The cat sat.", "the CAT ran") == pytest.approx(2 * 2 / 6)
    assert metrics.token_overlap("a a b", "a b b") == pytest.approx(2 * 2 / 6)  # multisets
    assert metrics.token_overlap("same words", "Same, words!") == 1.0
    assert metrics.token_overlap("", "") == 1.0
    assert metrics.token_overlap("something", "") == 0.0
    assert metrics.token_overlap("alpha", "beta") == 0.0


def test_exact_match_trims_text_and_compares_structures_as_json() -> None:
    assert metrics.exact_match("  Paris\n", "Paris")
    assert not metrics.exact_match("Paris", "paris")
    assert metrics.exact_match({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1})
    assert not metrics.exact_match({"a": 1}, {"a": 2})


class City(BaseModel):
    name: str
    country: str
    population: int


def test_field_agreement_compares_nested_fields_over_the_union() -> None:
    a = {"name": "Paris", "geo": {"lat": 48.9, "lon": 2.35}, "tags": ["capital"]}
    b = {"name": "Paris", "geo": {"lat": 48.9, "lon": 2.4}, "extra": True}
    diffs = {d.path: d for d in metrics.field_diffs(a, b)}
    assert list(diffs) == ["name", "geo.lat", "geo.lon", "tags[0]", "extra"]
    assert [p for p, d in diffs.items() if d.equal] == ["name", "geo.lat"]
    assert diffs["extra"].a == "<missing>"
    assert metrics.field_agreement(a, b) == pytest.approx(2 / 5)


def test_field_agreement_reads_pydantic_models_and_skips_text() -> None:
    a = City(name="Lyon", country="France", population=500_000)
    b = City(name="Lyon", country="France", population=520_000)
    assert metrics.field_agreement(a, b) == pytest.approx(2 / 3)
    assert metrics.field_agreement(a, a.model_dump()) == 1.0
    assert metrics.field_agreement("text", {"a": 1}) is None
    assert metrics.field_agreement({}, {}) == 1.0


def test_flatten_paths() -> None:
    assert metrics.flatten({"a": {"b": [1, {"c": None}]}, "d": []}) == {
        "a.b[0]": 1,
        "a.b[1].c": None,
        "d": [],
    }


def test_prices_and_cost() -> None:
    price = Price.parse("0.6, 0.8")
    assert price == Price(0.6, 0.8)
    assert Price.parse((1, 2)) == Price(1.0, 2.0)
    # 1,500 input tokens at 0.6/M + 250 output tokens at 0.8/M
    assert metrics.cost(1500, 250, price) == pytest.approx(0.0009 + 0.0002)
    for bad in ("0.6", "a,b", "-1,2", "1,2,3"):
        with pytest.raises(ValueError):
            Price.parse(bad)
