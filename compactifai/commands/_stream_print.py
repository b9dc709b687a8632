"""Printing a streamed answer and its usage line, for either API ``compactifai chat`` speaks.

Chat completions and the Responses API differ in what a stream carries, not in how it is
shown: each is read as ``(reasoning, text)`` deltas, and this one loop prints them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from compactifai.commands._common import safe_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_stream", "timed_turn"]

Accumulated = TypeVar("Accumulated")


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
                # markup=False: the model's text is shown as written, never read as rich markup.
                thoughts.print(
                    safe_text(thought, multiline=True, markup=False),
                    end="",
                    style="dim",
                    markup=False,
                    soft_wrap=True,
                )
                thoughts.file.flush()
                thinking = True
            if text:
                if thinking and thoughts is not None:
                    thoughts.print()
                    thinking = False
                out.print(
                    safe_text(text, multiline=True, markup=False),
                    end="",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
                out.file.flush()
    finally:
        if status is not None:
            status.stop()
    if thinking and thoughts is not None:
        thoughts.print()
    out.print()


def timed_turn(
    answer: Callable[[], Accumulated],
    usage_line: Callable[[Accumulated, float], str],
    err: Console,
    *,
    highlight: bool | None = None,
) -> Accumulated:
    """Run one streamed ``answer``, then report its usage line (dimmed) on ``err``."""
    started = time.perf_counter()
    acc = answer()
    line = usage_line(acc, time.perf_counter() - started)
    err.print(f"[dim]{safe_text(line)}[/]", highlight=highlight)
    return acc
