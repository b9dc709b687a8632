"""What a scripted fault does to a response: replace it, cut it, stall it or corrupt it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._http import (
    INVALID_TOKEN_DETAIL,
    SSE_DONE,
    STATUS_MESSAGES,
    ApiError,
    JsonResponse,
    StreamResponse,
    dumps,
)
from .faults import STREAM_FAULT_KINDS, FaultError, FaultSpec
from .state import EmulatorState

__all__ = [
    "apply_stream_fault",
    "fault_for",
    "finish_json",
    "html_fault_response",
    "status_fault_response",
]


def fault_for(state: EmulatorState, request: Request, user: str | None = None) -> FaultSpec | None:
    header = request.headers.get("x-emulator-fault")
    if header:
        try:
            spec = FaultSpec.from_json(json.loads(header))
        except (json.JSONDecodeError, FaultError) as exc:
            raise ApiError(
                400, f"Bad x-emulator-fault header: {exc}", param="x-emulator-fault"
            ) from None
        if spec.matches(request.url.path) and state.faults.roll(spec):
            return spec
        return None
    return state.faults.take(request.url.path, user)


def status_fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 500
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        ra = fault.retry_after
        headers["retry-after"] = (
            str(int(ra)) if isinstance(ra, (int, float)) and float(ra).is_integer() else str(ra)
        )
    if status == 401:
        return JsonResponse({"detail": INVALID_TOKEN_DETAIL}, 401, headers)
    message = fault.message or STATUS_MESSAGES.get(status, f"Injected error with status {status}.")
    return ApiError(status, message, headers=headers).response()


def html_fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 502
    phrase = {
        502: "Bad Gateway",
        503: "Service Temporarily Unavailable",
        504: "Gateway Time-out",
    }.get(status, "Error")
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(html, status_code=status, media_type="text/html")


async def _delayed(chunks: Iterable[bytes | None], seconds: float) -> AsyncIterator[bytes | None]:
    for i, chunk in enumerate(chunks):
        if i == 1:
            await asyncio.sleep(seconds)
        yield chunk


def finish_json(payload: Any, fault: FaultSpec | None, status: int = 200) -> Response:
    """A JSON success answer, altered by a body-level fault if one applies."""
    body = dumps(payload)
    if fault is None:
        return JsonResponse(body, status)
    if fault.kind == "malformed":
        return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
    if fault.kind == "drop_stream":
        return StreamResponse(
            _aiter([body[: max(1, len(body) // 2)].encode(), None]), "application/json"
        )
    if fault.kind == "stall_stream":
        raw = body.encode()
        half = len(raw) // 2
        return StreamResponse(_delayed([raw[:half], raw[half:]], fault.sleep), "application/json")
    if fault.kind == "error_in_stream":
        return ApiError(500, fault.message or "Internal server error.").response()
    return JsonResponse(body, status)


async def _aiter(items: Iterable[bytes | None]) -> AsyncIterator[bytes | None]:
    for item in items:
        yield item


def chat_stream_error(message: str, sent: int) -> dict[str, Any]:
    """The error event chat completions send mid-stream (``sent``: the events before it)."""
    return {"error": {"type": "server_error", "message": message, "param": None, "code": 500}}


async def apply_stream_fault(
    events: AsyncIterator[bytes],
    fault: FaultSpec | None,
    response_id: str,
    error_event: Callable[[str, int], dict[str, Any]] = chat_stream_error,
) -> AsyncIterator[bytes | None]:
    """Pass SSE events through, doing what a stream fault says after ``after_chunks`` events.

    ``error_in_stream`` sends ``error_event(message, events sent)``: each API's error shape."""
    if fault is None or (fault.kind not in STREAM_FAULT_KINDS and fault.kind != "malformed"):
        async for event in events:
            yield event
        return
    sent = 0
    async for event in events:
        if sent == fault.chunks:
            if fault.kind == "drop_stream":
                yield None
                return
            if fault.kind == "stall_stream":
                await asyncio.sleep(fault.sleep)
            elif fault.kind == "error_in_stream":
                message = fault.message or "The inference server failed while streaming."
                yield b"data: " + dumps(error_event(message, sent)).encode() + b"\n\n"
                yield SSE_DONE
                return
            elif fault.kind == "malformed":
                yield (
                    b'data: {"id":"'
                    + response_id.encode()
                    + b'","choices":[{"delta":{"content":"tru\n\n'
                )
        yield event
        sent += 1
