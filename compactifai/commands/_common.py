"""What every command shares: connection options, consoles, the error boundary, bar charts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from compactifai._defaults import DEFAULT_BASE_URL, env_base_url

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from compactifai import CompactifAIClient
    from compactifai.types import Model

__all__ = [
    "DEFAULT_BASE_URL",
    "add_connection_arguments",
    "bar_chart",
    "console",
    "describe_error",
    "error_console",
    "guarded",
    "make_client",
    "model_json",
    "models_table",
    "one_line",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
# Top-level modules that come from extras: missing ones get an install hint, not a traceback.
OPTIONAL_MODULES = frozenset(
    {"rich", "langchain", "langchain_core", "langgraph", "llama_index", "starlette", "uvicorn"}
)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--base-url`` and ``--timeout``; the key comes from ``COMPACTIFAI_API_KEY`` only."""
    group = parser.add_argument_group(
        "connection",
        "The API key is read from COMPACTIFAI_API_KEY (never from the command line, so it "
        "stays out of shell history).",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=None,
        help=f"API base URL (default: $COMPACTIFAI_BASE_URL or {DEFAULT_BASE_URL})",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="request timeout in seconds (default 60)",
    )


def resolved_base_url(args: argparse.Namespace) -> str:
    base: str | None = getattr(args, "base_url", None)
    return (base or env_base_url() or DEFAULT_BASE_URL).rstrip("/")


def make_client(args: argparse.Namespace) -> CompactifAIClient:
    from compactifai import CompactifAIClient

    return CompactifAIClient(base_url=resolved_base_url(args), timeout=args.timeout)


# ---------------------------------------------------------------------------- consoles


def console() -> Console:
    """Human output on stdout (rich honours ``NO_COLOR``, ``COLUMNS`` and non-terminals)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# ---------------------------------------------------------------------------- errors


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_error(exc: BaseException, base_url: str | None = None) -> str:
    """One readable line for an API, network or configuration failure."""
    from compactifai.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        MissingAPIKeyError,
        PermissionDeniedError,
    )

    where = f" {base_url}" if base_url else ""
    if isinstance(exc, MissingAPIKeyError):
        return (
            "no API key: set COMPACTIFAI_API_KEY (or run `compactifai demo`, which uses the "
            "offline emulator when no key is set)"
        )
    if isinstance(exc, AuthenticationError):
        return one_line(
            f"the API key was rejected by{where} (401: {exc.message}); check "
            f"COMPACTIFAI_API_KEY (request id: {exc.request_id})"
        )
    if isinstance(exc, PermissionDeniedError):
        return one_line(
            f"the API key may not do this (403: {exc.message}) (request id: {exc.request_id})"
        )
    if isinstance(exc, APITimeoutError):
        return one_line(f"timed out waiting for{where}: {exc}")
    if isinstance(exc, APIConnectionError):
        return one_line(
            f"cannot reach{where}: {exc}; check your network connection or COMPACTIFAI_BASE_URL"
        )
    if isinstance(exc, APIStatusError):
        return one_line(str(exc))
    return one_line(str(exc) or type(exc).__name__)


def missing_extra_message(exc: ImportError, extra: str = "all") -> str:
    name = (exc.name or str(exc)).split(".")[0]
    return f"this command needs {name!r}: pip install 'compactifai-integrations[{extra}]'"


def guarded(
    run: Callable[[argparse.Namespace], int], extra: str = "cli"
) -> Callable[[argparse.Namespace], int]:
    """Turn API/network errors and missing extras into one ``error: ...`` line and exit 1."""

    def wrapper(args: argparse.Namespace) -> int:
        from compactifai.errors import CompactifAIError

        try:
            return run(args)
        except CompactifAIError as exc:
            _print_error(describe_error(exc, resolved_base_url(args)))
            return EXIT_FAILURE
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in OPTIONAL_MODULES:
                raise
            _print_error(missing_extra_message(exc, extra))
            return EXIT_FAILURE
        except KeyboardInterrupt:
            _print_error("interrupted")
            return EXIT_INTERRUPTED

    wrapper.__name__ = getattr(run, "__name__", "run")
    wrapper.__doc__ = run.__doc__
    return wrapper


def _print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- models


def model_json(model: Model) -> dict[str, Any]:
    """The stable ``--json`` shape of one model."""
    from compactifai.catalog import is_slim, model_info

    slim = is_slim(model.id, model.owned_by)
    info = model_info(model.id)
    return {
        "id": model.id,
        "owned_by": model.owned_by,
        "parameters": model.parameters_number,
        "created": model.created,
        "kind": "slim" if slim else "original",
        "original": info.original if slim else None,
        "context_window": info.context_window,
    }


def models_table(models: Sequence[Model], title: str | None = None) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("owner")
    table.add_column("parameters", justify="right")
    table.add_column("kind")
    table.add_column("compressed from")
    for model in models:
        row = model_json(model)
        kind = "[green]slim[/]" if row["kind"] == "slim" else "original"
        table.add_row(
            row["id"], row["owned_by"] or "-", row["parameters"] or "-", kind, row["original"] or ""
        )
    return table


# ---------------------------------------------------------------------------- charts

BAR_WIDTH = 32


def bar_chart(rows: Sequence[tuple[str, int, int]], width: int = BAR_WIDTH) -> Table:
    """Horizontal bars of input (█) and output (▒) tokens per label, scaled to the largest."""
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    largest = max((i + o for _, i, o in rows), default=0)
    for label, input_tokens, output_tokens in rows:
        total = input_tokens + output_tokens
        scale = width / largest if largest else 0.0
        n_in = round(input_tokens * scale)
        n_out = round(output_tokens * scale)
        if total and n_in + n_out == 0:
            n_in = 1
        bar = Text()
        bar.append("█" * n_in, style="cyan")
        bar.append("▒" * n_out, style="magenta")
        bar.append(" " * max(0, width - n_in - n_out))
        table.add_row(label, bar, f"{total:,} tokens ({input_tokens:,} in, {output_tokens:,} out)")
    return table
