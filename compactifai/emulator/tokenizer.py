"""The emulator's tokenizer: what a "token" is for streaming, ``max_tokens`` and usage counts.

One token is a word or a punctuation mark with the whitespace before it, so the tokens of a
text concatenate back to the text exactly (trailing whitespace is a token of its own).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from .words import STOPWORDS

__all__ = [
    "WORD_RE",
    "apply_limits",
    "argument_fragments",
    "content_words",
    "count_tokens",
    "split_sentences",
    "stem_of",
    "tokenize",
]

_TOKEN_RE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")


def tokenize(text: str) -> list[str]:
    """Split text into tokens (words and punctuation, each with its leading whitespace)."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def stem_of(word: str) -> str:
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


def content_words(text: str) -> list[str]:
    """Content words of a text in order of appearance (original spelling, deduplicated)."""
    seen: set[str] = set()
    out: list[str] = []
    for word in WORD_RE.findall(text):
        low = word.lower()
        if low in STOPWORDS or (len(low) < 2 and not low.isdigit()):
            continue
        stem = stem_of(low)
        if stem not in seen:
            seen.add(stem)
            out.append(word)
    return out


def split_sentences(text: str) -> list[str]:
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


def argument_fragments(arguments: str) -> list[str]:
    """A tool call's JSON argument string in stream fragments (a few tokens each)."""
    toks = tokenize(arguments)
    return ["".join(toks[i : i + 3]) for i in range(0, len(toks), 3)] or [""]
