"""``compactifai compare``: the same prompts on several models, side by side.

Registered in :mod:`compactifai.cli`; this module holds the command's logic. ``rich`` is
imported only here, lazily (the ``cli`` extra); the library does not need it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compactifai.commands._common import (
    add_connection_arguments,
    guarded,
    one_line,
    print_table,
    safe_text,
    service_or_emulator,
)

if TYPE_CHECKING:
    from rich.console import Console

    from compactifai import AsyncCompactifAIClient
    from compactifai.compare.metrics import Price
    from compactifai.compare.report import ComparisonReport

__all__ = ["EXAMPLE", "HELP", "add_arguments", "main", "parse_prices", "run"]

HELP = "Compare slim and original models side by side on the same prompts"
EXAMPLE = """examples:
  compactifai compare          # bundled prompts; hypernova-60b vs gpt-oss-120b and
                               # cai-mistral-small-3-1-slim vs mistral-small-3-1
  compactifai compare --prompts examples/prompts.jsonl \\
      --models hypernova-60b,gpt-oss-120b --html report.html
  compactifai compare --model cai-mistral-small-3-1-slim --json > report.json
  compactifai compare --model gpt-oss-120b \\
      --price gpt-oss-120b=0.05,0.23 --price hypernova-60b=0.04,0.14

Without COMPACTIFAI_API_KEY the command runs on the bundled offline emulator (its first
line on stderr says so); with --base-url it needs the key.
Prompts file: JSON lines, each a string or {"id", "prompt" | "messages", "system",
"response_format": "json", "max_tokens"}. Exit status: 0 done, 1 API error or a model that
answered nothing, 2 bad arguments.
"""

# (slim, original) pairs compared when no model is named; those the catalog lacks are skipped.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("hypernova-60b", "gpt-oss-120b"),
    ("cai-mistral-small-3-1-slim", "mistral-small-3-1"),
)
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or input files: one line, exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prompts",
        metavar="FILE",
        type=Path,
        default=None,
        help="JSONL prompts (default: the bundled demo set, also in examples/prompts.jsonl)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--models",
        metavar="A,B[,C]",
        default=None,
        help="comma-separated model ids to compare (slim/original pairs are found among them; "
        "other models are compared with the first)",
    )
    which.add_argument(
        "--model",
        metavar="MODEL",
        default=None,
        help="one model, slim or original: compared with its counterpart from the catalog "
        "(default: " + ", ".join(f"{slim} vs {original}" for slim, original in DEFAULT_PAIRS) + ")",
    )
    parser.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=4,
        metavar="N",
        help="requests in flight at once, over all models (default 4)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON on stdout (no table)"
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        default=None,
        help="write a self-contained HTML report (tables, latency chart, answers side by side)",
    )
    parser.add_argument(
        "--price",
        metavar="MODEL=IN,OUT",
        action="append",
        default=[],
        help="price per million input and output tokens, for cost estimates (repeatable)",
    )
    parser.add_argument(
        "--batch",
        action="store_true",
        help="send each model's prompts as one Batch API job (large prompt sets; no latency)",
    )
    parser.add_argument("--system", metavar="TEXT", default=None, help="system message")
    parser.add_argument(
        "--max-tokens", type=int, default=None, metavar="N", help="output limit per answer"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=0.0,
        metavar="T",
        help="sampling temperature (default 0)",
    )
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.005,
        metavar="S",
        help="emulator only: seconds between streamed tokens (default 0.005)",
    )
    add_connection_arguments(parser)


def parse_prices(values: list[str]) -> dict[str, Price]:
    """``MODEL=IN,OUT`` strings -> prices per model."""
    from compactifai.compare.metrics import Price

    prices: dict[str, Price] = {}
    for value in values:
        model, sep, spec = value.partition("=")
        if not sep or not model.strip():
            raise UsageError(f"--price takes MODEL=IN_PER_M,OUT_PER_M, not {value!r}")
        try:
            prices[model.strip()] = Price.parse(spec)
        except ValueError as exc:
            raise UsageError(f"--price {value!r}: {exc}") from None
    return prices


def default_selection(available: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The models and pairs of :data:`DEFAULT_PAIRS` that ``available`` (the catalog) serves."""
    pairs = [p for p in DEFAULT_PAIRS if p[0] in available and p[1] in available]
    if not pairs:
        wanted = ", ".join(f"{a} vs {b}" for a, b in DEFAULT_PAIRS)
        raise UsageError(
            f"the catalog has none of the default pairs ({wanted}); name the models with "
            f"--models or --model (available: {', '.join(available) or 'none'})"
        )
    return [m for pair in pairs for m in pair], pairs


async def _compare_defaults(client: AsyncCompactifAIClient, **kwargs: Any) -> ComparisonReport:
    from compactifai.compare.api import acompare_prompts

    models, pairs = default_selection([m.id for m in await client.list_models()])
    return await acompare_prompts(
        models=models, pairs=pairs, client=client, check_catalog=False, **kwargs
    )


async def _compare_named(
    client: AsyncCompactifAIClient, models: list[str] | None, model: str | None, **kwargs: Any
) -> ComparisonReport:
    from compactifai.compare.api import acompare_prompts

    return await acompare_prompts(models=models, model=model, client=client, **kwargs)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    try:
        return _compare(args, err)
    except UsageError as exc:
        print(f"error: {safe_text(one_line(str(exc)), markup=False)}", file=sys.stderr, flush=True)
        return EXIT_USAGE


def _compare(args: argparse.Namespace, err: Console) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from compactifai import AsyncCompactifAIClient
    from compactifai.compare.pairing import PairingError
    from compactifai.compare.workloads import load_prompts

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    prices = parse_prices(args.price)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if models is not None and len(set(models)) < 2:
        raise UsageError("--models needs at least two different model ids")

    with ExitStack() as stack:
        connection = stack.enter_context(service_or_emulator(args, args.chunk_delay))
        if connection.offline:  # stdout may be JSON: the notice goes to stderr
            err.print(connection.notice, highlight=False, soft_wrap=True)
        try:
            prompts = load_prompts(args.prompts)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the prompts: {exc}") from None
        progress = stack.enter_context(
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            )
        )
        task = progress.add_task("comparing", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        options: dict[str, Any] = {
            "prompts": prompts,
            "system": args.system,
            "max_tokens": args.max_tokens,
            "temperature": args.temperature,
            "concurrency": args.concurrency,
            "prices": prices,
            "on_progress": on_progress,
            "batch": args.batch,
        }

        async def main() -> ComparisonReport:
            async with AsyncCompactifAIClient(
                api_key=connection.api_key, base_url=connection.base_url, timeout=args.timeout
            ) as client:
                if models is None and args.model is None:
                    return await _compare_defaults(client, **options)
                return await _compare_named(client, models, args.model, **options)

        try:
            report = asyncio.run(main())
        except PairingError as exc:
            raise UsageError(str(exc)) from None

    unknown_prices = sorted(set(prices) - set(report.models))
    if unknown_prices:
        err.print(f"warning: --price for models not compared: {', '.join(unknown_prices)}")
    if args.json:
        sys.stdout.write(report.to_json() + "\n")
        sys.stdout.flush()
    else:
        print_report(report, Console(highlight=False))
    if args.html is not None:
        try:
            args.html.write_text(report.to_html(), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.html}: {exc}") from None
        err.print(f"HTML report written to {args.html}")
    return _outcome(report)


def _outcome(report: ComparisonReport) -> int:
    """1 when a model answered nothing (with the first error), else 0 (failures warned)."""
    for stats in report.model_stats:
        if stats.requests and stats.errors == stats.requests:
            message = next(
                o.error for o in report.observations.values() if o.model == stats.model and o.error
            )
            print(
                safe_text(
                    f"error: every request to {stats.model} failed: {one_line(message or '')}",
                    markup=False,
                ),
                file=sys.stderr,
                flush=True,
            )
            return 1
    if report.errors:
        first = next(o for o in report.observations.values() if o.error)
        total = len(report.observations)
        print(
            safe_text(
                f"warning: {report.errors} of {total} requests failed "
                f"(first: {first.model}: {one_line(first.error or '')})",
                markup=False,
            ),
            file=sys.stderr,
            flush=True,
        )
    return 0


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f}ms"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def print_report(report: ComparisonReport, out: Console) -> None:
    """The terminal view: per-model table, per-pair agreement, the worst disagreements.

    ``tok/s`` is output tokens per second of request time; ``cost`` uses the ``--price``es.
    """
    from rich import box
    from rich.table import Table

    def titled(title: str) -> Table:
        return Table(
            title=title,
            title_justify="left",
            header_style="bold",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            pad_edge=False,
        )

    table = titled("Models")
    table.add_column("model", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for name in ("ok/err", "TTFT med/p95", "latency med/p95", "tokens in/out", "tok/s", "cost"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in report.model_stats:
        tps = s.output_tokens_per_second
        table.add_row(
            safe_text(s.model),
            "[green]slim[/]" if s.kind == "slim" else "original",
            f"{s.requests - s.errors}/" + (f"[red]{s.errors}[/]" if s.errors else "0"),
            f"{_ms(s.ttft_median)}/{_ms(s.ttft_p95)}",
            f"{_ms(s.latency_median)}/{_ms(s.latency_p95)}",
            f"{s.input_tokens:,}/{s.output_tokens:,}",
            "–" if tps is None else f"{tps:,.0f}" if tps >= 100 else f"{tps:,.1f}",
            "–" if s.cost is None else f"{s.cost:,.6f}",
        )
    print_table(out, table)
    if report.pairs:
        pairs = titled("Agreement")
        for name in ("candidate", "reference", "compared", "exact", "overlap F1", "fields"):
            pairs.add_column(
                name, justify="left" if name in ("candidate", "reference") else "right"
            )
        pairs.add_column("cost saving", justify="right")
        for p in report.pairs:
            pairs.add_row(
                safe_text(p.candidate),
                safe_text(p.reference),
                str(p.compared),
                _pct(p.exact_match_rate),
                _pct(p.token_overlap_mean),
                f"{_pct(p.field_agreement_mean)} ({p.structured})" if p.structured else "–",
                _pct(p.cost_saving),
            )
        print_table(out, pairs)
    worst = [i for i in report.worst_first() if report.item_score(i.id) < 1.0][:3]
    if worst:
        out.print("[bold]Worst disagreements[/]")
        for item in worst:
            score = report.item_score(item.id)
            label = "error" if score < 0 else f"{score * 100:.0f}%"
            out.print(
                f"  #{safe_text(item.id)} [yellow]{label}[/] {safe_text(one_line(item.label)[:90])}"
            )
            for m in report.models:
                o = report.observation(m, item.id)
                text = o.error if o.error else one_line(o.text)
                out.print(f"    [dim]{safe_text(m)}:[/] {safe_text((text or '')[:110])}")
    else:
        out.print(f"[green]All {len(report.items)} answers agree across the compared models.[/]")


run = guarded(_run)


def main(argv: list[str] | None = None) -> int:
    """Run the command standalone (``python -m compactifai.compare.cli``)."""
    parser = argparse.ArgumentParser(
        prog="compactifai compare",
        description=HELP,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
