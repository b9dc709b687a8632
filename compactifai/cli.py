"""The ``compactifai`` command line.

Subcommands live in :data:`COMMANDS`: a name mapped to a :class:`Command` (help text, a function
that adds its arguments to a subparser, and a function that runs it and returns an exit code).
To add one, write the two functions and register them::

    COMMANDS["models"] = Command("List the models", add_models_arguments, run_models)

Heavy imports (uvicorn, starlette, the client) belong inside the run functions so that
``compactifai --help`` works without any extra installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from compactifai._defaults import DEFAULT_BASE_URL
from compactifai.commands import batch as _batch
from compactifai.commands import chat as _chat
from compactifai.commands import demo as _demo
from compactifai.commands import emulator as _emulator
from compactifai.commands import models as _models
from compactifai.commands import transcribe as _transcribe
from compactifai.commands import usage as _usage
from compactifai.compare import cli as _compare

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    example: str = ""  # shown under the subcommand's --help


NO_KEY_RULE = """\
The API key comes from COMPACTIFAI_API_KEY. Without it, `demo` and `compare` run on the
bundled offline emulator (their first line says so); every other command that talks to
the API stops at once with "no API key", before reading any input.
"""

COMMANDS: dict[str, Command] = {
    "emulator": Command(_emulator.HELP, _emulator.add_arguments, _emulator.run, _emulator.EXAMPLE),
    "models": Command(_models.HELP, _models.add_arguments, _models.run, _models.EXAMPLE),
    "chat": Command(_chat.HELP, _chat.add_arguments, _chat.run, _chat.EXAMPLE),
    "usage": Command(_usage.HELP, _usage.add_arguments, _usage.run, _usage.EXAMPLE),
    "demo": Command(_demo.HELP, _demo.add_arguments, _demo.run, _demo.EXAMPLE),
    "compare": Command(_compare.HELP, _compare.add_arguments, _compare.run, _compare.EXAMPLE),
    "batch": Command(_batch.HELP, _batch.add_arguments, _batch.run, _batch.EXAMPLE),
    "transcribe": Command(
        _transcribe.HELP, _transcribe.add_arguments, _transcribe.run, _transcribe.EXAMPLE
    ),
}


def version_text() -> str:
    """``compactifai --version``: the package version and the API base URL commands would use."""
    from compactifai._defaults import env_api_key
    from compactifai._version import __version__
    from compactifai.commands._common import resolved_base_url

    url = resolved_base_url()
    source = "COMPACTIFAI_BASE_URL" if url != DEFAULT_BASE_URL.rstrip("/") else "default"
    key = (
        "set (COMPACTIFAI_API_KEY)"
        if env_api_key()
        else "not set: demo and compare use the bundled emulator, other commands stop"
    )
    return f"compactifai {__version__}\nAPI base URL: {url} ({source})\nAPI key: {key}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compactifai",
        description="Tools for CompactifAI's LLM API.",
        epilog=NO_KEY_RULE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_text(),
        help="show the package version and the API base URL, then exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        sp = sub.add_parser(
            name,
            help=command.help,
            description=command.help,
            epilog=command.example or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
