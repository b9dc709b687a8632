"""``compactifai chat --responses``: the same conversation over ``POST /v1/responses``.

The history is sent whole as input messages on every turn (nothing is stored server-side:
``store`` stays false); reasoning arrives as its own output items and is shown dimmed on
stderr before the answer, like chat's.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from compactifai.commands._common import safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from compactifai import CompactifAIClient
    from compactifai.responses import ResponseStreamAccumulator

__all__ = ["responses_params", "responses_turn", "stream_response_answer", "usage_line"]


def responses_params(args: argparse.Namespace) -> dict[str, Any]:
    """The body fields of ``chat``'s options in the Responses API's words."""
    params: dict[str, Any] = {"model": args.model}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_output_tokens"] = args.max_tokens
    if args.reasoning_effort is not None:
        params["reasoning"] = {"effort": args.reasoning_effort}
    return params


def stream_response_answer(
    client: CompactifAIClient,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    out: Console,
    *,
    thoughts: Console | None = None,
    spinner: str = "Thinking…",
) -> ResponseStreamAccumulator:
    """Stream a response to ``out`` as it arrives (a spinner until the first token); its
    reasoning goes to ``thoughts``, dimmed, before the answer."""
    from compactifai.responses import ResponseStreamAccumulator

    acc = ResponseStreamAccumulator()
    events = iter(client.stream_response(input=messages, **params))
    status = out.status(spinner, spinner="dots") if out.is_terminal else None
    thinking = False
    if status is not None:
        status.start()
    try:
        for event in events:
            delta = acc.add(event)
            thought = delta.reasoning if thoughts is not None else ""
            if (thought or delta.text) and status is not None:
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
            if delta.text:
                if thinking and thoughts is not None:
                    thoughts.print()
                    thinking = False
                out.print(
                    safe_text(delta.text, multiline=True, markup=False),
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
    return acc


def usage_line(acc: ResponseStreamAccumulator, seconds: float) -> str:
    usage = acc.usage
    tokens = (
        f"{usage.input_tokens} in, {usage.output_tokens} out"
        if usage is not None
        else "usage not reported"
    )
    if usage is not None and usage.reasoning_tokens:
        tokens += f" ({usage.reasoning_tokens} reasoning)"
    calls = f", {len(acc.tool_calls)} function calls" if acc.tool_calls else ""
    status = ""
    if acc.status not in (None, "completed"):
        reason = acc.incomplete_reason
        status = f", {acc.status}" + (f": {reason}" if reason else "")
    return f"{acc.model or '?'} · {tokens} · {seconds:.2f} s{status}{calls}"


def responses_turn(
    client: CompactifAIClient,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    out: Console,
    err: Console,
) -> ResponseStreamAccumulator:
    started = time.perf_counter()
    acc = stream_response_answer(client, messages, params, out, thoughts=err)
    line = usage_line(acc, time.perf_counter() - started)
    err.print(f"[dim]{safe_text(line)}[/]", highlight=False)
    return acc
