"""What every command shares: connection options, consoles, the error boundary, bar charts."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compactifai._defaults import DEFAULT_BASE_URL, env_api_key, env_base_url

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from compactifai import CompactifAIClient
    from compactifai.types import Model

__all__ = [
    "DEFAULT_BASE_URL",
    "Connection",
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
    "print_table",
    "print_untrusted",
    "require_api_key",
    "safe_text",
    "service_or_emulator",
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


def resolved_base_url(args: argparse.Namespace | None = None) -> str:
    """``--base-url``, else ``COMPACTIFAI_BASE_URL``, else the live service."""
    base: str | None = getattr(args, "base_url", None)
    return (base or env_base_url() or DEFAULT_BASE_URL).rstrip("/")


def require_api_key() -> str:
    """The key, or :class:`~compactifai.errors.MissingAPIKeyError` before anything else happens.

    The rule for commands that talk to the API: without a key they fail at once (before
    reading a prompt or a file), unless they run on the bundled emulator
    (:func:`service_or_emulator`).
    """
    key = env_api_key()
    if key is None:
        from compactifai.errors import MissingAPIKeyError

        raise MissingAPIKeyError()
    return key


def make_client(args: argparse.Namespace) -> CompactifAIClient:
    """A client for the configured service; fails at once when no key is set."""
    from compactifai import CompactifAIClient

    return CompactifAIClient(
        api_key=require_api_key(), base_url=resolved_base_url(args), timeout=args.timeout
    )


@dataclass(frozen=True)
class Connection:
    base_url: str
    api_key: str
    offline: bool  # the bundled emulator, started because no key is set

    @property
    def notice(self) -> str:
        """The first line such a command prints: which server it talks to, and why."""
        if self.offline:
            return f"No COMPACTIFAI_API_KEY set: using the bundled offline emulator at {self.base_url}."
        return f"COMPACTIFAI_API_KEY is set: running against {self.base_url}."


@contextmanager
def service_or_emulator(args: argparse.Namespace, chunk_delay: float) -> Iterator[Connection]:
    """The configured service when a key is set, else the bundled emulator while in use.

    ``COMPACTIFAI_BASE_URL`` alone does not count (the emulator needs no key, a real server
    does); an explicit ``--base-url`` without a key is refused at once.
    """
    key = env_api_key()
    if key is not None:
        yield Connection(resolved_base_url(args), key, offline=False)
        return
    if getattr(args, "base_url", None):
        require_api_key()
    from compactifai.emulator import Emulator

    with Emulator(chunk_delay=chunk_delay) as emulator:
        yield Connection(emulator.base_url, emulator.api_key, offline=True)


# ---------------------------------------------------------------------------- consoles


def console() -> Console:
    """Human output on stdout (rich honours ``NO_COLOR``, ``COLUMNS`` and non-terminals)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_table(out: Console, table: Table) -> None:
    """Print a table of ids users copy: no cell is ever cut with an ellipsis.

    Piped or redirected, the table gets the width it needs, whatever ``COLUMNS`` says, so
    every id stays on one line; on a terminal too narrow for it, cells fold onto more lines.
    """
    from rich.measure import Measurement

    for column in table.columns:
        column.no_wrap = False
        column.overflow = "fold"
    if out.is_terminal:
        out.print(table)
        return
    needed = Measurement.get(out, out.options.update_width(10_000), table).maximum
    if needed <= out.width:
        out.print(table)
        return
    width = out.width
    out.width = needed  # Console.print never renders wider than the console
    try:
        out.print(table)
    finally:
        out.width = width


# ---------------------------------------------------------------------------- untrusted text

# C0 controls but tab and newline, DEL and C1 controls: ESC and CSI start terminal escape
# sequences (window titles, clearing the screen, hyperlinks), CR overwrites what was printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\t\n]")


def safe_text(text: object, *, multiline: bool = False, markup: bool = True) -> str:
    """Text a server or a model sent (ids, statuses, messages, answers), made safe to print.

    Control characters are dropped (tab and newline are kept with ``multiline``, else they
    become spaces; print kept tabs with :func:`print_untrusted`, as rich would turn them into
    spaces) so that no escape sequence reaches the terminal, and rich markup is escaped
    so that ``[/INST]`` or ``[link=...]`` print as they are (``markup=False`` skips that for
    text printed with rich's ``markup=False`` or with plain ``print``). Every command prints
    such text through this helper.
    """
    cleaned = _CONTROL.sub("", str(text))
    if not multiline:
        cleaned = _LINE_BREAKS.sub(" ", cleaned)
    if not markup:
        return cleaned
    from rich.markup import escape

    return escape(cleaned)


def print_untrusted(out: Console, text: object, *, style: str | None = None) -> None:
    """Print a model's multi-line text (an answer, a trace, or a streamed piece of one) as
    written: through :func:`safe_text`, never read as markup, with its tabs kept.

    Rich would expand a tab to spaces, counting columns from the start of what it prints,
    which for a piece of a stream is not where the terminal's cursor is; a tab written as
    itself lands on the terminal's next tab stop, and a redirected answer keeps its
    tabs (a Makefile, TSV). ``style`` (e.g. ``"dim"``) styles the pieces between them.
    """
    pieces = safe_text(text, multiline=True, markup=False).split("\t")
    for index, piece in enumerate(pieces):
        if index:
            out.file.write("\t")
        if piece:
            out.print(piece, end="", style=style, markup=False, highlight=False, soft_wrap=True)


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
        except Exception as exc:  # a bug, or an answer nothing above foresaw: no traceback
            request_id = getattr(exc, "request_id", None)
            where = f" (request id: {request_id})" if request_id else ""
            _print_error(f"unexpected {type(exc).__name__}: {one_line(str(exc))}{where}")
            return EXIT_FAILURE

    wrapper.__name__ = getattr(run, "__name__", "run")
    wrapper.__doc__ = run.__doc__
    return wrapper


def _print_error(message: str) -> None:
    print(f"error: {safe_text(message, markup=False)}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- models


# The flags of ``Model.capabilities`` (service-2026.md §1.2), with the table's column names.
CAPABILITIES = (
    ("supports_function_calling", "tools"),
    ("supports_image", "image"),
    ("supports_audio", "audio"),
    ("supports_chat_completion", "chat"),
    ("supports_responses", "responses"),
)
TABLE_CAPABILITIES = ("tools", "image", "audio", "responses")


def capabilities_json(model: Model) -> dict[str, bool | None] | None:
    """The model's capability flags (``None`` for a flag the server did not send), or ``None``.

    ``None`` as a whole when the server sent no ``capabilities`` object at all (older servers).
    """
    capabilities = getattr(model, "capabilities", None)
    if capabilities is None:
        return None
    if isinstance(capabilities, dict):  # a client without the typed field keeps the raw object
        raw = dict(capabilities)
        raw.setdefault("supports_chat_completion", raw.get("support_chat_completion"))
        return {name: _flag(raw.get(name)) for name, _ in CAPABILITIES}
    return {name: _flag(getattr(capabilities, name, None)) for name, _ in CAPABILITIES}


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


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
        "capabilities": capabilities_json(model),
    }


def _flag_cell(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[dim]no[/]", None: "[dim]?[/]"}[value]


def models_table(models: Sequence[Model], title: str | None = None) -> Table:
    """Id, owner, size, slim or original, and capability flags (``?``: not reported).

    Ids and owners are never cut (print it with :func:`print_table`).
    """
    from rich import box
    from rich.table import Table

    table = Table(
        title=safe_text(title) if title is not None else None,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("id", style="bold")
    table.add_column("owner")
    table.add_column("params", justify="right")
    table.add_column("kind")
    table.add_column("compressed from")
    shown = [(flag, column) for flag, column in CAPABILITIES if column in TABLE_CAPABILITIES]
    for _, column in shown:
        table.add_column(column, justify="center")
    for model in models:
        row = model_json(model)
        flags = row["capabilities"] or {}
        kind = "[green]slim[/]" if row["kind"] == "slim" else "original"
        table.add_row(
            safe_text(row["id"]),
            safe_text(row["owned_by"] or "-"),
            safe_text(row["parameters"] or "-"),
            kind,
            safe_text(row["original"] or ""),
            *(_flag_cell(flags.get(flag)) for flag, _ in shown),
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
        table.add_row(
            safe_text(label), bar, f"{total:,} tokens ({input_tokens:,} in, {output_tokens:,} out)"
        )
    return table
