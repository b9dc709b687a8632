"""``compactifai emulator``: the offline CompactifAI API emulator, until Ctrl-C.

Also run by ``python -m compactifai.emulator``. Only the standard library is imported here;
the emulator itself (uvicorn, starlette) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["EXAMPLE", "HELP", "add_arguments", "run"]

HELP = "Run the offline CompactifAI API emulator until Ctrl-C"
EXAMPLE = """examples:
  compactifai emulator --port 8080
  compactifai emulator --catalog reference          # the reference page's nine models
  compactifai emulator --catalog ./models.json      # a saved GET /v1/models answer
  compactifai emulator --api-key alice --api-key bob --admin-key ci-admin   # shared server
  COMPACTIFAI_BASE_URL=http://127.0.0.1:8080/v1 COMPACTIFAI_API_KEY=test-key compactifai models
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
        "--catalog",
        default="current",
        metavar="current|reference|PATH",
        help="models served: 'current' (today's service, the default), 'reference' (the "
        "reference page's catalog, with usage statistics) or a JSON file shaped like "
        "GET /v1/models",
    )
    parser.add_argument(
        "--reasoning-field",
        default="reasoning",
        choices=["reasoning", "reasoning_content"],
        help="field that carries a reasoning model's thinking (default reasoning; "
        "reasoning_content is older vLLM's name)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=16 * 1024 * 1024,
        metavar="N",
        help="largest request body accepted; larger ones answer 413 (default 16 MiB)",
    )
    parser.add_argument(
        "--admin-key",
        default=None,
        metavar="KEY",
        help="key for the /_emulator control endpoints acting on every user's faults, "
        "request log and files (an API key acts on its own only); not a /v1 key",
    )
    parser.add_argument(
        "--file-quota-bytes",
        type=int,
        default=512 * 1024 * 1024,
        metavar="N",
        help="bytes of uploaded files each key may store; more answers 400 (default 512 MiB)",
    )
    parser.add_argument(
        "--total-file-quota-bytes",
        type=int,
        default=2 * 1024 * 1024 * 1024,
        metavar="N",
        help="bytes of uploaded files all keys together may store (default 2 GiB)",
    )
    parser.add_argument(
        "--file-ttl",
        type=float,
        default=30 * 24 * 3600.0,
        metavar="S",
        help="seconds an uploaded file lives before it answers 404 (default 30 days)",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="close a connection whose request head takes longer (default 10)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=1000,
        metavar="N",
        help="open connections served at once; past them requests answer 503 (default 1000)",
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
        default=None,
        help="answer 404 on /v1/usage/completions even with --catalog reference "
        "(the current catalog never serves it, like the live service since 2026-03-24)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default warning)",
    )


def run(args: argparse.Namespace) -> int:
    import inspect
    import signal
    import threading

    try:
        from compactifai.emulator import CatalogError, Emulator
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        print(
            f"The emulator needs the 'emulator' extra: pip install 'compactifai-integrations[emulator]' ({exc})",
            file=sys.stderr,
        )
        return 2
    # Each option is declared once, under the name of the Emulator argument it sets.
    accepted = inspect.signature(Emulator).parameters
    options = {name: value for name, value in vars(args).items() if name in accepted}
    options["api_keys"] = keys = tuple(args.api_keys or ("test-key",))
    try:
        emulator = Emulator(**options)
    except CatalogError as exc:
        print(f"--catalog: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # e.g. a --max-body-bytes below the minimum, a bad --admin-key
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
        f"CompactifAI emulator listening on {emulator.base_url} "
        f"(catalog: {emulator.catalog_name}; API key: {', '.join(keys)})",
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
