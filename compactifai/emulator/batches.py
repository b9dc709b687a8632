"""Files and batches for the emulator (``/v1/files``, ``/v1/batches``), OpenAI-compatible.

Routes (Bearer auth like every ``/v1`` route):

- ``POST /v1/files`` (multipart ``file`` + ``purpose``) -> 200 ``FileObject``
- ``GET /v1/files/{id}/content`` -> the raw bytes (404 ``File not found``)
- ``POST /v1/batches`` -> 201 ``Batch`` (``validating``); ``GET /v1/batches?after=&limit=``
  (newest first, ``has_more``/``first_id``/``last_id``); ``GET /v1/batches/{id}``;
  ``POST /v1/batches/{id}/cancel`` (``cancelling`` then ``cancelled``)

A job runs in the background on the server's event loop: ``validating`` -> ``in_progress`` ->
``finalizing`` -> ``completed``, each phase change ``pace`` seconds apart. Every input line is
posted to this same app's ``/v1/chat/completions`` (or ``/v1/completions``) in-process, with the
job owner's key, at most ``concurrency`` at a time: a batch answers exactly what the same
requests would get interactively (faults and latency included). 2xx answers go to the output
file, other answers to the error file, in OpenAI's line format.

Limits (assumptions: the vendor publishes none): :data:`MAX_REQUESTS` lines and
:data:`MAX_FILE_BYTES` bytes per input file. A file that breaks them, or has lines that are not
batch requests for the job's endpoint, makes the job ``failed`` with one error per bad line.

Files live in memory, so they are bounded: each key may store ``file_quota_bytes`` and all keys
together ``total_file_quota_bytes`` (each file counts at least 1 KiB). An upload over either
answers 400 ``invalid_request_error`` with ``param: "file"``: the service documents no quota
and no 413/429 for files, and 400 with the ``error`` envelope is its answer to a request it
refuses on its merits (service notes §7). Batch result files are always written, and count.
A file expires at its ``ttl`` (``created_at + file_ttl``, by the store's clock): it is freed,
and asking for it answers 404 ``File not found`` like any unknown file. ``POST
/_emulator/reset`` forgets the caller's files and batches (the admin key's: everyone's).

Fast clock for tests: ``clock=86400.0`` makes an emulated day pass in a real second, so a job
still running after its 24 h window becomes ``expired`` (unfinished lines get ``batch_expired``
error lines). Configure with ``app.state.batches.configure(pace=..., clock=...)`` or
``Emulator(...).app.state.batches``; the ``COMPACTIFAI_EMULATOR_BATCH_PACE`` environment
variable sets the default pace (seconds, default 1).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._http import LARGER_BODIES
from .faults import FaultSpec
from .request_log import RecordedRequest, RequestLog
from .state import EmulatorState, V1Wrapper

__all__ = ["MAX_FILE_BYTES", "MAX_REQUESTS", "BatchStore", "QuotaExceeded", "install_batches"]

MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
COMPLETION_WINDOW_SECONDS = 24 * 3600
ENDPOINTS = ("/v1/chat/completions", "/v1/completions")
_TERMINAL = ("completed", "failed", "expired", "cancelled")
ALL_ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions")
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_MAX_LINE_ERRORS = 100
# What a stored file costs at least (its record, its id): keeps a flood of empty files bounded.
_MIN_FILE_CHARGE = 1024


class QuotaExceeded(Exception):
    """An upload would pass a file quota (answered 400)."""


def _json(content: Any, status: int = 200) -> Response:
    return Response(_DUMPS(content), status, media_type="application/json")


def _error(status: int, message: str, param: str | None = None) -> Response:
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    return _json(
        {"error": {"type": kind, "message": message, "param": param, "code": None}}, status
    )


@dataclass
class _File:
    info: dict[str, Any]
    content: bytes

    @property
    def charge(self) -> int:
        return max(len(self.content), _MIN_FILE_CHARGE)


@dataclass
class _Job:
    record: dict[str, Any]
    api_key: str
    lines: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    output: list[bytes] = field(default_factory=list)
    errors: list[bytes] = field(default_factory=list)
    done_ids: set[str] = field(default_factory=set)
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class BatchStore:
    """Files and batch jobs of one emulator app (``app.state.batches``)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        state: EmulatorState = app.state.emulator
        self.file_quota_bytes = state.file_quota_bytes
        self.total_file_quota_bytes = state.total_file_quota_bytes
        self.file_ttl = state.file_ttl
        self._stored: dict[str, int] = {}  # bytes charged per user
        self._stored_total = 0
        self.pace = float(os.environ.get("COMPACTIFAI_EMULATOR_BATCH_PACE", "1.0"))
        self.request_delay = 0.0
        self.paused = False
        self.concurrency = 16
        self.clock = 1.0
        self.files: dict[str, _File] = {}
        self.jobs: dict[str, _Job] = {}
        # The files and batches requests alone: the app's own log also holds every line a job
        # sends to the chat endpoint, which would soon push these out.
        self.requests = RequestLog()
        self._real_base = self._emulated_base = time.time()

    def configure(
        self,
        *,
        pace: float | None = None,
        request_delay: float | None = None,
        concurrency: int | None = None,
        clock: float | None = None,
        paused: bool | None = None,
    ) -> BatchStore:
        """``pace``: seconds between phase changes; ``request_delay``: seconds each line waits
        before it is sent; ``clock``: emulated seconds per real second (timestamps, expiry);
        ``paused``: running jobs send no further line until unpaused (tests that need a job
        caught in progress)."""
        if paused is not None:
            self.paused = paused
        if pace is not None:
            self.pace = pace
        if request_delay is not None:
            self.request_delay = request_delay
        if concurrency is not None:
            self.concurrency = max(1, concurrency)
        if clock is not None:
            self._emulated_base, self._real_base = self.now_float(), time.time()
            self.clock = clock
        return self

    def now_float(self) -> float:
        return self._emulated_base + (time.time() - self._real_base) * self.clock

    def now(self) -> int:
        return int(self.now_float())

    def batches(self) -> list[dict[str, Any]]:
        """Every job's current batch object, newest first."""
        return [self._refresh(job) for job in reversed(self.jobs.values())]

    def reset(self, user: str | None = None) -> None:
        """Forget the files, batches and requests of ``user``, or (``None``) everyone's."""
        for job_id, job in list(self.jobs.items()):
            if user is not None and job.record["_owner"] != user:
                continue
            if job.task is not None and not job.task.done():
                # The server's loop may run in another thread (``Emulator``).
                job.task.get_loop().call_soon_threadsafe(job.task.cancel)
            del self.jobs[job_id]
        for file_id, file in list(self.files.items()):
            if user is None or file.info["owner_id"] == user:
                self._remove_file(file_id)
        self.requests.clear(user)
        if user is None:
            self.paused = False

    # -- files ---------------------------------------------------------------------------------
    def file(self, file_id: str, user: str) -> _File | None:
        """``user``'s file ``file_id``, unless it is someone else's or has expired."""
        self._drop_expired()
        file = self.files.get(file_id)
        return file if file is not None and file.info["owner_id"] == user else None

    def stored_bytes(self, user: str | None = None) -> int:
        """Bytes the file quotas charge to ``user``, or to everyone."""
        return self._stored_total if user is None else self._stored.get(user, 0)

    def _drop_expired(self) -> None:
        now = self.now()
        # Files are stored in the order they expire (one ttl, a clock that only moves on).
        expired = []
        for file_id, file in self.files.items():
            ttl = file.info["ttl"]
            if ttl is None or ttl > now:
                break
            expired.append(file_id)
        for file_id in expired:
            self._remove_file(file_id)

    def _remove_file(self, file_id: str) -> None:
        file = self.files.pop(file_id)
        owner = file.info["owner_id"]
        self._stored[owner] -= file.charge
        if not self._stored[owner]:
            del self._stored[owner]
        self._stored_total -= file.charge

    def _check_quota(self, user: str, size: int) -> None:
        charge = max(size, _MIN_FILE_CHARGE)
        if self.stored_bytes(user) + charge > self.file_quota_bytes:
            raise QuotaExceeded(
                f"File storage quota exceeded: this key stores {self.stored_bytes(user)} bytes "
                f"of files and may store at most {self.file_quota_bytes} (this file: {size})."
            )
        if self._stored_total + charge > self.total_file_quota_bytes:
            raise QuotaExceeded(
                f"File storage quota exceeded: the server stores {self._stored_total} bytes of "
                f"files and may store at most {self.total_file_quota_bytes} (this file: {size})."
            )

    def add_file(
        self, filename: str, purpose: str, content: bytes, user: str, *, enforce_quota: bool = False
    ) -> dict[str, Any]:
        """Store a file; with ``enforce_quota`` (uploads), raise :class:`QuotaExceeded` past a
        quota (the results of a batch are always written)."""
        self._drop_expired()
        if enforce_quota:
            self._check_quota(user, len(content))
        now = self.now()
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        info = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": now,
            "filename": filename,
            "purpose": purpose,
            "owner_id": user,
            "s3_uri": None,
            "status": "uploaded",
            "ttl": None if self.file_ttl is None else int(now + self.file_ttl),
            "updated_at": now,
        }
        file = self.files[file_id] = _File(info, content)
        self._stored[user] = self._stored.get(user, 0) + file.charge
        self._stored_total += file.charge
        return info

    # -- jobs ----------------------------------------------------------------------------------
    def _refresh(self, job: _Job) -> dict[str, Any]:
        record = job.record
        if record["status"] in ("validating", "in_progress", "finalizing") and (
            self.now() >= record["expires_at"]
        ):
            self._expire(job)
        return dict(record)

    def _expire(self, job: _Job) -> None:
        record = job.record
        for custom_id, _ in job.lines:
            if custom_id not in job.done_ids:
                job.done_ids.add(custom_id)
                job.errors.append(
                    _result_line(
                        custom_id,
                        None,
                        {
                            "code": "batch_expired",
                            "message": "This request could not be executed before the "
                            "completion window expired.",
                        },
                    )
                )
        self._write_results(job)
        record.update(status="expired", expired_at=self.now())
        job.cancel.set()

    def _write_results(self, job: _Job) -> None:
        record = job.record
        user = record["_owner"]
        if job.output:
            record["output_file_id"] = self.add_file(
                "batch_output.jsonl", "batch_output", b"".join(job.output), user
            )["id"]
        if job.errors:
            record["error_file_id"] = self.add_file(
                "batch_errors.jsonl", "batch_output", b"".join(job.errors), user
            )["id"]

    async def run(self, job: _Job) -> None:
        """The job's life: validate, send every line, write the result files."""
        record = job.record
        await asyncio.sleep(self.pace)
        if self._stopped(job):
            return
        failures = self._validate(job)
        if failures:
            record.update(
                status="failed",
                failed_at=self.now(),
                errors={"object": "list", "data": failures[:_MAX_LINE_ERRORS]},
            )
            return
        model = job.lines[0][1].get("model")
        record.update(
            status="in_progress",
            in_progress_at=self.now(),
            model=model if isinstance(model, str) else None,
        )
        record["request_counts"]["total"] = len(job.lines)
        await self._send_all(job)
        if self._stopped(job):
            return
        record.update(status="finalizing", finalizing_at=self.now())
        await asyncio.sleep(self.pace)
        if self._stopped(job):
            return
        self._write_results(job)
        record.update(status="completed", completed_at=self.now())

    def _stopped(self, job: _Job) -> bool:
        """Whether the job left its normal course (cancelled or expired); finishes a cancel."""
        record = job.record
        if record["status"] == "cancelling":
            self._write_results(job)
            record.update(status="cancelled", cancelled_at=self.now())
            return True
        self._refresh(job)
        return bool(record["status"] == "expired")

    def _validate(self, job: _Job) -> list[dict[str, Any]]:
        record = job.record
        file = self.file(record["input_file_id"], record["_owner"])
        if file is None:
            return [_line_error("file_not_found", None, "The input file does not exist.")]
        failures: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, raw in enumerate(file.content.splitlines(), 1):
            if not raw.strip():
                continue
            if len(job.lines) >= MAX_REQUESTS:
                return [
                    _line_error(
                        "too_many_requests",
                        number,
                        f"The input file has more than {MAX_REQUESTS:,} requests.",
                    )
                ]
            problem = None
            try:
                line = json.loads(raw)
            except ValueError:
                line, problem = None, ("invalid_json_line", "This line is not valid JSON.")
            if problem is None and not (
                isinstance(line, dict)
                and isinstance(line.get("custom_id"), str)
                and isinstance(line.get("body"), dict)
            ):
                problem = ("invalid_request", "A line needs a string custom_id and a body object.")
            elif problem is None and line.get("url") != record["endpoint"]:
                problem = (
                    "mismatched_url",
                    f"The line's url {line.get('url')!r} is not the batch's endpoint {record['endpoint']}.",
                )
            elif problem is None and line.get("method", "POST") != "POST":
                problem = ("invalid_method", "Only POST is supported.")
            elif problem is None and line["custom_id"] in seen:
                problem = ("duplicate_custom_id", f"custom_id {line['custom_id']!r} is used twice.")
            if problem is not None:
                failures.append(_line_error(problem[0], number, problem[1]))
                continue
            seen.add(line["custom_id"])
            job.lines.append((line["custom_id"], line["body"]))
        if not job.lines and not failures:
            failures.append(_line_error("empty_file", None, "The input file has no requests."))
        return failures

    async def _send_all(self, job: _Job) -> None:
        record = job.record
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        for item in job.lines:
            queue.put_nowait(item)
        headers = {"authorization": f"Bearer {job.api_key}", "x-emulator-batch-id": record["id"]}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://emulator.internal", headers=headers, timeout=None
        ) as http:

            async def worker() -> None:
                while not queue.empty() and not job.cancel.is_set():
                    custom_id, body = queue.get_nowait()
                    if self.request_delay:
                        await asyncio.sleep(self.request_delay)
                    # A flag, not an asyncio.Event: tests flip it from another thread.
                    while self.paused and not job.cancel.is_set():  # noqa: ASYNC110
                        await asyncio.sleep(0.005)
                    if job.cancel.is_set() or self._refresh(job)["status"] == "expired":
                        return
                    response = await http.post(record["endpoint"], json=body)
                    if custom_id in job.done_ids:  # expired meanwhile: already answered
                        continue
                    self._record_result(job, custom_id, response)

            workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
            await asyncio.gather(*workers)

    def _record_result(self, job: _Job, custom_id: str, response: httpx.Response) -> None:
        record = job.record
        try:
            body: Any = response.json()
        except ValueError:
            body = {"error": {"message": response.text[:200], "type": "server_error"}}
        answer = {
            "status_code": response.status_code,
            "request_id": response.headers.get("x-request-id"),
            "body": body,
        }
        job.done_ids.add(custom_id)
        counts = record["request_counts"]
        if response.is_success:
            job.output.append(_result_line(custom_id, answer, None))
            counts["completed"] += 1
            usage = body.get("usage") if isinstance(body, dict) else None
            if isinstance(usage, dict):
                total = record["usage"]
                total["input_tokens"] += int(usage.get("prompt_tokens") or 0)
                total["output_tokens"] += int(usage.get("completion_tokens") or 0)
                total["total_tokens"] += int(usage.get("total_tokens") or 0)
                details = usage.get("completion_tokens_details") or {}
                total["output_tokens_details"]["reasoning_tokens"] += int(
                    details.get("reasoning_tokens") or 0
                )
        else:
            job.errors.append(_result_line(custom_id, answer, None))
            counts["failed"] += 1

    def create(
        self, input_file_id: str, endpoint: str, metadata: Any, user: str, api_key: str
    ) -> dict[str, Any]:
        now = self.now()
        record: dict[str, Any] = {
            "id": f"batch_{uuid.uuid4().hex[:24]}",
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": input_file_id,
            "completion_window": "24h",
            "status": "validating",
            "model": None,
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": {
                "input_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 0,
            },
            "metadata": metadata,
            "created_at": now,
            "in_progress_at": None,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "expires_at": now + COMPLETION_WINDOW_SECONDS,
            "cancelling_at": None,
            "cancelled_at": None,
            "_owner": user,
        }
        job = _Job(record, api_key)
        self.jobs[record["id"]] = job
        job.task = asyncio.get_running_loop().create_task(self.run(job))
        return record

    def cancel(self, job: _Job) -> dict[str, Any]:
        record = self._refresh(job)
        if record["status"] in ("validating", "in_progress", "finalizing"):
            job.record.update(status="cancelling", cancelling_at=self.now())
            job.cancel.set()
        return job.record


def _line_error(code: str, line: int | None, message: str) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": None}


def _result_line(custom_id: str, response: Any, error: Any) -> bytes:
    line = {
        "id": f"batch_req_{uuid.uuid4().hex[:24]}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }
    return _DUMPS(line).encode() + b"\n"


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# -- routes ------------------------------------------------------------------------------------

_Handler = Callable[[Request, BatchStore, str, str], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _route(handler: _Handler, v1: V1Wrapper) -> Endpoint:
    """The app's own ``/v1`` wrapper, then the handler with the job store and the caller's key
    (a job's lines are sent with it)."""

    async def endpoint(
        request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
    ) -> Response:
        store: BatchStore = request.app.state.batches
        key = request.headers.get("authorization", "").partition(" ")[2].strip()
        response = await handler(request, store, user, key)
        recorded = RecordedRequest(
            request.method,
            request.url.path,
            {k: v for k, v in request.headers.items() if k != "authorization"},
            getattr(request.state, "recorded_body", None),
            time.time(),
            user,
        )
        state.requests.append(recorded)
        store.requests.append(recorded)
        return response

    return v1(endpoint)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form parts by name: (file name, content). The stdlib's MIME parser reads the framing."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


async def upload_file(request: Request, store: BatchStore, user: str, key: str) -> Response:
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_FILE_BYTES + 65536:
        return _error(413, f"The file exceeds the {MAX_FILE_BYTES // 2**20} MB limit.", "file")
    if not content_type.startswith("multipart/form-data"):
        return _error(400, "Expected a multipart/form-data body with a 'file' part.", "file")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FILE_BYTES + 65536:
            return _error(413, f"The file exceeds the {MAX_FILE_BYTES // 2**20} MB limit.", "file")
    parts = _parse_multipart(content_type, bytes(body))
    file = parts.get("file")
    purpose = parts.get("purpose", (None, b""))[1].decode("utf-8", "replace").strip()
    request.state.recorded_body = {
        "purpose": purpose,
        "filename": file[0] if file else None,
        "bytes": len(file[1]) if file else None,
    }
    if file is None:
        return _error(400, "Missing the 'file' part.", "file")
    if not purpose:
        return _error(400, "Missing the 'purpose' field.", "purpose")
    if len(file[1]) > MAX_FILE_BYTES:
        return _error(413, f"The file exceeds the {MAX_FILE_BYTES // 2**20} MB limit.", "file")
    try:
        info = store.add_file(file[0] or "upload", purpose, file[1], user, enforce_quota=True)
    except QuotaExceeded as exc:
        return _error(400, str(exc), "file")
    return _json(info)


async def file_content(request: Request, store: BatchStore, user: str, key: str) -> Response:
    file = store.file(request.path_params["file_id"], user)
    if file is None:
        return _error(404, "File not found")
    return Response(file.content, media_type="application/octet-stream")


async def create_batch(request: Request, store: BatchStore, user: str, key: str) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _error(400, "The body is not valid JSON.")
    request.state.recorded_body = body
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object.")
    file_id = body.get("input_file_id")
    endpoint = body.get("endpoint")
    metadata = body.get("metadata")
    if not isinstance(file_id, str) or not file_id:
        return _error(400, "input_file_id is required.", "input_file_id")
    if endpoint not in ALL_ENDPOINTS:
        return _error(400, f"endpoint must be one of {', '.join(ALL_ENDPOINTS)}.", "endpoint")
    if endpoint not in ENDPOINTS:
        return _error(400, f"This service does not batch {endpoint}.", "endpoint")
    if body.get("completion_window") != "24h":
        return _error(400, "completion_window must be '24h'.", "completion_window")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        return _error(400, "metadata must map strings to strings.", "metadata")
    if store.file(file_id, user) is None:
        return _error(400, f"input_file_id: no file with id {file_id!r}.", "input_file_id")
    record = store.create(file_id, endpoint, metadata, user, key)
    return _json(_public(record), 201)


def _job(store: BatchStore, request: Request, user: str) -> _Job | None:
    job = store.jobs.get(request.path_params["batch_id"])
    return job if job is not None and job.record["_owner"] == user else None


async def retrieve_batch(request: Request, store: BatchStore, user: str, key: str) -> Response:
    job = _job(store, request, user)
    if job is None:
        return _error(404, "Batch not found")
    return _json(_public(store._refresh(job)))


async def cancel_batch(request: Request, store: BatchStore, user: str, key: str) -> Response:
    job = _job(store, request, user)
    if job is None:
        return _error(404, "Batch not found")
    status = store._refresh(job)["status"]
    if status not in ("validating", "in_progress", "finalizing", "cancelling"):
        return _error(400, f"Cannot cancel a batch with status '{status}'.")
    return _json(_public(store.cancel(job)))


async def list_batches(request: Request, store: BatchStore, user: str, key: str) -> Response:
    raw_limit = request.query_params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return _error(400, "limit must be an integer from 1 to 100.", "limit")
    limit = int(raw_limit)
    mine = [b for b in store.batches() if b["_owner"] == user]
    after = request.query_params.get("after")
    if after:
        ids = [b["id"] for b in mine]
        if after not in ids:
            return _error(400, f"No batch with id {after!r} to list after.", "after")
        mine = mine[ids.index(after) + 1 :]
    page = [_public(b) for b in mine[:limit]]
    return _json(
        {
            "object": "list",
            "data": page,
            "has_more": len(mine) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
    )


def install_batches(app: Starlette, v1: V1Wrapper) -> BatchStore:
    """Add the files and batches routes to an emulator app; its store is ``app.state.batches``.

    ``v1`` wraps each route as the app wraps its own ``/v1`` routes."""
    store = BatchStore(app)
    app.state.batches = store
    app.state.emulator.reset_hooks.append(store.reset)
    # Input files may be larger than the app's general body limit (16 MiB by default).
    LARGER_BODIES["/v1/files"] = MAX_FILE_BYTES + 2**20
    app.router.routes.extend(
        [
            Route("/v1/files", _route(upload_file, v1), methods=["POST"]),
            Route("/v1/files/{file_id}/content", _route(file_content, v1), methods=["GET"]),
            Route("/v1/batches", _route(create_batch, v1), methods=["POST"]),
            Route("/v1/batches", _route(list_batches, v1), methods=["GET"]),
            Route("/v1/batches/{batch_id}", _route(retrieve_batch, v1), methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", _route(cancel_batch, v1), methods=["POST"]),
        ]
    )
    return store
