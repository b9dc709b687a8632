"""Deterministic "model" behind the emulator: extractive answers, tool calls and JSON output.

Nothing here is a language model. Answers are *extractive*: the sentences of the conversation
most related to the last question (word overlap weighted by rarity, ties broken by order), so a
RAG prompt gets back its most relevant context sentence(s) and a test can tell an answer from an
echo. Tool arguments and structured output come from one JSON-schema-driven value generator fed
by the numbers, quoted strings, names and keywords of the last user message.

Everything is a pure function of the request (plus the emulator's seed), so identical requests
give identical output; ``temperature > 0`` varies the output with an RNG seeded by a hash of the
request and the temperature.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AnswerStyle",
    "Generated",
    "Generator",
    "SchemaValueGenerator",
    "ToolCall",
    "ToolSpec",
    "Turn",
    "ValueSource",
    "apply_limits",
    "count_prompt_tokens",
    "count_tokens",
    "tokenize",
]

# One token = a word or a punctuation mark, with the whitespace before it. The tokens of a text
# concatenate back to the text exactly (trailing whitespace is a token of its own).
_TOKEN_RE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\w)")
_QUOTED_RE = re.compile(
    r"\"([^\"\n]+)\"|“([^”\n]+)”|`([^`\n]+)`|(?:(?<=\s)|^)'([^'\n]+)'(?=[\s.,;:!?)]|$)"
)
_CAPITALIZED_RE = re.compile(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_PREPOSITION_RE = re.compile(
    r"\b(?i:in|for|about|on|at|from|to|of|named|called|near|with)\s+([A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*)"
)
_PLACE_RE = re.compile(r"\b(?i:in|at|from|to|near|for|of)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_LINE_RE = re.compile(r"^\s*(?:query|question|q|user question)\s*:\s*(.+)$", re.IGNORECASE)
_ANSWER_LINE_RE = re.compile(r"^\s*(?:answer|a|response|helpful answer)\s*:\s*$", re.IGNORECASE)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "us",
        "our",
        "you",
        "your",
        "yours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "there",
        "here",
        "any",
        "some",
        "all",
        "each",
        "both",
        "few",
        "more",
        "most",
        "other",
        "such",
        "own",
        "same",
        "s",
        "t",
        "don",
        "please",
        "tell",
        "give",
        "show",
        "find",
        "get",
        "use",
        "using",
        "explain",
        "describe",
        "list",
        "write",
        "return",
        "extract",
        "compute",
        "calculate",
        "let",
        "let's",
        "lets",
        "know",
        "want",
        "need",
        "like",
        "make",
        "call",
        "run",
        "answer",
        "question",
        "query",
        "context",
        "following",
        "below",
        "above",
        "based",
        "provided",
        "information",
        "given",
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank",
        "okay",
        "ok",
        "sure",
        "i'm",
        "it's",
        "what's",
        "that's",
        "there's",
        "whats",
        "one",
    ]
)
STOPWORDS = STOPWORDS | {
    "say", "respond", "reply", "provide", "generate", "create", "output", "format",
    "include", "json", "keys", "key", "object", "field", "fields",
}  # fmt: skip

_ANSWER_FIELDS = frozenset(
    [
        "answer",
        "summary",
        "explanation",
        "description",
        "reason",
        "reasoning",
        "text",
        "content",
        "response",
        "justification",
        "details",
        "body",
        "message",
        "comment",
        "analysis",
        "rationale",
        "output",
    ]
)
_QUERY_FIELDS = frozenset(
    ["query", "question", "q", "search", "prompt", "search_query", "topic", "keywords"]
)
_PLACE_FIELDS = frozenset(
    [
        "city",
        "location",
        "place",
        "country",
        "destination",
        "origin",
        "region",
        "town",
        "state",
        "address",
        "where",
        "venue",
    ]
)
_GENERIC_VERBS = frozenset(
    [
        "get",
        "set",
        "fetch",
        "lookup",
        "look",
        "find",
        "search",
        "query",
        "call",
        "run",
        "do",
        "make",
        "compute",
        "calculate",
        "retrieve",
        "check",
        "list",
        "read",
        "create",
        "update",
        "delete",
        "tool",
        "function",
        "func",
        "api",
        "by",
        "for",
        "of",
        "the",
        "a",
        "to",
    ]
)
_NEGATIONS = frozenset(
    ["not", "no", "don't", "dont", "without", "never", "false", "disable", "disabled", "off"]
)


def tokenize(text: str) -> list[str]:
    """Split text into tokens (words and punctuation, each with its leading whitespace)."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def _stem(word: str) -> str:
    w = word.lower().strip("'-_")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _keywords(text: str) -> list[str]:
    """Content words of a text in order of appearance (original spelling, deduplicated)."""
    seen: set[str] = set()
    out: list[str] = []
    for word in _WORD_RE.findall(text):
        low = word.lower()
        if low in STOPWORDS or (len(low) < 2 and not low.isdigit()):
            continue
        stem = _stem(low)
        if stem not in seen:
            seen.add(stem)
            out.append(word)
    return out


def _split_sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for sentence in _SENTENCE_SPLIT_RE.split(line):
            sentence = sentence.strip()
            if sentence and any(c.isalnum() for c in sentence):
                out.append(sentence)
    return out


# --------------------------------------------------------------------------------------------
# Conversation model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, reduced to what the generator reads."""

    role: str
    text: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    images: int = 0
    files: int = 0  # documents (file parts): counted in the prompt, their content not read


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None

    def words(self) -> set[str]:
        spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", self.name).replace("_", " ").replace("-", " ")
        return {_stem(w) for w in _keywords(spaced + " " + self.description)}

    def mentioned_at(self, text_lower: str) -> int:
        """Position of the first mention of this tool in a (lowercased) text, or -1."""
        name = self.name.lower()
        variants = {
            name,
            name.replace("_", " "),
            name.replace("-", " "),
            re.sub(r"([a-z])([A-Z])", r"\1 \2", self.name).lower(),
        }
        positions = [text_lower.find(v) for v in variants if v]
        positions = [p for p in positions if p >= 0]
        if positions:
            return min(positions)
        # Also a mention: every content word of the name ("get_weather" -> "weather").
        spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", self.name).lower()
        content = {_stem(w) for w in re.split(r"[\W_]+", spaced) if w and w not in _GENERIC_VERBS}
        if not content:
            return -1
        found: dict[str, int] = {}
        for m in _WORD_RE.finditer(text_lower):
            stem = _stem(m.group(0))
            if stem in content and stem not in found:
                found[stem] = m.start()
        return min(found.values()) if len(found) == len(content) else -1


@dataclass
class Generated:
    kind: Literal["text", "json", "tool_calls"]
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


def count_prompt_tokens(turns: Sequence[Turn], tools: Sequence[ToolSpec] = ()) -> int:
    """Prompt size: the messages' tokens plus a small per-message overhead (chat template)."""
    total = 3
    for turn in turns:
        total += 4 + count_tokens(turn.text) + 64 * turn.images + 256 * turn.files
        for call in turn.tool_calls:
            total += 3 + count_tokens(call.name) + count_tokens(call.arguments)
    for tool in tools:
        total += 8 + count_tokens(tool.name) + count_tokens(tool.description)
        if tool.parameters:
            total += count_tokens(json.dumps(tool.parameters, separators=(",", ":")))
    return total


def apply_limits(
    text: str,
    *,
    max_tokens: int | None,
    stop: Sequence[str] = (),
    ignore_eos: bool = False,
) -> tuple[list[str], Literal["stop", "length"]]:
    """Cut ``text`` like a model would: at the first stop string, else at ``max_tokens``.

    With ``ignore_eos`` the text is first repeated until it has at least ``max_tokens`` tokens,
    so the output is exactly ``max_tokens`` long unless a stop string occurs.
    """
    tokens: list[str] | None = None
    if ignore_eos and max_tokens is not None:
        tokens = tokenize(text)
        if len(tokens) < max_tokens:
            filler = tokenize(" " + (text.strip() or "The emulator keeps generating text."))
            while len(tokens) < max_tokens:
                tokens.extend(filler)
            text = "".join(tokens)
    cut_at = -1
    for s in stop:
        if s:
            idx = text.find(s)
            if idx >= 0 and (cut_at < 0 or idx < cut_at):
                cut_at = idx
    if cut_at >= 0:
        text = text[:cut_at]
        tokens = None
    if tokens is None:
        tokens = tokenize(text)
    if max_tokens is not None and len(tokens) > max_tokens:
        return tokens[:max_tokens], "length"
    if ignore_eos and cut_at < 0:
        return tokens, "length"
    return tokens, "stop"


# --------------------------------------------------------------------------------------------
# Value extraction from a message, and the JSON-schema-driven generator
# --------------------------------------------------------------------------------------------


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
        self.numbers = [m.group(0) for m in _NUMBER_RE.finditer(text)]
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED_RE.finditer(text)]
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
        self.keywords = _keywords(text)
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
        return self._answer() if self._answer is not None else self.keyword_phrase()

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
        words = [w.lower() for w in _WORD_RE.findall(self.text)]
        targets = {_stem(p) for p in re.split(r"[_\W]+", name.lower()) if p}
        for i, w in enumerate(words):
            if _stem(w) in targets:
                return not any(x in _NEGATIONS for x in words[max(0, i - 3) : i])
        return any(w in ("true", "yes", "enable", "enabled", "on") for w in words)


class SchemaValueGenerator:
    """Build a value valid against a JSON schema, preferring values found in a message.

    Supports ``$ref`` (local JSON pointers, ``$defs``/``definitions``), ``allOf``, ``anyOf``,
    ``oneOf``, ``enum``, ``const``, type lists, objects (all listed properties are produced, so
    required ones always are), arrays (``items``, ``prefixItems``, ``minItems``/``maxItems``),
    strings (``minLength``/``maxLength``, common ``format`` values), integers and numbers (bounds
    and ``multipleOf``), booleans and null.
    """

    MAX_DEPTH = 10

    def __init__(self, root: dict[str, Any], source: ValueSource) -> None:
        self.root = root
        self.source = source

    def generate(self) -> Any:
        return self._value(self.root, "", 0)

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
        s = self._resolve(schema)
        if depth > self.MAX_DEPTH and self._nullable(s):
            return None
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
                if depth > self.MAX_DEPTH and len(non_null) < len(resolved):
                    return None
                chosen = non_null[0] if non_null else resolved[0]
                rest = {k: v for k, v in s.items() if k != key}
                return self._value({**rest, **chosen}, name, depth)
        t = s.get("type")
        if isinstance(t, list):
            options = [x for x in t if x != "null"]
            if not options or (depth > self.MAX_DEPTH and "null" in t):
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
        if isinstance(props, dict):
            for key, sub in props.items():
                out[key] = self._value(sub, key, depth + 1)
        for key in s.get("required") or ():
            if isinstance(key, str) and key not in out:
                extra = s.get("additionalProperties")
                out[key] = self._value(extra if isinstance(extra, dict) else {}, key, depth + 1)
        return out

    def _array(self, s: dict[str, Any], name: str, depth: int) -> list[Any]:
        min_items = int(s.get("minItems") or 0)
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
        if depth > self.MAX_DEPTH:
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
            value = math.ceil(value / multiple) * multiple
            if isinstance(hi, (int, float)) and value > hi:
                value -= multiple
            if integer:
                value = round(value)
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
        if value is None and low in _ANSWER_FIELDS:
            value = self.source.answer()
        if value is None and low in _PLACE_FIELDS:
            value = self.source._next("places", self.source.places)
        if value is None and low in _QUERY_FIELDS:
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
        if isinstance(min_len, int) and len(value) < min_len:
            value = (value + " " + value) if value else "x"
            while len(value) < min_len:
                value += " " + value
        if isinstance(max_len, int) and len(value) > max_len:
            value = value[:max_len]
        return value

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


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

_NO_CONTEXT_TEMPLATES = (
    "You asked about {kw}. There is nothing about {kw} in this conversation yet, so I cannot say more.",
    "I have no details on {kw} here; share some context about {kw} and I will use it.",
    "On {kw}: nothing in this conversation covers it yet.",
)
_OPENERS = ("", "Based on the conversation: ", "Here is what I found. ", "In short: ")


# ReAct agents (LlamaIndex's ReActAgent, LangChain's create_react_agent) describe their tools in
# the system prompt and expect "Thought/Action/Action Input" text instead of native tool calls.
_REACT_TOOL_RE = re.compile(r"^> Tool Name: (\S+)[ \t]*$", re.MULTILINE)
_REACT_ARGS_RE = re.compile(r"^Tool Args: (\{.*\})[ \t]*$", re.MULTILINE)
_REACT_OBSERVATION_RE = re.compile(r"^\s*Observation:\s*(.*)$", re.DOTALL)


def _react_tools(system_text: str) -> list[ToolSpec]:
    """The tools a ReAct system prompt lists (``> Tool Name:`` blocks with ``Tool Args:``)."""
    if "Action Input:" not in system_text:
        return []
    starts = list(_REACT_TOOL_RE.finditer(system_text))
    tools: list[ToolSpec] = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(system_text)
        block = system_text[match.end() : end]
        args = _REACT_ARGS_RE.search(block)
        try:
            parameters = json.loads(args.group(1)) if args else None
        except ValueError:
            parameters = None
        tools.append(ToolSpec(match.group(1), block.strip()[:500], parameters))
    return tools


@dataclass(frozen=True)
class AnswerStyle:
    """How a model picks the sentences of an extractive answer.

    Real models answer the same prompt differently; the emulator's stand-in is that each model
    id gets its own style (a pure function of the id and the seed), so a side-by-side
    comparison of two models on the emulator shows answers that agree on some prompts and not
    on others. Tool calls and structured output do not depend on it.
    """

    threshold: float = 0.5
    """A sentence joins the best one when it scores at least this share of the best score."""
    max_sentences: int = 3

    @classmethod
    def of_model(cls, model: str, seed: int = 0) -> AnswerStyle:
        digest = hashlib.sha256(f"{seed}|{model}".encode()).digest()
        return cls(threshold=0.35 + digest[0] / 255 * 0.5, max_sentences=1 + digest[1] % 3)


class Generator:
    """Turns a conversation into the emulator's deterministic reply."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # -- randomness ---------------------------------------------------------------------------
    def _rng(self, turns: Sequence[Turn], temperature: float | None) -> random.Random | None:
        if not temperature:
            return None
        h = hashlib.sha256(f"{self.seed}|{temperature!r}".encode())
        for t in turns:
            h.update(f"\x00{t.role}\x00{t.text}".encode())
        return random.Random(int.from_bytes(h.digest()[:8], "big"))

    # -- question / context -------------------------------------------------------------------
    @staticmethod
    def _last_user_index(turns: Sequence[Turn]) -> int:
        for i in range(len(turns) - 1, -1, -1):
            if turns[i].role == "user":
                return i
        return -1

    @staticmethod
    def split_question(text: str) -> tuple[str, list[str]]:
        """(question, other sentences) of a user message that may embed retrieved context."""
        lines = text.splitlines()
        while lines and (not lines[-1].strip() or _ANSWER_LINE_RE.match(lines[-1])):
            lines.pop()
        for i in range(len(lines) - 1, -1, -1):
            m = _LABEL_LINE_RE.match(lines[i])
            if m:
                rest = lines[:i] + lines[i + 1 :]
                return m.group(1).strip(), _split_sentences("\n".join(rest))
        sentences = _split_sentences("\n".join(lines))
        if len(sentences) <= 1:
            return (sentences[0] if sentences else text.strip()), []
        q_index = len(sentences) - 1
        for i in range(len(sentences) - 1, -1, -1):
            if sentences[i].endswith("?"):
                q_index = i
                break
        return sentences[q_index], sentences[:q_index] + sentences[q_index + 1 :]

    def _question_and_context(self, turns: Sequence[Turn]) -> tuple[str, list[str]]:
        last_user = self._last_user_index(turns)
        context: list[str] = []
        question = ""
        for i, turn in enumerate(turns):
            if i == last_user:
                question, rest = self.split_question(turn.text)
                context.extend(rest)
            elif turn.text:
                context.extend(_split_sentences(turn.text))
        return question, context

    def style(self, model: str | None) -> AnswerStyle:
        """The answer style of ``model`` (the default style when no model is named)."""
        return AnswerStyle() if model is None else AnswerStyle.of_model(model, self.seed)

    def extractive_answer(
        self,
        turns: Sequence[Turn],
        rng: random.Random | None = None,
        budget: int = 200,
        style: AnswerStyle = AnswerStyle(),
    ) -> str:
        question, context = self._question_and_context(turns)
        keywords = _keywords(question)
        stems = {_stem(k) for k in keywords}
        if not question.strip() and not context:
            return "Hello! How can I help you today?"
        q_norm = question.strip().lower()
        candidates: list[tuple[str, set[str]]] = []
        seen: set[str] = set()
        for sentence in context:
            low = sentence.lower()
            if low == q_norm or low in seen:
                continue
            seen.add(low)
            candidates.append((sentence, {_stem(w) for w in _WORD_RE.findall(sentence)}))
        scored: list[tuple[float, int, str]] = []
        if stems and candidates:
            n = len(candidates)
            df = {s: sum(1 for _, words in candidates if s in words) for s in stems}
            for order, (sentence, words) in enumerate(candidates):
                score = sum(1.0 + math.log(1 + n / df[s]) for s in stems if s in words)
                if score > 0:
                    scored.append((score, order, sentence))
        if not scored:
            if not keywords:
                return "Hello! How can I help you today?"
            kw = " ".join(keywords[:5])
            template = _NO_CONTEXT_TEMPLATES[0 if rng is None else rng.randrange(3)]
            return template.format(kw=kw)
        scored.sort(key=lambda x: (-x[0], x[1]))
        best = scored[0][0]
        chosen = [s for score, _, s in scored if score >= best * style.threshold]
        chosen = chosen[: style.max_sentences]
        if rng is not None and len(chosen) > 1:
            tail = chosen[1:]
            rng.shuffle(tail)
            chosen = [chosen[0], *tail[: rng.randint(0, len(tail))]]
        out: list[str] = []
        used = 0
        for sentence in chosen:
            size = count_tokens(sentence)
            if out and used + size > budget:
                break
            out.append(sentence)
            used += size
        opener = "" if rng is None else _OPENERS[rng.randrange(len(_OPENERS))]
        return opener + " ".join(out)

    # -- tools --------------------------------------------------------------------------------
    @staticmethod
    def _tool_results_since(turns: Sequence[Turn], start: int) -> list[tuple[str, str]]:
        names: dict[str, str] = {}
        results: list[tuple[str, str]] = []
        for turn in turns[start + 1 :]:
            for call in turn.tool_calls:
                names[call.id] = call.name
            if turn.role == "tool":
                results.append((names.get(turn.tool_call_id or "", "") or "the tool", turn.text))
            elif turn.role == "function":
                results.append((turn.name or "the function", turn.text))
        return results

    def _called_since(self, turns: Sequence[Turn], start: int) -> set[str]:
        called: set[str] = set()
        for turn in turns[start + 1 :]:
            for call in turn.tool_calls:
                called.add(call.name)
            if turn.role == "function" and turn.name:
                called.add(turn.name)
        return called

    def tool_arguments(
        self, tool: ToolSpec, turns: Sequence[Turn], tools: Sequence[ToolSpec]
    ) -> str:
        last_user = self._last_user_index(turns)
        text = turns[last_user].text if last_user >= 0 else ""
        source = ValueSource(
            text,
            answer=lambda: self.extractive_answer(turns),
            exclude=[t.name for t in tools],
        )
        schema = tool.parameters or {}
        if not schema or not (
            schema.get("properties") or schema.get("$ref") or schema.get("anyOf")
        ):
            value: Any = (
                {}
                if not schema.get("required")
                else SchemaValueGenerator(schema, source).generate()
            )
        else:
            value = SchemaValueGenerator(schema, source).generate()
        if not isinstance(value, dict):
            value = {}
        return json.dumps(value, ensure_ascii=False)

    @staticmethod
    def _most_relevant(tools: Sequence[ToolSpec], text: str) -> ToolSpec:
        lower = text.lower()
        words = {_stem(w) for w in _WORD_RE.findall(text)}
        best: tuple[float, int] = (-1.0, 0)
        for i, tool in enumerate(tools):
            score = len(tool.words() & words) + (5.0 if tool.mentioned_at(lower) >= 0 else 0.0)
            if score > best[0]:
                best = (score, i)
        return tools[best[1]]

    def react_reply(self, turns: Sequence[Turn]) -> str | None:
        """ReAct-format text when the system prompt asks for it; ``None`` otherwise.

        Calls a tool the task names (arguments from values in the task); after an
        ``Observation:`` answers with it; otherwise answers extractively.
        """
        system = "\n".join(t.text for t in turns if t.role in ("system", "developer"))
        tools = _react_tools(system)
        if not tools:
            return None
        observations: list[str] = []
        task = -1
        for i in range(len(turns) - 1, -1, -1):
            if turns[i].role != "user":
                continue
            observation = _REACT_OBSERVATION_RE.match(turns[i].text)
            if observation is None:
                task = i
                break
            observations.append(" ".join(observation.group(1).split()))
        if observations:
            return (
                "Thought: I can answer without using any more tools.\n"
                f"Answer: The result is {observations[0]}."
            )
        text = turns[task].text.lower() if task >= 0 else ""
        mentioned = sorted(
            (pos, i) for i, t in enumerate(tools) if (pos := t.mentioned_at(text)) >= 0
        )
        if mentioned:
            tool = tools[mentioned[0][1]]
            arguments = self.tool_arguments(tool, turns[: task + 1], tools)
            return (
                "Thought: I need to use a tool to help me answer the question.\n"
                f"Action: {tool.name}\nAction Input: {arguments}"
            )
        conversation = [t for t in turns if t.role not in ("system", "developer")]
        return (
            "Thought: I can answer without using any more tools.\n"
            f"Answer: {self.extractive_answer(conversation)}"
        )

    # -- entry points -------------------------------------------------------------------------
    def chat(
        self,
        turns: Sequence[Turn],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        new_call_id: Callable[[], str] = lambda: "chatcmpl-tool-0",
        model: str | None = None,
    ) -> Generated:
        """The reply to a conversation. ``tool_choice`` is ``none``/``auto``/``required`` or
        the name of the function to call; ``model`` picks the style of free-text answers."""
        rng = self._rng(turns, temperature)
        last_user = self._last_user_index(turns)
        user_text = turns[last_user].text if last_user >= 0 else ""
        if tools and tool_choice != "none":
            chosen: ToolSpec | None = None
            if tool_choice in (None, "auto"):
                called = self._called_since(turns, last_user)
                lower = user_text.lower()
                mentioned = sorted(
                    (pos, i)
                    for i, t in enumerate(tools)
                    if t.name not in called and (pos := t.mentioned_at(lower)) >= 0
                )
                if mentioned:
                    chosen = tools[mentioned[0][1]]
            elif tool_choice == "required":
                chosen = self._most_relevant(tools, user_text)
            else:
                chosen = next((t for t in tools if t.name == tool_choice), None)
            if chosen is not None:
                call = ToolCall(
                    new_call_id(), chosen.name, self.tool_arguments(chosen, turns, tools)
                )
                return Generated("tool_calls", tool_calls=[call])
        if not tools:
            react = self.react_reply(turns)
            if react is not None:
                return Generated("text", text=react)
        rf_type = (response_format or {}).get("type")
        if rf_type in ("json_object", "json_schema"):
            return Generated("json", text=self.json_output(turns, response_format or {}, rng))
        if turns and turns[-1].role in ("tool", "function"):
            results = self._tool_results_since(turns, last_user)
            parts = []
            for name, content in results:
                content = " ".join(content.split())
                if len(content) > 400:
                    content = content[:400] + "..."
                parts.append(
                    f"The result of {name} is {content}."
                    if content
                    else f"{name} returned nothing."
                )
            return Generated("text", text=" ".join(parts))
        return Generated("text", text=self.extractive_answer(turns, rng, style=self.style(model)))

    def json_output(
        self,
        turns: Sequence[Turn],
        response_format: dict[str, Any],
        rng: random.Random | None = None,
    ) -> str:
        last_user = self._last_user_index(turns)
        text = turns[last_user].text if last_user >= 0 else ""
        results = self._tool_results_since(turns, last_user)
        if results:
            text = text + "\n" + "\n".join(content for _, content in results)
        source = ValueSource(text, answer=lambda: self.extractive_answer(turns, rng))
        if response_format.get("type") == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema") or {}
            value = SchemaValueGenerator(schema, source).generate()
        else:
            value = self._json_object(turns, source)
        return json.dumps(value, ensure_ascii=False)

    def _json_object(self, turns: Sequence[Turn], source: ValueSource) -> dict[str, Any]:
        keys: list[str] = []
        for turn in turns:
            if turn.role in ("system", "developer", "user"):
                for m in _QUOTED_RE.finditer(turn.text):
                    value = next(g for g in m.groups() if g)
                    if _IDENTIFIER_RE.match(value) and value not in keys:
                        keys.append(value)
        if not keys:
            return {"answer": source.answer()}
        keys = keys[:12]
        keyed = ValueSource(source.text, answer=source.answer)
        keyed.quoted = [q for q in keyed.quoted if q.strip() and q not in keys]
        gen = SchemaValueGenerator({"type": "string"}, keyed)
        return {k: gen._string({}, k) for k in keys}

    def completion(
        self, prompt: str, temperature: float | None = None, model: str | None = None
    ) -> str:
        turns = [Turn("user", prompt)]
        return self.extractive_answer(turns, self._rng(turns, temperature), style=self.style(model))
