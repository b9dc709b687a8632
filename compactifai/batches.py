"""Run many requests as one CompactifAI batch job (``/v1/files`` + ``/v1/batches``).

    from compactifai import CompactifAIClient
    from compactifai.batches import BatchRunner

    with CompactifAIClient() as client:
        runner = BatchRunner(client)
        results = runner.run(
            [{"model": "hypernova-60b", "messages": [{"role": "user", "content": q}]} for q in qs],
            on_progress=lambda batch: print(batch.status, batch.request_counts),
        )
    for result in results:  # in input order
        print(result.error if isinstance(result, BatchRequestError) else result.choices[0].message)

``submit`` and ``collect(batch_id)`` are separate, so a job outlives the process that started
it: submit, keep the id, collect later (from anywhere with the same key).

The job's whole flow (build the JSONL, upload, create, poll, download, order the results) is
written once, as generators that *describe* each call; :class:`BatchRunner` and
:class:`AsyncBatchRunner` only carry those calls out, with a client or an async client.

Assumptions (the vendor publishes no limits): at most :data:`MAX_REQUESTS_PER_FILE` requests
and :data:`MAX_INPUT_FILE_BYTES` bytes per input file, OpenAI's line format for input, output
and error files.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypedDict, TypeVar, cast

import pydantic

from compactifai import _protocol as ops
from compactifai.errors import CompactifAIError, RequestValidationError, status_error_from_response
from compactifai.types import (
    Batch,
    BatchResultLine,
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    with_request_id,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # annotations only: no runtime dependency

    from compactifai._client import AsyncCompactifAIClient, CompactifAIClient

__all__ = [
    "MAX_INPUT_FILE_BYTES",
    "MAX_REQUESTS_PER_FILE",
    "AsyncBatchRunner",
    "BatchFailedError",
    "BatchRequestError",
    "BatchResult",
    "BatchResults",
    "BatchRunner",
    "BatchWaitTimeout",
    "CollectOptions",
    "PollPolicy",
    "RunOptions",
    "SubmitOptions",
    "WaitOptions",
    "check_request",
    "order_results",
    "read_custom_ids",
    "write_jsonl",
]

MAX_REQUESTS_PER_FILE = 50_000
MAX_INPUT_FILE_BYTES = 200 * 1024 * 1024
# Input and result files stay in memory up to this size, then spill to a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024
MAX_RESULT_LINE_BYTES = 32 * 1024 * 1024
ENDPOINTS: dict[str, tuple[type[pydantic.BaseModel], type[ChatCompletion] | type[Completion]]] = {
    "/v1/chat/completions": (ChatCompletionRequest, ChatCompletion),
    "/v1/completions": (CompletionRequest, Completion),
}
# The error codes OpenAI's batch error files use for lines that never ran.
_UNFINISHED_CODES = {
    "expired": "batch_expired",
    "cancelled": "batch_cancelled",
    "failed": "batch_failed",
}


# ---------------------------------------------------------------------------- results


class BatchRequestError(CompactifAIError):
    """One request of a batch failed; the other requests' results are unaffected.

    ``status_code`` is the HTTP status the request got (``None`` when it never ran: ``code``
    then says why, e.g. ``batch_expired``). ``error`` is the exception the same request would
    have raised as a normal call (a :class:`~compactifai.errors.BadRequestError` for a 400...).
    """

    def __init__(
        self,
        custom_id: str,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        error: CompactifAIError | None = None,
    ) -> None:
        self.custom_id = custom_id
        self.message = message
        self.code = code
        self.status_code = status_code
        self.request_id = request_id
        self.error = error
        status = f" (status {status_code})" if status_code is not None else ""
        super().__init__(f"Batch request {custom_id!r} failed{status}: {message}")


class BatchFailedError(CompactifAIError):
    """The batch as a whole failed (e.g. its input file was rejected): no request ran."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        details = "; ".join(
            f"line {e.line}: {e.message}" if e.line else str(e.message)
            for e in (batch.errors.data if batch.errors else [])[:5]
        )
        super().__init__(f"Batch {batch.id} failed" + (f": {details}" if details else ""))


class BatchWaitTimeout(CompactifAIError, TimeoutError):
    """``wait``/``collect`` gave up before the job finished; the job keeps running."""

    def __init__(self, batch: Batch, seconds: float) -> None:
        self.batch = batch
        super().__init__(
            f"Batch {batch.id} is still {batch.status} after {seconds:g}s; "
            f"collect it later with collect({batch.id!r})"
        )


BatchResult = ChatCompletion | Completion | BatchRequestError
ResultT = TypeVar("ResultT")


class BatchResults(list[BatchResult]):
    """The results of a batch in input order, the final :class:`Batch` (``.batch``) and the
    requests' custom ids (``.custom_ids``, same order)."""

    def __init__(self, results: Iterable[BatchResult], batch: Batch, custom_ids: list[str]) -> None:
        super().__init__(results)
        self.batch = batch
        self.custom_ids = custom_ids


# ---------------------------------------------------------------------------- input files


def _request_line(index: int, request: Mapping[str, Any] | Any, endpoint: str) -> tuple[str, bytes]:
    """(custom id, encoded body) of one request: a body, or ``{"custom_id", "body"[, ...]}``."""
    if not isinstance(request, Mapping):
        if isinstance(request, pydantic.BaseModel):
            request = request.model_dump(exclude_none=True)
        else:
            raise RequestValidationError(
                f"requests[{index}]", f"expected a mapping (got {type(request).__name__})"
            )
    custom_id = f"request-{index}"
    if "custom_id" in request and "body" in request:
        custom_id = request["custom_id"]
        url = request.get("url", endpoint)
        if url != endpoint:
            raise RequestValidationError(
                f"requests[{index}].url", f"must be the batch's endpoint {endpoint} (got {url!r})"
            )
        if not isinstance(custom_id, str) or not custom_id:
            raise RequestValidationError(f"requests[{index}].custom_id", "a non-empty string")
        request = request["body"]
        if not isinstance(request, Mapping):
            raise RequestValidationError(f"requests[{index}].body", "expected a JSON object")
    if request.get("stream"):
        raise RequestValidationError(f"requests[{index}].stream", "batch requests cannot stream")
    try:
        body = ops._encode(ENDPOINTS[endpoint][0], request)
    except RequestValidationError as exc:
        raise RequestValidationError(f"requests[{index}].{exc.field}", exc.reason) from None
    return custom_id, body


def check_request(request: Mapping[str, Any], endpoint: str = "/v1/chat/completions") -> None:
    """Raise the :class:`RequestValidationError` a normal call with this body would raise."""
    _check_endpoint(endpoint)
    if request.get("stream"):
        raise RequestValidationError("stream", "batch requests cannot stream")
    ops._encode(ENDPOINTS[endpoint][0], request)


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in ENDPOINTS:
        raise RequestValidationError(
            "endpoint", f"the batch runner supports {', '.join(ENDPOINTS)} (got {endpoint!r})"
        )


def write_jsonl(
    requests: Iterable[Mapping[str, Any]], sink: IO[bytes], endpoint: str = "/v1/chat/completions"
) -> list[str]:
    """Write a batch input file to ``sink``, one line per request as it is read; the custom ids.

    Each request is a body (``{"model", "messages", ...}``, validated like a normal call; its
    custom id is ``request-<index>``) or an OpenAI batch line ``{"custom_id", "body"}``.
    """
    _check_endpoint(endpoint)
    prefix = b'","method":"POST","url":' + json.dumps(endpoint).encode() + b',"body":'
    custom_ids: list[str] = []
    seen: set[str] = set()
    size = 0
    for index, request in enumerate(requests):
        if index >= MAX_REQUESTS_PER_FILE:
            raise RequestValidationError(
                "requests", f"a batch holds at most {MAX_REQUESTS_PER_FILE:,} requests"
            )
        custom_id, body = _request_line(index, request, endpoint)
        if custom_id in seen:
            raise RequestValidationError(
                f"requests[{index}].custom_id", f"{custom_id!r} is used twice"
            )
        seen.add(custom_id)
        custom_ids.append(custom_id)
        line = b'{"custom_id":"' + json.dumps(custom_id)[1:-1].encode() + prefix + body + b"}\n"
        size += len(line)
        if size > MAX_INPUT_FILE_BYTES:
            raise RequestValidationError(
                "requests", f"the input file would exceed {MAX_INPUT_FILE_BYTES // 2**20} MB"
            )
        sink.write(line)
    if not custom_ids:
        raise RequestValidationError("requests", "at least one request is needed")
    return custom_ids


def read_custom_ids(lines: Iterable[bytes]) -> list[str]:
    """The custom ids of a batch input file, in file order."""
    ids = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                ids.append(str(json.loads(line)["custom_id"]))
            except (ValueError, KeyError, TypeError):
                raise RequestValidationError(
                    f"line {number}", "not a batch request line with a custom_id"
                ) from None
    return ids


# ---------------------------------------------------------------------------- results files


def _result_of(
    line: BatchResultLine, parse: type[ChatCompletion] | type[Completion]
) -> BatchResult:
    response = line.response
    if response is not None and 200 <= response.status_code < 300 and line.error is None:
        try:
            value = parse.model_validate(response.body)
        except pydantic.ValidationError:
            return BatchRequestError(
                line.custom_id,
                "the result line's body is not a valid response",
                code="invalid_result",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        with_request_id(value, response.request_id)
        return value
    if response is not None:
        raw = json.dumps(response.body).encode()
        error = status_error_from_response(response.status_code, raw, response.request_id)
        return BatchRequestError(
            line.custom_id,
            error.message,
            code=line.error.code if line.error else None,
            status_code=response.status_code,
            request_id=response.request_id,
            error=error,
        )
    return BatchRequestError(
        line.custom_id,
        (line.error.message if line.error else None) or "the request failed",
        code=line.error.code if line.error else None,
    )


def _place(
    slots: list[BatchResult | None],
    positions: Mapping[str, int],
    lines: Iterable[bytes],
    parse: type[ChatCompletion] | type[Completion],
) -> None:
    for raw in lines:
        if not raw.strip():
            continue
        try:
            line = BatchResultLine.model_validate_json(raw)
        except pydantic.ValidationError:
            continue  # a result line we cannot read names no request we could attribute it to
        position = positions.get(line.custom_id)
        if position is not None and slots[position] is None:
            slots[position] = _result_of(line, parse)


def order_results(
    custom_ids: list[str],
    batch: Batch,
    output_lines: Iterable[bytes],
    error_lines: Iterable[bytes],
) -> BatchResults:
    """Each request's result in input order; requests with no result line become errors."""
    positions = {custom_id: i for i, custom_id in enumerate(custom_ids)}
    slots: list[BatchResult | None] = [None] * len(custom_ids)
    parse = ENDPOINTS.get(batch.endpoint, ENDPOINTS["/v1/chat/completions"])[1]
    _place(slots, positions, output_lines, parse)
    _place(slots, positions, error_lines, parse)
    code = _UNFINISHED_CODES.get(batch.status, "missing_result")
    return BatchResults(
        (
            slot
            if slot is not None
            else BatchRequestError(
                custom_ids[i], f"no result: the batch ended {batch.status}", code=code
            )
            for i, slot in enumerate(slots)
        ),
        batch,
        custom_ids,
    )


# ---------------------------------------------------------------------------- polling


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask for a job's status: back off while nothing changes, stay close while
    requests complete (a 24 h job should not cost thousands of status calls, a 10 s one
    should not wait a minute)."""

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 1.6

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise RequestValidationError("poll", "need 0 < initial <= maximum")
        if self.factor < 1:
            raise RequestValidationError("poll.factor", "must be 1 or more")

    def next_delay(self, previous: float | None, progressed: bool) -> float:
        if previous is None or progressed:
            return self.initial if previous is None else max(self.initial, previous / self.factor)
        return min(self.maximum, previous * self.factor)


def _progress_key(batch: Batch) -> tuple[str, int, int]:
    counts = batch.request_counts
    return (batch.status, counts.completed if counts else 0, counts.failed if counts else 0)


# ---------------------------------------------------------------------------- the flow, once


@dataclass(frozen=True)
class _Call:
    op: ops.Operation[Any]


@dataclass(frozen=True)
class _Download:
    op: ops.Operation[Any]
    sink: IO[bytes]


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Effect = _Call | _Download | _Sleep
_Flow = Generator[_Effect, Any, ResultT]
ProgressCallback = Callable[[Batch], None]


def _spool() -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")


class SubmitOptions(TypedDict, total=False):
    endpoint: str
    """``/v1/chat/completions`` (default) or ``/v1/completions``: where every request goes."""
    metadata: Mapping[str, str] | None
    """Key/value strings stored with the job."""
    filename: str
    """The uploaded input file's name (default ``batch_input.jsonl``)."""


class WaitOptions(TypedDict, total=False):
    on_progress: ProgressCallback | None
    """Called with the job's :class:`~compactifai.types.Batch` at every status check."""
    timeout: float | None
    """Seconds to wait at most (:class:`BatchWaitTimeout` after; the job keeps running)."""


class CollectOptions(WaitOptions, total=False):
    custom_ids: list[str] | None
    """The requests' order; by default read back from the job's input file."""


class RunOptions(SubmitOptions, WaitOptions, total=False):
    pass


def _submit_flow(
    requests: Iterable[Mapping[str, Any]], options: SubmitOptions
) -> _Flow[tuple[Batch, list[str]]]:
    endpoint = options.get("endpoint", "/v1/chat/completions")
    filename = options.get("filename", "batch_input.jsonl")
    with _spool() as jsonl:
        custom_ids = write_jsonl(requests, jsonl, endpoint)
        jsonl.seek(0)
        file: Any = yield _Call(ops.upload_file(filename, cast(BinaryIO, jsonl), "batch"))
    batch: Batch = yield _Call(ops.create_batch(file.id, endpoint, options.get("metadata")))
    return batch, custom_ids


def _submitted(requests: Iterable[Mapping[str, Any]], options: SubmitOptions) -> _Flow[Batch]:
    return (yield from _submit_flow(requests, options))[0]


def _wait_flow(batch_id: str, policy: PollPolicy, options: WaitOptions) -> _Flow[Batch]:
    on_progress = options.get("on_progress")
    timeout = options.get("timeout")
    started = time.monotonic()
    delay: float | None = None
    last: tuple[str, int, int] | None = None
    while True:
        batch: Batch = yield _Call(ops.retrieve_batch(batch_id))
        if on_progress is not None:
            on_progress(batch)
        if batch.is_done:
            return batch
        key = _progress_key(batch)
        delay = policy.next_delay(delay, last is not None and key != last)
        last = key
        if timeout is not None:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise BatchWaitTimeout(batch, timeout)
            delay = min(delay, left)
        yield _Sleep(delay)


def _lines_of(file_id: str | None) -> _Flow[Iterator[bytes]]:
    """Download a file to a spool; its lines (or none when there is no file)."""
    if not file_id:
        return iter(())
    spool = _spool()
    yield _Download(ops.download_file(file_id), spool)
    spool.seek(0)
    return _closing_lines(spool)


def _closing_lines(spool: tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    """The file's lines, each read with a bound: a longer line (no result line is anywhere
    near it) is skipped, so a hostile file cannot make one line take all the memory."""
    with spool:
        while line := spool.readline(MAX_RESULT_LINE_BYTES + 1):
            if len(line) <= MAX_RESULT_LINE_BYTES:
                yield line
                continue
            while line and not line.endswith(b"\n"):  # skip to the end of the long line
                line = spool.readline(MAX_RESULT_LINE_BYTES)


def _collect_flow(
    batch_id: str, policy: PollPolicy, options: CollectOptions
) -> _Flow[BatchResults]:
    batch = yield from _wait_flow(batch_id, policy, options)
    if batch.status == "failed":
        raise BatchFailedError(batch)
    custom_ids = options.get("custom_ids")
    if custom_ids is None:
        custom_ids = read_custom_ids((yield from _lines_of(batch.input_file_id)))
    output = yield from _lines_of(batch.output_file_id)
    errors = yield from _lines_of(batch.error_file_id)
    return order_results(custom_ids, batch, output, errors)


def _run_flow(
    requests: Iterable[Mapping[str, Any]], policy: PollPolicy, options: RunOptions
) -> _Flow[BatchResults]:
    batch, custom_ids = yield from _submit_flow(requests, options)
    on_progress = options.get("on_progress")
    if on_progress is not None:
        on_progress(batch)
    collect = CollectOptions(custom_ids=custom_ids)
    if "on_progress" in options:
        collect["on_progress"] = options["on_progress"]
    if "timeout" in options:
        collect["timeout"] = options["timeout"]
    return (yield from _collect_flow(batch.id, policy, collect))


# ---------------------------------------------------------------------------- drivers


class _Stepper:
    """Advances a flow: hands it each effect's outcome (a value or an exception)."""

    def __init__(self, flow: _Flow[Any]) -> None:
        self._flow = flow
        self.outcome: Any = None
        self.failure: Exception | None = None
        self.result: Any = None

    def next(self) -> _Effect | None:
        """The next effect to carry out, or None once the flow returned (see ``result``)."""
        outcome, failure = self.outcome, self.failure
        self.outcome, self.failure = None, None
        try:
            return self._flow.throw(failure) if failure is not None else self._flow.send(outcome)
        except StopIteration as stop:
            self.result = stop.value
            return None


class _RunnerBase:
    """What both runners share: the polling policy and the flows their methods drive."""

    def __init__(self, poll: PollPolicy | None = None) -> None:
        self.poll = poll or PollPolicy()


class BatchRunner(_RunnerBase):
    """Runs batch jobs with a :class:`~compactifai.CompactifAIClient`.

    ``submit`` uploads the requests and creates the job; ``wait`` polls it to the end;
    ``collect`` waits and returns the results in input order; ``run`` is both. Options:
    :class:`SubmitOptions` (``endpoint``, ``metadata``, ``filename``), :class:`WaitOptions`
    (``on_progress``, ``timeout``), ``custom_ids`` for ``collect``.
    """

    def __init__(self, client: CompactifAIClient, poll: PollPolicy | None = None) -> None:
        super().__init__(poll)
        self.client = client

    def _drive(self, flow: _Flow[ResultT]) -> ResultT:
        stepper = _Stepper(flow)
        while (effect := stepper.next()) is not None:
            try:
                if isinstance(effect, _Call):
                    stepper.outcome = self.client._call(effect.op)
                elif isinstance(effect, _Download):
                    stepper.outcome = self.client._download(effect.op, cast(BinaryIO, effect.sink))
                else:
                    time.sleep(effect.seconds)
            except Exception as exc:  # the flow re-raises it (or handles it)
                stepper.failure = exc
        return cast(ResultT, stepper.result)

    def submit(
        self, requests: Iterable[Mapping[str, Any]], **options: Unpack[SubmitOptions]
    ) -> Batch:
        return self._drive(_submitted(requests, options))

    def status(self, batch_id: str) -> Batch:
        return self.client.retrieve_batch(batch_id)

    def cancel(self, batch_id: str) -> Batch:
        return self.client.cancel_batch(batch_id)

    def wait(self, batch_id: str, **options: Unpack[WaitOptions]) -> Batch:
        return self._drive(_wait_flow(batch_id, self.poll, options))

    def collect(self, batch_id: str, **options: Unpack[CollectOptions]) -> BatchResults:
        return self._drive(_collect_flow(batch_id, self.poll, options))

    def run(
        self, requests: Iterable[Mapping[str, Any]], **options: Unpack[RunOptions]
    ) -> BatchResults:
        return self._drive(_run_flow(requests, self.poll, options))


class AsyncBatchRunner(_RunnerBase):
    """:class:`BatchRunner` over an :class:`~compactifai.AsyncCompactifAIClient`: awaitable."""

    def __init__(self, client: AsyncCompactifAIClient, poll: PollPolicy | None = None) -> None:
        super().__init__(poll)
        self.client = client

    async def _drive(self, flow: _Flow[ResultT]) -> ResultT:
        stepper = _Stepper(flow)
        while (effect := stepper.next()) is not None:
            try:
                if isinstance(effect, _Call):
                    stepper.outcome = await self.client._call(effect.op)
                elif isinstance(effect, _Download):
                    sink = cast(BinaryIO, effect.sink)
                    stepper.outcome = await self.client._download(effect.op, sink)
                else:
                    await asyncio.sleep(effect.seconds)
            except Exception as exc:
                stepper.failure = exc
        return cast(ResultT, stepper.result)

    async def submit(
        self, requests: Iterable[Mapping[str, Any]], **options: Unpack[SubmitOptions]
    ) -> Batch:
        return await self._drive(_submitted(requests, options))

    async def status(self, batch_id: str) -> Batch:
        return await self.client.retrieve_batch(batch_id)

    async def cancel(self, batch_id: str) -> Batch:
        return await self.client.cancel_batch(batch_id)

    async def wait(self, batch_id: str, **options: Unpack[WaitOptions]) -> Batch:
        return await self._drive(_wait_flow(batch_id, self.poll, options))

    async def collect(self, batch_id: str, **options: Unpack[CollectOptions]) -> BatchResults:
        return await self._drive(_collect_flow(batch_id, self.poll, options))

    async def run(
        self, requests: Iterable[Mapping[str, Any]], **options: Unpack[RunOptions]
    ) -> BatchResults:
        return await self._drive(_run_flow(requests, self.poll, options))
