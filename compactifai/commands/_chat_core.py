"""What ``compactifai chat`` does the same whichever API it speaks.

Chat completions and the Responses API differ in the body they take, what their stream
carries and how usage is counted, not in how an answer is shown: a :class:`ChatApi` names
those differences, and its :meth:`~ChatApi.stream` is the one printing loop (and usage
line) for both.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from compactifai.commands._common import print_untrusted, safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from compactifai import CompactifAIClient

__all__ = ["ChatApi", "print_stream", "token_counts"]

TokenCounts = tuple[int, int, "int | None"]
"""Input, output and reasoning tokens (reasoning: None when not counted)."""


class _Answer(Protocol):
    @property
    def model(self) -> str | None: ...


Accumulated = TypeVar("Accumulated", bound=_Answer)


@dataclass(frozen=True)
class ChatApi(Generic[Accumulated]):
    """One API as ``compactifai chat`` speaks it."""

    params: Callable[[argparse.Namespace], dict[str, Any]]
    """The body fields of the command's options, in this API's words."""
    open_stream: Callable[[CompactifAIClient, list[dict[str, Any]], dict[str, Any]], Iterable[Any]]
    """The stream of an answer to the messages (chunks or events)."""
    new_accumulator: Callable[[], Accumulated]
    fold: Callable[[Accumulated, Any], tuple[str, str]]
    """Fold one stream item into the accumulator; the (reasoning, text) it added."""
    token_counts: Callable[[Accumulated], TokenCounts | None]
    """What the answer cost, if the server said."""
    outcome: Callable[[Accumulated], str]
    """How the answer ended, when it is worth saying (", finish: length")."""
    highlight_usage: bool | None = None

    def stream(
        self,
        client: CompactifAIClient,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        out: Console,
        *,
        thoughts: Console | None = None,
        spinner: str = "Thinking…",
        usage: Console | None = None,
    ) -> Accumulated:
        """Stream an answer to ``out`` as it arrives (a spinner until the first token); a
        reasoning model's thinking goes to ``thoughts``, dimmed, before the answer. With
        ``usage``, the answer's usage line follows there, dimmed (a turn of a conversation)."""
        started = time.perf_counter()
        acc = self.new_accumulator()
        items = iter(self.open_stream(client, messages, params))
        deltas = (self.fold(acc, item) for item in items)
        print_stream(deltas, out, thoughts=thoughts, spinner=spinner)
        if usage is not None:
            line = self.usage_line(acc, time.perf_counter() - started)
            usage.print(f"[dim]{safe_text(line)}[/]", highlight=self.highlight_usage)
        return acc

    def usage_line(self, acc: Accumulated, seconds: float) -> str:
        """Model, token counts, seconds and outcome of a finished answer."""
        tokens = token_counts(self.token_counts(acc))
        return f"{acc.model or '?'} · {tokens} · {seconds:.2f} s{self.outcome(acc)}"


def print_stream(
    deltas: Iterable[tuple[str, str]],
    out: Console,
    *,
    thoughts: Console | None = None,
    spinner: str = "Thinking…",
) -> None:
    """Print ``(reasoning, text)`` deltas as they arrive (a spinner until the first token).

    The text goes to ``out``; the reasoning goes to ``thoughts``, dimmed, before the answer
    (and nowhere without ``thoughts``).
    """
    status = out.status(spinner, spinner="dots") if out.is_terminal else None
    thinking = False
    if status is not None:
        status.start()
    try:
        for reasoning, text in deltas:
            thought = reasoning if thoughts is not None else ""
            if (thought or text) and status is not None:
                status.stop()
                status = None
            if thought and thoughts is not None:
                print_untrusted(thoughts, thought, style="dim")
                thoughts.file.flush()
                thinking = True
            if text:
                if thinking and thoughts is not None:
                    thoughts.print()
                    thinking = False
                print_untrusted(out, text)
                out.file.flush()
    finally:
        if status is not None:
            status.stop()
    if thinking and thoughts is not None:
        thoughts.print()
    out.print()


def token_counts(counts: TokenCounts | None) -> str:
    """``(input, output, reasoning)`` tokens as the usage line says them."""
    if counts is None:
        return "usage not reported"
    sent, received, reasoning = counts
    text = f"{sent} in, {received} out"
    return f"{text} ({reasoning} reasoning)" if reasoning else text
