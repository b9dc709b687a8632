"""The conversation model: a chat request reduced to what the answer engine reads."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .tokenizer import WORD_RE, content_words, count_tokens, stem_of
from .words import GENERIC_VERBS

__all__ = [
    "Generated",
    "ToolCall",
    "ToolSpec",
    "Turn",
    "count_prompt_tokens",
    "count_tool_call_tokens",
]


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
        return {stem_of(w) for w in content_words(spaced + " " + self.description)}

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
        content = {stem_of(w) for w in re.split(r"[\W_]+", spaced) if w and w not in GENERIC_VERBS}
        if not content:
            return -1
        found: dict[str, int] = {}
        for m in WORD_RE.finditer(text_lower):
            stem = stem_of(m.group(0))
            if stem in content and stem not in found:
                found[stem] = m.start()
        return min(found.values()) if len(found) == len(content) else -1


@dataclass
class Generated:
    kind: Literal["text", "json", "tool_calls"]
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    """A reasoning model's thinking before the reply (empty: none)."""


def count_tool_call_tokens(calls: Sequence[ToolCall]) -> int:
    """The tokens tool calls take, in a prompt or an answer: name, arguments and framing."""
    return sum(3 + count_tokens(call.name) + count_tokens(call.arguments) for call in calls)


def count_prompt_tokens(turns: Sequence[Turn], tools: Sequence[ToolSpec] = ()) -> int:
    """Prompt size: the messages' tokens plus a small per-message overhead (chat template)."""
    total = 3
    for turn in turns:
        total += 4 + count_tokens(turn.text) + 64 * turn.images + 256 * turn.files
        total += count_tool_call_tokens(turn.tool_calls)
    for tool in tools:
        total += 8 + count_tokens(tool.name) + count_tokens(tool.description)
        if tool.parameters:
            total += count_tokens(json.dumps(tool.parameters, separators=(",", ":")))
    return total
