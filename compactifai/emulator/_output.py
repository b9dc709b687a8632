"""What a generated reply amounts to once the request's limits cut it, and what it costs: the
one accounting behind the chat and Responses routes' ``usage``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .conversation import Generated, ToolCall, count_tool_call_tokens
from .tokenizer import apply_limits, tokenize

__all__ = ["Finish", "Output", "cut_and_count"]

Finish = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True)
class Output:
    """The reply as sent: the reasoning's and the answer's tokens, why it ended, its usage."""

    generated: Generated
    reasoning_tokens: list[str]
    tokens: list[str]
    """The answer's text tokens (none when it is tool calls)."""
    finish: Finish
    prompt_tokens: int
    completion_tokens: int
    """The answer's tokens plus the reasoning's."""
    reasoning_model: bool
    """Whether usage reports reasoning tokens (a reasoning model's answers)."""

    @property
    def cut_short(self) -> bool:
        """Whether the cap ended the reply (Responses: ``incomplete``)."""
        return self.finish == "length"

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The calls the answer makes (none when the limit cut it before them)."""
        return self.generated.tool_calls if self.finish == "tool_calls" else []


def cut_and_count(
    generated: Generated,
    *,
    cap: int | None,
    prompt_tokens: int,
    reasoning_model: bool,
    stop: Sequence[str] = (),
    ignore_eos: bool = False,
) -> Output:
    """Cut the reply to ``cap`` tokens and ``stop`` strings and count its tokens.

    As on a vLLM server, the cap bounds everything generated, the reasoning first: a budget
    the thinking uses up leaves an empty answer (``length``). Stop strings apply to the answer
    only.
    """
    reasoning = tokenize(generated.reasoning) if generated.reasoning else []
    if cap is not None and reasoning and len(reasoning) >= cap:
        return Output(generated, reasoning[:cap], [], "length", prompt_tokens, cap, reasoning_model)
    if generated.kind == "tool_calls":
        used = count_tool_call_tokens(generated.tool_calls) + len(reasoning)
        return Output(generated, reasoning, [], "tool_calls", prompt_tokens, used, reasoning_model)
    tokens, finish = apply_limits(
        generated.text,
        max_tokens=None if cap is None else cap - len(reasoning),
        stop=stop,
        ignore_eos=ignore_eos,
    )
    used = len(tokens) + len(reasoning)
    return Output(generated, reasoning, tokens, finish, prompt_tokens, used, reasoning_model)
