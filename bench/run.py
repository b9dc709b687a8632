"""Benchmark: what our integrations cost the user's process, next to the alternatives.

    python -m bench.run                       # full run, table + bench/results/<time>.json
    python -m bench.run --size tiny --only ours,httpx --json out.json   # smoke size

One command starts two emulators (``python -m compactifai.emulator``) in child processes on
loopback, one answering at once (for the CPU figures) and one with 50 ms latency (for the
concurrency figure), then measures each subject in a fresh worker process of its own, so that
only the client's own work lands in ``time.process_time()`` and no subject's imports or caches
touch another's figures:

1. client CPU per non-streaming call (median over several hundred calls, after warm-up);
2. client CPU per streamed chunk over a 2,000-chunk chat stream (median of several streams);
3. wall time of 256 concurrent async calls at 50 ms server latency (median of bursts after a
   warm-up burst; the cold first burst is in the JSON too);
4. cold import time of each integration module in a fresh interpreter (median of runs);
5. memory growth (tracemalloc, after ``gc.collect()``) over 1,000 calls after warm-up.

Figures 1-3 are taken in ``rounds``: every subject is measured once per round, in turn (the
order reversed every other round), and each figure is the median of its rounds. Other work on
a shared machine comes and goes over minutes; measured one after the other, a subject could
get a quiet minute and the one it is compared with a busy one, and the ratios would say
little. Spread over the run, each subject meets the same mix.

``--profile DIR`` also writes pyinstrument profiles of the call and stream loops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.subjects import BASELINE_IMPORTS, SUBJECTS, Subject, Target

API_KEY = "bench-key"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
METRICS = ("call_cpu_us", "chunk_cpu_us", "concurrent_wall_s", "import_s", "memory_growth_kib")
LABELS = {
    "call_cpu_us": "CPU/call (µs)",
    "chunk_cpu_us": "CPU/chunk (µs)",
    "concurrent_wall_s": "N async (s)",
    "import_s": "import (s)",
    "memory_growth_kib": "mem growth (KiB)",
}
UNAVAILABLE = 3  # a worker's exit status when its subject's packages are not installed
# "no memory growth": less than this over the measured calls (a few bytes a call at most).
MEMORY_GROWTH_LIMIT_KIB = 64.0
# The floor the concurrency figure is compared with (issue 23: at most 1.6 times its wall time).
AIOHTTP_FLOOR = "aiohttp (raw, async only)"


@dataclass(frozen=True)
class Size:
    warmup: int
    calls: int
    stream_chunks: int
    streams: int
    concurrency: int
    bursts: int
    memory_calls: int
    import_runs: int
    latency: float
    rounds: int  # calls, streams and bursts are per round; memory is measured in the first


SIZES = {
    "full": Size(
        warmup=50,
        calls=150,
        stream_chunks=2000,
        streams=3,
        concurrency=256,
        bursts=3,
        memory_calls=1000,
        import_runs=9,
        latency=0.05,
        rounds=3,
    ),
    "tiny": Size(
        warmup=3,
        calls=10,
        stream_chunks=50,
        streams=1,
        concurrency=16,
        bursts=1,
        memory_calls=20,
        import_runs=1,
        latency=0.01,
        rounds=1,
    ),
}


# ---------------------------------------------------------------------------- emulator


@contextlib.contextmanager
def emulator(latency: float) -> Iterator[str]:
    """An emulator in a child process (its CPU is not the client's); yields its base URL."""
    args = [sys.executable, "-m", "compactifai.emulator", "--port", "0", "--api-key", API_KEY]
    args += ["--latency", str(latency)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = next((word for word in line.split() if word.startswith("http")), None)
        if url is None:
            raise RuntimeError(f"The emulator did not start: {line!r}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------- worker


def _median_cpu(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _profile(fn: Callable[[], Any], runs: int, path: Path) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    with profiler:
        for _ in range(runs):
            fn()
    path.write_text(profiler.output_text(unicode=True, show_all=False))


async def _bursts(subject: Subject, target: Target, size: Size) -> tuple[list[float], list[float]]:
    """Wall and client CPU seconds of each burst (the first one warms the pool)."""
    call = subject.make_async(target)
    await call()
    walls, cpus = [], []
    for _ in range(size.bursts + 1):
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(call() for _ in range(size.concurrency)))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    aclose = getattr(call, "aclose", None)
    if aclose is not None:
        await aclose()
    return walls, cpus


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    subject = SUBJECTS[args.worker]
    size = SIZES[args.size]
    result: dict[str, Any] = {}
    target = Target(args.base_url, API_KEY, size.stream_chunks)
    profile_dir = Path(args.profile) if args.profile else None
    slug = "".join(c if c.isalnum() else "_" for c in subject.name).strip("_")

    call = subject.make_sync(target) if subject.make_sync is not None else None
    if call is not None:
        for _ in range(size.warmup):
            call()
        result["call_cpu_us"] = _median_cpu(call, size.calls) * 1e6
        if profile_dir is not None:
            _profile(call, size.calls, profile_dir / f"{slug}.call.txt")

    if subject.make_stream is not None:
        stream = subject.make_stream(target)
        chunks = stream()  # warm-up
        result["stream_chunks_yielded"] = chunks
        result["chunk_cpu_us"] = _median_cpu(stream, size.streams) / size.stream_chunks * 1e6
        if profile_dir is not None:
            _profile(stream, size.streams, profile_dir / f"{slug}.stream.txt")

    if call is not None and args.memory:
        gc.collect()
        tracemalloc.start()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(size.memory_calls):
            call()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result["memory_growth_kib"] = (after - before) / 1024
        result["memory_calls"] = size.memory_calls

    target = Target(args.latency_url, API_KEY, size.stream_chunks)
    walls, cpus = asyncio.run(_bursts(subject, target, size))
    result["concurrent_wall_s"] = statistics.median(walls[1:])
    # The client's own share of a burst: the wall figure also holds the emulator's CPU and
    # whatever else the machine runs, which moves it more than any change of ours.
    result["concurrent_cpu_s"] = statistics.median(cpus[1:])
    result["concurrent_cold_s"] = walls[0]
    result["concurrent_bursts_s"] = walls
    return result


# ---------------------------------------------------------------------------- orchestration


def _import_once(module: str) -> float | None:
    """Seconds to import ``module`` in a fresh interpreter (None: not installed)."""
    code = (
        f"import time; _t = time.perf_counter(); import {module}; print(time.perf_counter() - _t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip()) if out.returncode == 0 else None


def measure_imports(modules: dict[str, str], runs: int) -> dict[str, float]:
    """Median import seconds per label; rounds go through all modules in turn, so that a
    busy moment on the machine lands on every module alike rather than on one."""
    times: dict[str, list[float]] = {label: [] for label in modules}
    for _ in range(runs):
        for label, module in modules.items():
            if label in times:
                seconds = _import_once(module)
                if seconds is None:
                    del times[label]  # not installed
                else:
                    times[label].append(seconds)
    return {label: statistics.median(values) for label, values in times.items()}


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One subject's figures over its rounds: the median of each figure, every burst kept."""
    merged: dict[str, Any] = {}
    for key in {key for result in rounds for key in result}:
        values = [result[key] for result in rounds if key in result]
        if key == "concurrent_bursts_s":
            merged[key] = [wall for walls in values for wall in walls]
        elif key in ("memory_growth_kib", "memory_calls", "stream_chunks_yielded"):
            merged[key] = values[0]
        else:
            merged[key] = statistics.median(values)
    merged["rounds"] = rounds
    return merged


def select(only: str | None) -> list[Subject]:
    if not only:
        return list(SUBJECTS.values())
    wanted = {part.strip() for part in only.split(",") if part.strip()}
    unknown = wanted - {s.group for s in SUBJECTS.values()} - set(SUBJECTS)
    if unknown:
        raise SystemExit(f"--only: unknown subjects or groups {sorted(unknown)}")
    return [s for s in SUBJECTS.values() if s.group in wanted or s.name in wanted]


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def evaluate(results: dict[str, dict[str, Any]], imports: dict[str, float]) -> dict[str, Any]:
    """Ratios to the best alternative, and each target's verdict."""
    alternatives = [n for n, r in results.items() if SUBJECTS[n].group == "alternative" and r]
    best: dict[str, float] = {}
    for metric in METRICS:
        values = [results[n].get(metric) for n in alternatives]
        present = [v for v in values if isinstance(v, (int, float))]
        if present:
            best[metric] = min(present)
    ratios = {
        name: {m: _ratio(r.get(m), best.get(m)) for m in METRICS if r.get(m) is not None}
        for name, r in results.items()
        if r
    }
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, what: str) -> None:
        checks.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "what": what,
                "met": None if value is None else value <= limit,
            }
        )

    floor_async = (results.get(AIOHTTP_FLOOR) or {}).get("concurrent_wall_s")
    for name, r in results.items():
        subject = SUBJECTS[name]
        if subject.group != "ours" or not r:
            continue
        other = results.get(subject.counterpart or "") or {}
        check(
            f"{name}: CPU per call vs {subject.counterpart}",
            _ratio(r.get("call_cpu_us"), other.get("call_cpu_us")),
            0.5,
            "ratio",
        )
        if r.get("chunk_cpu_us") is not None:
            check(
                f"{name}: CPU per streamed chunk vs {subject.counterpart}",
                _ratio(r.get("chunk_cpu_us"), other.get("chunk_cpu_us")),
                0.35,
                "ratio",
            )
        check(
            f"{name}: concurrent calls vs raw aiohttp",
            _ratio(r.get("concurrent_wall_s"), floor_async),
            1.6,
            "ratio",
        )
        check(
            f"{name}: concurrent calls vs best alternative",
            _ratio(r.get("concurrent_wall_s"), best.get("concurrent_wall_s")),
            0.3,
            "ratio",
        )
        check(
            f"{name}: memory growth over {r.get('memory_calls')} calls",
            r.get("memory_growth_kib"),
            MEMORY_GROWTH_LIMIT_KIB,
            "KiB",
        )
    for module, baseline, limit in (
        ("langchain_compactifai", "langchain_core chat models", 1.25),
        ("llama_index_compactifai", "llama_index.core.llms", 1.15),
    ):
        if module in imports and baseline in imports:
            check(
                f"import {module} vs {BASELINE_IMPORTS[baseline]} alone",
                _ratio(imports[module], imports[baseline]),
                limit,
                "ratio",
            )
    return {"best_alternative": best, "ratios": ratios, "checks": checks}


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric == "concurrent_wall_s":
        return f"{value:.3f}"
    if metric == "import_s":
        return f"{value:.3f}"
    if metric == "memory_growth_kib":
        return f"{value:.1f}"
    return f"{value:.1f}"


def print_report(report: dict[str, Any]) -> None:
    results: dict[str, dict[str, Any]] = report["results"]
    ratios = report["evaluation"]["ratios"]
    header = ["subject", *(LABELS[m] for m in METRICS)]
    rows = []
    for name, r in results.items():
        if not r:
            rows.append([name, *(["n/a"] * len(METRICS))])
            continue
        cells = [name]
        for metric in METRICS:
            value = r.get(metric)
            ratio = ratios.get(name, {}).get(metric)
            cell = _fmt(value, metric)
            if ratio is not None:
                cell += f" ({ratio:.2f}x)"
            cells.append(cell)
        rows.append(cells)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    else:
        table = Table(title="client cost (x = ratio to the best alternative)")
        for column in header:
            table.add_column(column, justify="left" if column == "subject" else "right")
        for row in rows:
            table.add_row(*row)
        Console(width=200).print(table)
    print()
    for baseline, module in BASELINE_IMPORTS.items():
        if baseline in report["imports"]:
            print(f"import {module} alone: {report['imports'][baseline]:.3f} s")
    for check in report["evaluation"]["checks"]:
        value = check["value"]
        shown = "-" if value is None else f"{value:.3f}"
        verdict = {True: "met", False: "MISSED", None: "n/a"}[check["met"]]
        print(f"[{verdict:>6}] {check['target']}: {shown} (limit {check['limit']} {check['what']})")


def run(args: argparse.Namespace) -> dict[str, Any]:
    size = SIZES[args.size]
    subjects = select(args.only)
    rounds: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    with emulator(0.0) as url, emulator(size.latency) as latency_url:
        for round_ in range(size.rounds):
            order = subjects if round_ % 2 == 0 else subjects[::-1]
            for subject in order:
                if subject.name in unavailable:
                    continue
                command = [sys.executable, "-m", "bench.run", "--worker", subject.name]
                command += ["--size", args.size, "--base-url", url, "--latency-url", latency_url]
                if round_ == 0:
                    command.append("--memory")
                if args.profile and round_ == 0:
                    command += ["--profile", args.profile]
                print(
                    f"round {round_ + 1}/{size.rounds}: measuring {subject.name} ...",
                    file=sys.stderr,
                    flush=True,
                )
                out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
                if out.returncode == UNAVAILABLE:
                    unavailable[subject.name] = out.stderr.strip().splitlines()[-1]
                    continue
                if out.returncode != 0:
                    raise RuntimeError(f"worker for {subject.name} failed:\n{out.stderr}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                rounds.setdefault(subject.name, []).append(result)
    results = {s.name: merge_rounds(rounds[s.name]) for s in subjects if rounds.get(s.name)}
    modules = {s.module: s.module for s in subjects if s.name in results}
    if any(SUBJECTS[n].group == "ours" for n in results):
        modules.update(BASELINE_IMPORTS)
    imports = measure_imports(modules, size.import_runs)
    for name, r in results.items():
        r["import_s"] = imports.get(SUBJECTS[name].module)
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "size": args.size,
        "parameters": asdict(size),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": results,
        "unavailable": unavailable,
        "imports": imports,
    }
    report["evaluation"] = evaluate(results, imports)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--only",
        help="comma-separated groups (ours, alternative, httpx, aiohttp) or subject names; "
        "default all",
    )
    parser.add_argument("--json", help="write the JSON report here (default bench/results/)")
    parser.add_argument("--profile", help="directory for pyinstrument profiles of each subject")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--latency-url", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    if args.worker:
        try:
            result = run_worker(args)
        except ImportError as exc:  # an optional alternative is not installed
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return UNAVAILABLE
        print(json.dumps(result))
        return 0
    report = run(args)
    print_report(report)
    if args.json:
        path = Path(args.json)
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{args.size}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
