"""``compactifai chat --responses``: the same conversation over ``POST /v1/responses``.

The history is sent whole as input messages on every turn (nothing is stored server-side:
``store`` stays false); reasoning arrives as its own output items and is shown dimmed on
stderr before the answer, like chat's.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from compactifai.commands._chat_core import ChatApi, TokenCounts

if TYPE_CHECKING:
    from compactifai.responses import ResponseStreamAccumulator

__all__ = [
    "RESPONSES",
    "responses_params",
    "stream_response_answer",
    "usage_line",
]


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


def _new_accumulator() -> ResponseStreamAccumulator:
    from compactifai.responses import ResponseStreamAccumulator

    return ResponseStreamAccumulator()


def _fold(acc: ResponseStreamAccumulator, event: Any) -> tuple[str, str]:
    delta = acc.add(event)
    return delta.reasoning, delta.text


def _token_counts(acc: ResponseStreamAccumulator) -> TokenCounts | None:
    u = acc.usage
    return None if u is None else (u.input_tokens, u.output_tokens, u.reasoning_tokens)


def _outcome(acc: ResponseStreamAccumulator) -> str:
    """The status when not completed (and why), then how many function calls were made."""
    calls = f", {len(acc.tool_calls)} function calls" if acc.tool_calls else ""
    status = ""
    if acc.status not in (None, "completed"):
        reason = acc.incomplete_reason
        status = f", {acc.status}" + (f": {reason}" if reason else "")
    return status + calls


RESPONSES: ChatApi[ResponseStreamAccumulator] = ChatApi(
    params=responses_params,
    open_stream=lambda client, messages, params: client.stream_response(input=messages, **params),
    new_accumulator=_new_accumulator,
    fold=_fold,
    token_counts=_token_counts,
    outcome=_outcome,
    highlight_usage=False,
)
# A response streamed to ``out``, its reasoning to ``thoughts``; its usage line.
stream_response_answer = RESPONSES.stream
usage_line = RESPONSES.usage_line
