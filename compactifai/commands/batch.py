"""``compactifai batch``: run a JSONL file of requests as one Batch API job.

``submit`` prints the job id and returns (``--wait`` stays for the results); ``wait`` shows a
progress bar and can be interrupted and re-run at will: the job runs on the server, and
``results`` collects it from any process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compactifai.commands._common import (
    add_connection_arguments,
    console,
    guarded,
    make_client,
    print_untrusted,
    safe_text,
)

if TYPE_CHECKING:
    from compactifai.batches import BatchResult, BatchResults, BatchRunner
    from compactifai.types import Batch

__all__ = ["EXAMPLE", "HELP", "add_arguments", "batch_json", "result_json", "run"]

HELP = "Run many requests as one Batch API job (submit, status, wait, results, cancel, list)"
EXAMPLE = """examples:
  compactifai batch submit requests.jsonl --wait --out results.jsonl
  compactifai batch submit requests.jsonl --json | jq -r .id
  compactifai batch wait batch_abc123          # Ctrl-C is fine: the job keeps running
  compactifai batch results batch_abc123 --out results.jsonl
  compactifai batch list --json

requests.jsonl holds one request per line: an OpenAI batch line
{"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
or just a request body {"model": "...", "messages": [...]} (custom id request-N, N counting
requests from 0).
"""

ACTIONS = ("submit", "status", "wait", "results", "cancel", "list")
# JSON keeps the answers' text whole, and escapes C0 controls itself; DEL and C1 controls (CSI
# is one) written raw to a terminal would act, so stdout gets them as \u escapes.
_ESCAPE_C1 = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="batch_action", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_connection_arguments(common)
    polling = argparse.ArgumentParser(add_help=False)
    polling.add_argument(
        "--poll",
        type=float,
        default=1.0,
        metavar="S",
        help="first wait between status checks, growing while nothing changes (default 1)",
    )
    polling.add_argument(
        "--wait-timeout", type=float, default=None, metavar="S", help="stop waiting after S s"
    )

    submit = sub.add_parser("submit", parents=[common, polling], help="upload and start a job")
    submit.add_argument("file", type=Path, help="JSONL file of requests")
    submit.add_argument(
        "--endpoint",
        default="/v1/chat/completions",
        choices=["/v1/chat/completions", "/v1/completions"],
        help="the endpoint every line is sent to (default /v1/chat/completions)",
    )
    submit.add_argument(
        "--metadata", action="append", metavar="KEY=VALUE", help="job metadata (repeatable)"
    )
    submit.add_argument("--wait", action="store_true", help="wait for the job and its results")
    submit.add_argument("--out", type=Path, help="with --wait: write results (JSONL) here")
    for name, text in (("status", "show a job"), ("cancel", "cancel a job")):
        action = sub.add_parser(name, parents=[common], help=text)
        action.add_argument("batch_id", metavar="ID")
    wait = sub.add_parser("wait", parents=[common, polling], help="wait with a progress bar")
    wait.add_argument("batch_id", metavar="ID")
    results = sub.add_parser(
        "results", parents=[common, polling], help="wait if needed, then write the results"
    )
    results.add_argument("batch_id", metavar="ID")
    results.add_argument("--out", type=Path, help="write results (JSONL) here, not stdout")
    listing = sub.add_parser("list", parents=[common], help="list jobs, newest first")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")


# ---------------------------------------------------------------------------- stable shapes


def batch_json(batch: Batch) -> dict[str, Any]:
    """The stable ``--json`` shape of a job."""
    counts = batch.request_counts
    usage = batch.usage
    return {
        "id": batch.id,
        "status": batch.status,
        "endpoint": batch.endpoint,
        "model": batch.model,
        "input_file_id": batch.input_file_id,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "request_counts": {
            "total": counts.total if counts else 0,
            "completed": counts.completed if counts else 0,
            "failed": counts.failed if counts else 0,
        },
        "usage": {
            "input_tokens": usage.input_tokens if usage else 0,
            "output_tokens": usage.output_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        },
        "errors": [
            {"code": e.code, "line": e.line, "message": e.message}
            for e in (batch.errors.data if batch.errors else [])
        ],
        "metadata": batch.metadata or {},
        "created_at": batch.created_at,
        "completed_at": batch.completed_at,
        "expires_at": batch.expires_at,
    }


def result_json(custom_id: str, result: BatchResult) -> dict[str, Any]:
    """The stable shape of one result line: ``ok``, the answer text, or the error."""
    from compactifai.batches import BatchRequestError
    from compactifai.types import ChatCompletion

    if isinstance(result, BatchRequestError):
        return {
            "custom_id": custom_id,
            "ok": False,
            "content": None,
            "error": {
                "code": result.code,
                "status_code": result.status_code,
                "message": result.message,
            },
            "response": None,
        }
    if isinstance(result, ChatCompletion):
        content = result.choices[0].message.content if result.choices else None
    else:
        content = result.choices[0].text if result.choices else None
    return {
        "custom_id": custom_id,
        "ok": True,
        "content": content,
        "error": None,
        "response": result.model_dump(mode="json", exclude_none=True),
    }


# ---------------------------------------------------------------------------- actions


def _read_requests(path: Path) -> Iterator[dict[str, Any]]:
    """The file's requests, one line at a time (the file is never held in memory)."""
    from compactifai.errors import RequestValidationError

    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise RequestValidationError(f"{path.name}:{number}", "not valid JSON") from None
            if not isinstance(item, dict):
                raise RequestValidationError(f"{path.name}:{number}", "not a JSON object")
            yield item


def _metadata(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            from compactifai.errors import RequestValidationError

            raise RequestValidationError("--metadata", f"expected KEY=VALUE (got {pair!r})")
        out[key] = value
    return out


def _runner(args: argparse.Namespace, stack: ExitStack) -> BatchRunner:
    from compactifai.batches import BatchRunner, PollPolicy

    client = stack.enter_context(make_client(args))
    poll = getattr(args, "poll", 1.0)
    return BatchRunner(client, PollPolicy(initial=poll, maximum=max(poll, 30.0)))


def _wait(runner: BatchRunner, args: argparse.Namespace, batch_id: str) -> Batch:
    """Wait for the job; a rich progress bar (completed/failed/total, elapsed) unless --json."""
    if args.json:
        return runner.wait(batch_id, timeout=args.wait_timeout)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]}/{task.total} done, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console(), transient=False) as progress:
        task = progress.add_task(safe_text(batch_id), total=None, done=0, failed=0)

        def show(batch: Batch) -> None:
            counts = batch.request_counts
            total = counts.total if counts and counts.total else None
            done = (counts.completed + counts.failed) if counts else 0
            progress.update(
                task,
                total=total,
                completed=done,
                done=counts.completed if counts else 0,
                failed=counts.failed if counts else 0,
                description=f"{safe_text(batch_id)} [bold]{safe_text(batch.status)}[/]",
            )

        return runner.wait(batch_id, on_progress=show, timeout=args.wait_timeout)


def _write_results(results: BatchResults, out: Path | None, as_json: bool) -> None:
    lines = (
        json.dumps(result_json(cid, r), ensure_ascii=False)
        for cid, r in zip(results.custom_ids, results, strict=True)
    )
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
        ok = sum(1 for r in results if not isinstance(r, Exception))
        summary = {"id": results.batch.id, "out": str(out), "ok": ok, "failed": len(results) - ok}
        print(
            json.dumps(summary)
            if as_json
            else safe_text(f"{ok} ok, {len(results) - ok} failed -> {out}", markup=False)
        )
        return
    if as_json:
        for line in lines:
            sys.stdout.write(line.translate(_ESCAPE_C1) + "\n")
        return
    out_console = console()
    for cid, result in zip(results.custom_ids, results, strict=True):
        row = result_json(cid, result)
        if not row["ok"]:
            out_console.print(
                f"[bold]{safe_text(cid)}[/]: [red]error[/]: {safe_text(row['error']['message'])}"
            )
            continue
        out_console.print(f"[bold]{safe_text(cid)}[/]: ", end="")
        print_untrusted(out_console, row["content"] or "")
        out_console.print()


def _show(batch: Batch, as_json: bool) -> None:
    if as_json:
        print(json.dumps(batch_json(batch)))
        return
    row = batch_json(batch)
    counts = row["request_counts"]
    console().print(
        f"[bold]{safe_text(row['id'])}[/] {safe_text(row['status'])}: "
        f"{counts['completed']} completed, {counts['failed']} failed of {counts['total']} "
        f"({safe_text(row['endpoint'])}, {safe_text(row['model'] or '-')})"
    )
    for error in row["errors"]:
        console().print(f"  line {safe_text(error['line'])}: {safe_text(error['message'])}")


def _run(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        runner = _runner(args, stack)
        action = args.batch_action
        if action == "submit":
            batch = runner.submit(
                _read_requests(args.file),
                endpoint=args.endpoint,
                metadata=_metadata(args.metadata),
                filename=args.file.name,
            )
            if not args.wait:
                _show(batch, args.json)
                return 0
            if not args.json:
                console().print(f"submitted [bold]{safe_text(batch.id)}[/]")
            _wait(runner, args, batch.id)
            _write_results(runner.collect(batch.id), args.out, args.json)
        elif action == "status":
            _show(runner.status(args.batch_id), args.json)
        elif action == "wait":
            started = time.monotonic()
            batch = _wait(runner, args, args.batch_id)
            if not args.json:
                console().print(f"finished in {time.monotonic() - started:.1f}s")
            _show(batch, args.json)
        elif action == "results":
            _wait(runner, args, args.batch_id)
            results = runner.collect(args.batch_id, timeout=args.wait_timeout)
            _write_results(results, args.out, args.json)
        elif action == "cancel":
            _show(runner.cancel(args.batch_id), args.json)
        else:  # list
            page = runner.client.list_batches(limit=args.limit)
            if args.json:
                print(json.dumps([batch_json(b) for b in page.data]))
            else:
                for batch in page.data:
                    _show(batch, False)
                if not page.data:
                    console().print("no batch jobs")
    return 0


run = guarded(_run)
