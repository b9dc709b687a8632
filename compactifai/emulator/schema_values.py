"""The JSON-schema-driven value generator behind tool arguments and structured output.

Values come from the last user message (numbers, quoted strings, names, keywords) through a
:class:`ValueSource`; :class:`SchemaValueGenerator` fits them to a schema.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .tokenizer import WORD_RE, content_words, stem_of
from .words import ANSWER_FIELDS, NEGATIONS, PLACE_FIELDS, QUERY_FIELDS, STOPWORDS

__all__ = ["QUOTED_RE", "SchemaLimits", "SchemaValueGenerator", "ValueSource"]

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\w)")
QUOTED_RE = re.compile(
    r"\"([^\"\n]+)\"|“([^”\n]+)”|`([^`\n]+)`|(?:(?<=\s)|^)'([^'\n]+)'(?=[\s.,;:!?)]|$)"
)
_CAPITALIZED_RE = re.compile(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_PREPOSITION_RE = re.compile(
    r"\b(?i:in|for|about|on|at|from|to|of|named|called|near|with)\s+([A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*)"
)
_PLACE_RE = re.compile(r"\b(?i:in|at|from|to|near|for|of)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")


class ValueSource:
    """Values found in a message, handed out in order so distinct fields get distinct values."""

    def __init__(
        self, text: str, answer: Callable[[], str] | None = None, exclude: Iterable[str] = ()
    ) -> None:
        for name in sorted({e for e in exclude if e}, key=len, reverse=True):
            text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
        self.text = text
        self.lower = text.lower()
        self._answer = answer
        self._answer_text: str | None = None
        self.numbers = [m.group(0) for m in _NUMBER_RE.finditer(text)]
        self.quoted = [next(g for g in m.groups() if g) for m in QUOTED_RE.finditer(text)]
        self.proper: list[str] = []
        for m in _CAPITALIZED_RE.finditer(text):
            words = m.group(0).split()
            while words and words[0].lower().strip("'") in STOPWORDS:
                words.pop(0)
            if words and words[0] != "I":
                self.proper.append(" ".join(words))
        # Capitalised names right after a place preposition ("in Madrid", "for Lisbon").
        self.places = [m.group(1) for m in _PLACE_RE.finditer(text) if m.group(1) != "I"]
        self.after_preposition = [
            m.group(1)
            for m in _PREPOSITION_RE.finditer(text)
            if m.group(1).lower() not in STOPWORDS
        ]
        self.keywords = content_words(text)
        self._cursor: dict[str, int] = {}

    def _next(self, pool: str, values: Sequence[str]) -> str | None:
        i = self._cursor.get(pool, 0)
        if i < len(values):
            self._cursor[pool] = i + 1
            return values[i]
        return None

    def next_number(self) -> float | None:
        value = self._next("numbers", self.numbers)
        return None if value is None else float(value)

    def remaining_numbers(self) -> list[float]:
        i = self._cursor.get("numbers", 0)
        self._cursor["numbers"] = len(self.numbers)
        return [float(n) for n in self.numbers[i:]]

    def answer(self) -> str:
        # Computed once: a schema may have many answer-like fields.
        if self._answer_text is None:
            self._answer_text = (
                self._answer() if self._answer is not None else self.keyword_phrase()
            )
        return self._answer_text

    def keyword_phrase(self) -> str:
        return " ".join(self.keywords[:6])

    def named_value(self, name: str) -> str | None:
        """The value written right after a field's name: ``city: Paris``, ``name is "Ann"``."""
        if len(name) < 2:
            return None
        spaced = re.escape(name).replace("_", "[ _]")
        m = re.search(
            rf"\b{spaced}\b\s*(?:[:=]|\bis\b|\bof\b|\bas\b)\s*(?:\"([^\"]+)\"|'([^']+)'|([\w.@/+-]+))",
            self.text,
            re.IGNORECASE,
        )
        if not m:
            return None
        return next(g for g in m.groups() if g)

    def next_string(self) -> str | None:
        for pool, values in (
            ("quoted", self.quoted),
            ("proper", self.proper),
            ("prep", self.after_preposition),
        ):
            value = self._next(pool, values)
            if value is not None:
                return value
        return None

    def mentioned(self, word: str) -> int:
        m = re.search(rf"(?<![\w]){re.escape(word.lower())}(?![\w])", self.lower)
        return m.start() if m else -1

    def truthy(self, name: str) -> bool:
        words = [w.lower() for w in WORD_RE.findall(self.text)]
        targets = {stem_of(p) for p in re.split(r"[_\W]+", name.lower()) if p}
        for i, w in enumerate(words):
            if stem_of(w) in targets:
                return not any(x in NEGATIONS for x in words[max(0, i - 3) : i])
        return any(w in ("true", "yes", "enable", "enabled", "on") for w in words)


@dataclass(frozen=True)
class SchemaLimits:
    """Bounds on the work and the size of one generated value."""

    max_items: int = 32
    """Items per array (``minItems`` beyond this is not honoured)."""
    max_string: int = 4096
    """Characters per string (``minLength`` beyond this is not honoured)."""
    max_depth: int = 32
    """Nesting levels; deeper, a schema gets an empty value of its type."""
    max_nodes: int = 4000
    """Values built before every further choice is the smallest valid one."""
    seconds: float = 1.0
    """Time before the same happens (a deadline, checked as values are built)."""


class SchemaValueGenerator:
    """Build a value valid against a JSON schema, preferring values found in a message.

    Supports ``$ref`` (local JSON pointers, ``$defs``/``definitions``), ``allOf``, ``anyOf``,
    ``oneOf``, ``enum``, ``const``, type lists, objects (all listed properties are produced, so
    required ones always are), arrays (``items``, ``prefixItems``, ``minItems``/``maxItems``),
    strings (``minLength``/``maxLength``, common ``format`` values), integers and numbers (bounds
    and ``multipleOf``), booleans and null.

    The work is bounded (see :class:`SchemaLimits`): a schema from a request is untrusted, and
    a small self-referencing one describes values of any size. Past the soft depth, or once
    the node budget or the deadline is spent, the generator takes the smallest valid choice
    (``null`` where allowed, ``minItems`` items, required properties only); past the hard
    depth it stops descending altogether.
    """

    MAX_DEPTH = 10

    def __init__(
        self, root: dict[str, Any], source: ValueSource, limits: SchemaLimits | None = None
    ) -> None:
        self.root = root
        self.source = source
        self.limits = limits or SchemaLimits()
        self._nodes = 0
        self._nesting = 0
        self._deadline = time.monotonic() + self.limits.seconds
        self.exhausted = False
        """Whether the budget or the deadline ran out (the value is then a minimal one)."""

    def generate(self) -> Any:
        return self._value(self.root, "", 0)

    def _spend(self) -> None:
        self._nodes += 1
        if not self.exhausted and (
            self._nodes > self.limits.max_nodes
            or (self._nodes % 64 == 0 and time.monotonic() > self._deadline)
        ):
            self.exhausted = True

    def _minimal(self, depth: int) -> bool:
        """Whether to take the smallest valid choice from here on."""
        return self.exhausted or depth > self.MAX_DEPTH

    # -- helpers ------------------------------------------------------------------------------
    def _resolve(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and depth < 32:
            target: Any = self.root
            for part in ref[1:].split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and part in target:
                    target = target[part]
                else:
                    target = {}
                    break
            merged = {k: v for k, v in schema.items() if k != "$ref"}
            resolved = self._resolve(target, depth + 1)
            return {**resolved, **merged} if merged else resolved
        return schema

    @staticmethod
    def _nullable(schema: dict[str, Any]) -> bool:
        t = schema.get("type")
        if t == "null" or (isinstance(t, list) and "null" in t):
            return True
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key) or ():
                if isinstance(branch, dict) and branch.get("type") == "null":
                    return True
        return False

    def _value(self, schema: Any, name: str, depth: int) -> Any:
        self._spend()
        s = self._resolve(schema)
        if self._minimal(depth) and self._nullable(s):
            return None
        if self._nesting >= self.limits.max_depth:
            return self._leaf(s)
        self._nesting += 1
        try:
            return self._compose(s, name, depth)
        finally:
            self._nesting -= 1

    def _leaf(self, s: dict[str, Any]) -> Any:
        """A value of the schema's type without descending any further."""
        if "const" in s:
            return s["const"]
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        t = s.get("type")
        t = next((x for x in t if x != "null"), "null") if isinstance(t, list) else t
        return {"object": {}, "array": [], "integer": 0, "number": 0, "boolean": False}.get(
            str(t), None if t == "null" else ""
        )

    def _compose(self, s: dict[str, Any], name: str, depth: int) -> Any:
        if "const" in s:
            return s["const"]
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            return self._enum(enum, s)
        all_of = s.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged: dict[str, Any] = {k: v for k, v in s.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties") or {})
            required: list[str] = list(merged.get("required") or [])
            for part in all_of:
                part_s = self._resolve(part)
                props.update(part_s.get("properties") or {})
                required.extend(part_s.get("required") or [])
                for k, v in part_s.items():
                    if k not in ("properties", "required"):
                        merged.setdefault(k, v)
            if props:
                merged["properties"] = props
            if required:
                merged["required"] = required
            return self._value(merged, name, depth)
        for key in ("anyOf", "oneOf"):
            branches = s.get(key)
            if isinstance(branches, list) and branches:
                resolved = [self._resolve(b) for b in branches]
                non_null = [b for b in resolved if b.get("type") != "null"]
                if self._minimal(depth) and len(non_null) < len(resolved):
                    return None
                chosen = non_null[0] if non_null else resolved[0]
                rest = {k: v for k, v in s.items() if k != key}
                return self._value({**rest, **chosen}, name, depth)
        t = s.get("type")
        if isinstance(t, list):
            options = [x for x in t if x != "null"]
            if not options or (self._minimal(depth) and "null" in t):
                return None
            t = options[0]
        if t is None:
            if "properties" in s or "additionalProperties" in s or "required" in s:
                t = "object"
            elif "items" in s or "prefixItems" in s:
                t = "array"
            else:
                t = "string"
        if t == "object":
            return self._object(s, depth)
        if t == "array":
            return self._array(s, name, depth)
        if t == "integer":
            return self._integer(s)
        if t == "number":
            return self._number(s)
        if t == "boolean":
            return self.source.truthy(name) if name else True
        if t == "null":
            return None
        return self._string(s, name)

    def _enum(self, enum: list[Any], schema: dict[str, Any]) -> Any:
        best: tuple[int, int] | None = None
        for i, option in enumerate(enum):
            if option is None:
                continue
            pos = self.source.mentioned(str(option))
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, i)
        if best is not None:
            return enum[best[1]]
        if "default" in schema and schema["default"] in enum:
            return schema["default"]
        non_null = [o for o in enum if o is not None]
        return non_null[0] if non_null else enum[0]

    def _object(self, s: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        props = s.get("properties")
        required = [k for k in s.get("required") or () if isinstance(k, str)]
        if isinstance(props, dict):
            minimal = self._minimal(depth)
            for key, sub in props.items():
                if not minimal or key in required:
                    out[key] = self._value(sub, key, depth + 1)
        for key in required:
            if key not in out:
                extra = s.get("additionalProperties")
                out[key] = self._value(extra if isinstance(extra, dict) else {}, key, depth + 1)
        return out

    def _array(self, s: dict[str, Any], name: str, depth: int) -> list[Any]:
        min_items = s.get("minItems")
        min_items = min_items if isinstance(min_items, int) and min_items > 0 else 0
        max_items = s.get("maxItems")
        out: list[Any] = []
        prefix = s.get("prefixItems")
        if isinstance(prefix, list):
            out = [self._value(p, name, depth + 1) for p in prefix]
        items = s.get("items")
        if isinstance(items, list):  # draft-04 tuple form
            out = [self._value(p, name, depth + 1) for p in items]
            items = s.get("additionalItems") if isinstance(s.get("additionalItems"), dict) else None
        if items is False:
            return out
        item_schema = self._resolve(items) if isinstance(items, dict) else {}
        if self._minimal(depth):
            target = min_items
        else:
            target = max(min_items, len(out) + (0 if prefix else 1))
            if item_schema.get("type") in ("integer", "number") and "enum" not in item_schema:
                target = max(
                    target,
                    len(out) + len(self.source.numbers) - self.source._cursor.get("numbers", 0),
                )
            elif isinstance(item_schema.get("enum"), list):
                positions = [
                    (self.source.mentioned(str(o)), i) for i, o in enumerate(item_schema["enum"])
                ]
                mentioned = [item_schema["enum"][i] for pos, i in sorted(positions) if pos >= 0]
                if mentioned:
                    return (out + mentioned[: max(1, len(mentioned))])[: max_items or None] or out
        if isinstance(max_items, int):
            target = min(target, max_items)
        target = min(target, self.limits.max_items)
        while len(out) < target:
            before = len(out)
            out.append(self._value(item_schema, name, depth + 1))
            if len(out) == before:  # pragma: no cover - defensive
                break
        if s.get("uniqueItems"):
            unique: list[Any] = []
            for v in out:
                if v not in unique:
                    unique.append(v)
            if len(unique) >= min_items:
                out = unique
        return out

    def _bounded(self, s: dict[str, Any], value: float, integer: bool) -> float:
        lo = s.get("minimum")
        hi = s.get("maximum")
        xlo = s.get("exclusiveMinimum")
        xhi = s.get("exclusiveMaximum")
        step = 1 if integer else 1e-6
        if isinstance(xlo, (int, float)) and not isinstance(xlo, bool):
            lo = max(lo, xlo + step) if isinstance(lo, (int, float)) else xlo + step
        if isinstance(xhi, (int, float)) and not isinstance(xhi, bool):
            hi = min(hi, xhi - step) if isinstance(hi, (int, float)) else xhi - step
        if isinstance(lo, (int, float)) and value < lo:
            value = math.ceil(lo) if integer else lo
        if isinstance(hi, (int, float)) and value > hi:
            value = math.floor(hi) if integer else hi
        multiple = s.get("multipleOf")
        if isinstance(multiple, (int, float)) and multiple > 0:
            try:
                stepped = math.ceil(value / multiple) * multiple
                if isinstance(hi, (int, float)) and stepped > hi:
                    stepped -= multiple
                value = round(stepped) if integer else stepped
            except (OverflowError, ValueError):  # a multipleOf too small to step by
                pass
        return value

    def _integer(self, s: dict[str, Any]) -> int:
        found = self.source.next_number()
        if found is None:
            default = s.get("default")
            found = float(default) if isinstance(default, (int, float)) else 0.0
        return int(self._bounded(s, float(round(found)), integer=True))

    def _number(self, s: dict[str, Any]) -> float | int:
        found = self.source.next_number()
        if found is None:
            default = s.get("default")
            found = float(default) if isinstance(default, (int, float)) else 0.0
        value = self._bounded(s, found, integer=False)
        return int(value) if float(value).is_integer() and abs(value) < 2**53 else value

    def _string(self, s: dict[str, Any], name: str) -> str:
        low = name.lower()
        fmt = s.get("format")
        value: str | None = None
        if fmt in ("date", "date-time", "time", "email", "uri", "url", "uuid"):
            value = self._formatted(str(fmt))
        if value is None:
            value = self.source.named_value(name)
        if value is None and low in ANSWER_FIELDS:
            value = self.source.answer()
        if value is None and low in PLACE_FIELDS:
            value = self.source._next("places", self.source.places)
        if value is None and low in QUERY_FIELDS:
            value = self.source.keyword_phrase() or None
        if value is None:
            value = self.source.next_string()
        if value is None:
            default = s.get("default")
            if isinstance(default, str):
                value = default
        if value is None:
            value = self.source.keyword_phrase() or name.replace("_", " ") or "value"
        min_len = s.get("minLength")
        max_len = s.get("maxLength")
        if isinstance(min_len, int):
            min_len = min(min_len, self.limits.max_string)
        if len(value) > self.limits.max_string:
            value = value[: self.limits.max_string]
        if isinstance(min_len, int) and len(value) < min_len:
            value = (value + " " + value) if value else "x"
            while len(value) < min_len:
                value += " " + value
        if isinstance(max_len, int) and len(value) > max_len:
            value = value[: max(max_len, 0)]
        return value[: self.limits.max_string]

    def _formatted(self, fmt: str) -> str:
        text = self.source.text
        patterns = {
            "date": (r"\b\d{4}-\d{2}-\d{2}\b", "2025-01-01"),
            "date-time": (
                r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?",
                "2025-01-01T00:00:00Z",
            ),
            "time": (r"\b\d{2}:\d{2}(?::\d{2})?\b", "12:00:00"),
            "email": (r"[\w.+-]+@[\w-]+\.[\w.-]+", "user@example.com"),
            "uri": (r"https?://\S+", "https://example.com"),
            "url": (r"https?://\S+", "https://example.com"),
            "uuid": (
                r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
                "00000000-0000-4000-8000-000000000000",
            ),
        }
        pattern, fallback = patterns[fmt]
        m = re.search(pattern, text)
        return m.group(0).rstrip(".,;)") if m else fallback
