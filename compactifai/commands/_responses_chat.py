"""``compactifai chat --responses``: the same conversation over ``POST /v1/responses``.

The history is sent whole as input messages on every turn (nothing is stored server-side:
``store`` stays false); reasoning arrives as its own output items and is shown dimmed on
stderr before the answer, like chat's.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from compactifai.commands._stream_print import print_stream, timed_turn

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

    def deltas() -> Iterator[tuple[str, str]]:
        for event in events:
            delta = acc.add(event)
            yield delta.reasoning, delta.text

    print_stream(deltas(), out, thoughts=thoughts, spinner=spinner)
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
    return timed_turn(
        lambda: stream_response_answer(client, messages, params, out, thoughts=err),
        usage_line,
        err,
        highlight=False,
    )
