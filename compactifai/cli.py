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

from compactifai.commands import batch as _batch
from compactifai.commands import chat as _chat
from compactifai.commands import demo as _demo
from compactifai.commands import models as _models
from compactifai.commands import usage as _usage
from compactifai.compare import cli as _compare

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    example: str = ""  # shown under the subcommand's --help


# --------------------------------------------------------------------------------------------
# emulator
# --------------------------------------------------------------------------------------------


def _add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)"
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accepted API key; repeat for several users (default: test-key)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds added to every response"
    )
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds between streamed chunks",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for sampling variation and faults"
    )
    parser.add_argument(
        "--no-usage-endpoint",
        dest="usage_endpoint",
        action="store_false",
        help="answer 404 on /v1/usage/completions, like the live service today",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default warning)",
    )


def _run_emulator(args: argparse.Namespace) -> int:
    import signal
    import threading

    try:
        from compactifai.emulator import Emulator
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        print(
            f"The emulator needs the 'emulator' extra: pip install 'compactifai-integrations[emulator]' ({exc})",
            file=sys.stderr,
        )
        return 2
    keys = tuple(args.api_keys or ("test-key",))
    emulator = Emulator(
        api_keys=keys,
        host=args.host,
        port=args.port,
        latency=args.latency,
        seed=args.seed,
        usage_endpoint=args.usage_endpoint,
        chunk_delay=args.chunk_delay,
        log_level=args.log_level,
    )
    try:
        emulator.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    print(
        f"CompactifAI emulator listening on {emulator.base_url} (API key: {', '.join(keys)})",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            if not emulator.running:
                print("The emulator stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
    print("CompactifAI emulator stopped", flush=True)
    return 0


COMMANDS: dict[str, Command] = {
    "emulator": Command(
        "Run the offline CompactifAI API emulator until Ctrl-C",
        _add_emulator_arguments,
        _run_emulator,
        "examples:\n  compactifai emulator --port 8080\n"
        "  COMPACTIFAI_BASE_URL=http://127.0.0.1:8080/v1 COMPACTIFAI_API_KEY=test-key "
        "compactifai models\n",
    ),
    "models": Command(_models.HELP, _models.add_arguments, _models.run, _models.EXAMPLE),
    "chat": Command(_chat.HELP, _chat.add_arguments, _chat.run, _chat.EXAMPLE),
    "usage": Command(_usage.HELP, _usage.add_arguments, _usage.run, _usage.EXAMPLE),
    "demo": Command(_demo.HELP, _demo.add_arguments, _demo.run, _demo.EXAMPLE),
    "compare": Command(_compare.HELP, _compare.add_arguments, _compare.run, _compare.EXAMPLE),
    "batch": Command(_batch.HELP, _batch.add_arguments, _batch.run, _batch.EXAMPLE),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compactifai", description="Tools for CompactifAI's LLM API."
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
