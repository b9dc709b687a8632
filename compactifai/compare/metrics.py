"""The numbers of a comparison: latency percentiles, throughput, agreement and cost.

Every function here is pure (no I/O, no clock), so each definition can be checked against
hand-computed values:

- **median**: :func:`statistics.median` (the mean of the two middle values for an even count).
- **p95**: the 95th percentile by linear interpolation between closest ranks, i.e.
  :func:`statistics.quantiles` with ``n=100, method="inclusive"`` (numpy's default
  ``"linear"`` method). For one sample it is that sample; for none it is ``None``.
- **output tokens per second**: the sum of output tokens of the successful requests divided
  by the sum of their total latencies. It is a per-request generation rate (weighted by
  tokens), so running requests concurrently does not inflate it.
- **exact match**: the two answers are equal after stripping surrounding whitespace (for
  structured answers: equal as JSON values).
- **token overlap**: the F1 score between the multisets of lowercased word tokens
  (``\\w+``) of the two answers, as in SQuAD: ``2·|A∩B| / (|A| + |B|)`` where ``∩`` keeps the
  minimum count of each token. Two empty answers overlap fully (1.0).
- **field agreement**: for structured answers (dicts, pydantic models, lists), both are
  flattened to ``path -> leaf value`` (``user.name``, ``items[0]``); the agreement is the share
  of paths, over the union of both answers' paths, whose values are equal.
- **cost**: ``input_tokens / 1e6 * input_price + output_tokens / 1e6 * output_price`` with
  the prices per million tokens the caller gives; nothing is hard-coded.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldDiff",
    "Price",
    "as_structure",
    "cost",
    "exact_match",
    "field_agreement",
    "field_diffs",
    "flatten",
    "median",
    "p95",
    "percentile",
    "token_overlap",
    "tokens_per_second",
    "word_tokens",
]

_WORD_RE = re.compile(r"\w+")


# ---------------------------------------------------------------------------- latency


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    Equal to ``statistics.quantiles(values, n=100, method="inclusive")[q - 1]`` for integer
    ``q`` in 1..99; ``None`` without values, the value itself for a single one.
    """
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    if q == 0:
        return data[0]
    if q == 100:
        return data[-1]
    if float(q).is_integer():
        return statistics.quantiles(data, n=100, method="inclusive")[int(q) - 1]
    position = (len(data) - 1) * q / 100
    low = int(position)
    return data[low] + (data[low + 1] - data[low]) * (position - low)


def median(values: Iterable[float]) -> float | None:
    """:func:`statistics.median`, or ``None`` without values."""
    data = list(values)
    return statistics.median(data) if data else None


def p95(values: Iterable[float]) -> float | None:
    """The 95th percentile (see :func:`percentile`), or ``None`` without values."""
    return percentile(values, 95)


def tokens_per_second(output_tokens: Sequence[int], latencies: Sequence[float]) -> float | None:
    """Sum of output tokens over the sum of request latencies (seconds); ``None`` if no time."""
    if len(output_tokens) != len(latencies):
        raise ValueError("one latency per request is needed")
    elapsed = sum(latencies)
    if elapsed <= 0:
        return None
    return sum(output_tokens) / elapsed


# ---------------------------------------------------------------------------- agreement


def word_tokens(text: str) -> list[str]:
    """Lowercased word tokens (``\\w+``): the unit of :func:`token_overlap`."""
    return _WORD_RE.findall(text.lower())


def token_overlap(a: str, b: str) -> float:
    """F1 between the word-token multisets of ``a`` and ``b`` (1.0 for two empty texts)."""
    ta, tb = Counter(word_tokens(a)), Counter(word_tokens(b))
    size = sum(ta.values()) + sum(tb.values())
    if size == 0:
        return 1.0
    common = sum((ta & tb).values())
    return 2 * common / size


def as_structure(value: Any) -> Any:
    """A JSON-like value (dict/list/scalars) of a structured output, or ``None`` for text.

    Pydantic models are dumped in JSON mode; dataclass-like objects are not guessed at.
    """
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return None


def _jsonable(value: Any) -> Any:
    structured = as_structure(value)
    if structured is not None:
        return structured
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def exact_match(a: Any, b: Any) -> bool:
    """Equal after stripping whitespace (texts) or as JSON values (structured outputs)."""
    sa, sb = as_structure(a), as_structure(b)
    if sa is not None or sb is not None:
        return _canonical(sa if sa is not None else a) == _canonical(sb if sb is not None else b)
    return str(a).strip() == str(b).strip()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``path -> leaf`` for a JSON-like value: ``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}``.

    Empty containers are leaves of their own (``{}``/``[]``) so that they still compare.
    """
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if not value:
            out[prefix] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, (list, tuple)):
        if not value:
            out[prefix] = []
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


@dataclass(frozen=True)
class FieldDiff:
    """One field of two structured answers; ``missing`` stands for an absent field."""

    path: str
    a: Any
    b: Any
    equal: bool


_MISSING = "<missing>"


def field_diffs(a: Any, b: Any) -> list[FieldDiff]:
    """Field-by-field comparison of two structured answers, in the first answer's order."""
    fa, fb = flatten(as_structure(a) or {}), flatten(as_structure(b) or {})
    paths = list(fa) + [p for p in fb if p not in fa]
    out = []
    for path in paths:
        va, vb = fa.get(path, _MISSING), fb.get(path, _MISSING)
        equal = path in fa and path in fb and _canonical(va) == _canonical(vb)
        out.append(FieldDiff(path, va, vb, equal))
    return out


def field_agreement(a: Any, b: Any) -> float | None:
    """Share of equal fields over the union of both answers' fields.

    ``None`` when either answer is not structured (field equality does not apply); 1.0 when
    both are empty structures.
    """
    if as_structure(a) is None or as_structure(b) is None:
        return None
    diffs = field_diffs(a, b)
    if not diffs:
        return 1.0
    return sum(d.equal for d in diffs) / len(diffs)


# ---------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class Price:
    """A model's price in currency units per million input and output tokens."""

    input_per_million: float
    output_per_million: float

    @classmethod
    def parse(cls, value: Price | Sequence[float] | str) -> Price:
        """From a ``Price``, an ``(in, out)`` pair or the CLI's ``"IN,OUT"`` text."""
        if isinstance(value, Price):
            return value
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
            if len(parts) != 2:
                raise ValueError(f"a price is 'INPUT_PER_M,OUTPUT_PER_M', not {value!r}")
            try:
                numbers = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"prices must be numbers, not {value!r}") from None
        else:
            numbers = [float(v) for v in value]
            if len(numbers) != 2:
                raise ValueError(
                    f"a price is (input_per_million, output_per_million), not {value!r}"
                )
        if any(n < 0 for n in numbers):
            raise ValueError(f"prices cannot be negative: {value!r}")
        return cls(numbers[0], numbers[1])


def cost(input_tokens: int, output_tokens: int, price: Price) -> float:
    """Estimated cost of the tokens at ``price`` (per million tokens)."""
    return (
        input_tokens / 1_000_000 * price.input_per_million
        + output_tokens / 1_000_000 * price.output_per_million
    )
