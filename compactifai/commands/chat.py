"""``compactifai chat``: stream one answer, or hold a conversation with history."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from compactifai.commands._chat_core import ChatApi, TokenCounts
from compactifai.commands._common import (
    add_connection_arguments,
    console,
    describe_error,
    error_console,
    guarded,
    make_client,
    resolved_base_url,
    safe_text,
)

if TYPE_CHECKING:
    from rich.console import Console

    from compactifai import CompactifAIClient
    from compactifai.chat import StreamAccumulator

__all__ = ["EXAMPLE", "HELP", "add_arguments", "run", "stream_answer"]

HELP = "Chat with a model: one streamed answer, or an interactive session"
EXAMPLE = """examples:
  compactifai chat "What is tensor-network compression?"
  compactifai chat --model cai-mistral-small-3-1-slim --system "Answer in French." "Hello"
  compactifai chat --reasoning-effort high "Is 1001 prime?"
  compactifai chat --responses "Is 1001 prime?"   # over POST /v1/responses
  compactifai chat            # interactive session with history; /reset, /exit

A reasoning model's thinking goes to stderr, dimmed, before the answer; stdout gets the answer
alone. In a session, /reset forgets the history and /exit (or Ctrl-D) ends it.
--responses talks to the Responses API instead of chat completions (models whose capabilities
include responses: hypernova-60b, gpt-oss-120b, glm-5-1); --max-tokens is then sent as
max_output_tokens and --reasoning-effort as reasoning.effort (minimal, low, medium, high).
Without COMPACTIFAI_API_KEY the command stops at once (try `compactifai demo`, which runs
offline).
"""

REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh", "max")

SESSION_COMMANDS = {
    "/exit": "end the session",
    "/quit": "end the session",
    "/reset": "forget the conversation so far",
    "/help": "show these commands",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compactifai.catalog import DEFAULT_CHAT_MODEL

    parser.add_argument(
        "prompt",
        nargs="?",
        metavar="PROMPT",
        help="what to ask; without it, an interactive session reads prompts line by line",
    )
    parser.add_argument(
        "--model", "-m", default=DEFAULT_CHAT_MODEL, help=f"model id (default {DEFAULT_CHAT_MODEL})"
    )
    parser.add_argument("--system", "-s", metavar="TEXT", help="system prompt")
    parser.add_argument(
        "--temperature", "-t", type=float, default=None, help="sampling temperature (0-2)"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=None, metavar="N", help="maximum tokens to generate"
    )
    parser.add_argument(
        "--reasoning-effort",
        choices=REASONING_EFFORTS,
        default=None,
        help="how hard a reasoning model thinks (hypernova-60b and gpt-oss-120b: low, medium, "
        "high; a model refuses levels it does not implement)",
    )
    parser.add_argument(
        "--responses",
        action="store_true",
        help="use the Responses API (POST /v1/responses) instead of chat completions",
    )
    add_connection_arguments(parser)


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"model": args.model, "stream_options": {"include_usage": True}}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.reasoning_effort is not None:
        params["reasoning_effort"] = args.reasoning_effort
    return params


def _reasoning_delta(chunk: Any) -> str:
    """The reasoning text a stream chunk carries (the client reads either field name)."""
    for choice in getattr(chunk, "choices", None) or ():
        value = getattr(choice.delta, "reasoning", None)
        if isinstance(value, str) and value:
            return value
    return ""


def _token_counts(acc: StreamAccumulator) -> TokenCounts | None:
    u = acc.usage
    return None if u is None else (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens)


def _outcome(acc: StreamAccumulator) -> str:
    return f", finish: {acc.finish_reason}" if acc.finish_reason not in (None, "stop") else ""


def _new_accumulator() -> StreamAccumulator:
    from compactifai.chat import StreamAccumulator

    return StreamAccumulator()


def _fold(acc: StreamAccumulator, chunk: Any) -> tuple[str, str]:
    thought = _reasoning_delta(chunk)
    return thought, acc.add(chunk)


CHAT_COMPLETIONS: ChatApi[StreamAccumulator] = ChatApi(
    params=_params,
    open_stream=lambda client, messages, params: client.stream_chat_completion(
        messages=messages, **params
    ),
    new_accumulator=_new_accumulator,
    fold=_fold,
    token_counts=_token_counts,
    outcome=_outcome,
)
# Stream a reply to ``out`` as it arrives; a reasoning model's thinking goes to ``thoughts``.
stream_answer = CHAT_COMPLETIONS.stream


def _run(args: argparse.Namespace) -> int:
    out, err = console(), error_console()
    api: ChatApi[Any] = CHAT_COMPLETIONS
    if args.responses:
        from compactifai.commands._responses_chat import RESPONSES

        api = RESPONSES
    params = api.params(args)
    # Messages are the same for both APIs: a role and text content.
    system = [{"role": "system", "content": args.system}] if args.system else []
    with make_client(args) as client:
        if args.prompt is not None:
            prompt = [*system, {"role": "user", "content": args.prompt}]
            api.stream(client, prompt, params, out, thoughts=err, usage=err)
            return 0
        return _session(client, system, params, out, err, resolved_base_url(args), api)


def _read_prompt(interactive: bool) -> str | None:
    try:
        if interactive:
            return input("you> ")
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None
    except EOFError:
        return None


def _session(
    client: CompactifAIClient,
    system: list[dict[str, Any]],
    params: dict[str, Any],
    out: Console,
    err: Console,
    base_url: str,
    api: ChatApi[Any] = CHAT_COMPLETIONS,
) -> int:
    from compactifai.errors import BadRequestError, RequestValidationError

    interactive = sys.stdin.isatty()
    if interactive:
        err.print(
            f"[dim]Chatting with {safe_text(params['model'])} at {safe_text(base_url)}. "
            "/reset forgets the history, /exit or Ctrl-D ends.[/]"
        )
    history = list(system)
    while True:
        try:
            prompt = _read_prompt(interactive)
        except KeyboardInterrupt:
            prompt = None
        if prompt is None:
            if interactive:
                out.print()
            return 0
        prompt = prompt.strip()
        if not prompt:
            continue
        if prompt.startswith("/"):
            command = prompt.split()[0].lower()
            if command in ("/exit", "/quit"):
                return 0
            if command == "/reset":
                history = list(system)
                err.print("[dim]History cleared.[/]")
            else:
                for name, text in SESSION_COMMANDS.items():
                    err.print(f"[dim]{name:8} {text}[/]")
            continue
        if not interactive:
            out.print(f"[bold]you>[/] {safe_text(prompt)}", highlight=False)
        history.append({"role": "user", "content": prompt})
        try:
            acc = api.stream(client, history, params, out, thoughts=err, usage=err)
        except (BadRequestError, RequestValidationError) as exc:
            # The request was refused (too long, say): drop this turn, keep the session.
            history.pop()
            print(f"error: {safe_text(describe_error(exc), markup=False)}", file=sys.stderr)
            continue
        history.append({"role": "assistant", "content": acc.text})


run = guarded(_run)
