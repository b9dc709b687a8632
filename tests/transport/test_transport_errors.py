"""Typed errors from every body shape, and the retry rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from compactifai import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CompactifAIError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
)
from tests.transport.conftest import Make
from tests.transport.drivers import CHAT, CHAT_COMPLETION, KEY

DOCUMENTED = {
    "error": {
        "type": "invalid_request_error",
        "message": "Model 'x' does not exist",
        "param": None,
        "code": None,
    }
}
BAD_KEY = {"detail": "Token is not associated with a valid user"}
VALIDATION = {
    "detail": [
        {
            "loc": ["body", "temperature"],
            "msg": "Input should be a valid number",
            "type": "float_parsing",
        }
    ]
}


def error(
    status: int, body: object = None, *, text: str | None = None, **headers: str
) -> httpx.Response:
    headers.setdefault("x-request-id", f"req-{status}")
    if text is not None:
        return httpx.Response(status, text=text, headers={"content-type": "text/html", **headers})
    return httpx.Response(status, json=body, headers=headers)


def success() -> httpx.Response:
    return httpx.Response(200, json=CHAT_COMPLETION, headers={"x-request-id": "req-ok"})


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (400, DOCUMENTED, BadRequestError, "Model 'x' does not exist"),
        (401, BAD_KEY, AuthenticationError, "Token is not associated with a valid user"),
        (403, {"error": {"type": "permission_error", "message": "Not allowed"}}, PermissionDeniedError, "Not allowed"),
        (404, {"error": {"type": "not_found_error", "message": "No such model"}}, NotFoundError, "No such model"),
        (422, VALIDATION, BadRequestError, "temperature: Input should be a valid number"),
    ],
)  # fmt: skip
async def test_status_errors_read_every_body_shape_and_are_not_retried(
    make: Make,
    sleeps: list[float],
    status: int,
    body: object,
    cls: type[APIStatusError],
    message: str,
) -> None:
    driver, recorder = make(error(status, body), success())
    with pytest.raises(cls) as info:
        await driver.call("create_chat_completion", **CHAT)
    exc = info.value
    assert exc.status_code == status
    assert exc.message == message
    assert exc.request_id == f"req-{status}"
    assert exc.body == body
    assert f"Error code: {status} - {message}" in str(exc)
    assert f"req-{status}" in str(exc)
    assert KEY not in str(exc) and KEY not in repr(exc.args)
    assert len(recorder.requests) == 1  # never retried
    assert sleeps == []


async def test_html_error_page_from_a_proxy_is_summarised(make: Make) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    driver, _ = make(error(502, text=page), max_retries=0)
    with pytest.raises(InternalServerError) as info:
        await driver.call("list_models")
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in info.value.message
    assert info.value.request_id == "req-502"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_succeed(
    make: Make, sleeps: list[float], status: int
) -> None:
    driver, recorder = make(error(status, {"error": {"message": "busy"}}), success())
    reply = await driver.call("create_chat_completion", **CHAT)
    assert reply.request_id == "req-ok"
    assert len(recorder.requests) == 2
    assert len(sleeps) == 1
    # The same logical request keeps its id across attempts.
    assert (
        recorder.requests[0].headers["x-request-id"] == recorder.requests[1].headers["x-request-id"]
    )


async def test_retries_give_up_after_max_retries_and_say_how_many_attempts(
    make: Make, sleeps: list[float]
) -> None:
    driver, recorder = make(
        error(503, {"error": {"message": "overloaded"}}),
        retry_policy=RetryPolicy(max_retries=3, initial_delay=0.0),
    )
    with pytest.raises(InternalServerError) as info:
        await driver.call("create_chat_completion", **CHAT)
    assert len(recorder.requests) == 4
    assert info.value.attempts == 4
    assert "after 4 attempts" in str(info.value)
    assert len(sleeps) == 3


async def test_max_retries_zero_means_one_attempt(make: Make, sleeps: list[float]) -> None:
    driver, recorder = make(
        error(429, {"error": {"message": "slow down"}}), retry_policy=RetryPolicy(max_retries=0)
    )
    with pytest.raises(RateLimitError):
        await driver.call("list_models")
    assert len(recorder.requests) == 1 and sleeps == []


async def test_retry_after_is_honoured(make: Make, sleeps: list[float]) -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    driver, _ = make(
        error(429, {"error": {"message": "slow"}}, **{"retry-after": "2"}),
        error(429, {"error": {"message": "slow"}}, **{"retry-after-ms": "1500"}),
        error(503, {"error": {"message": "slow"}}, **{"retry-after": later}),
        success(),
        retry_policy=RetryPolicy(max_retries=3, initial_delay=0.0),
    )
    await driver.call("create_chat_completion", **CHAT)
    assert sleeps[0] == 2.0
    assert sleeps[1] == 1.5
    assert 25 < sleeps[2] <= 30


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0)
    for attempt, nominal in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(0.75 * nominal <= d <= nominal for d in delays)
        assert len(delays) > 1  # jitter


def test_unusable_retry_after_falls_back_to_backoff() -> None:
    policy = RetryPolicy()
    assert policy.retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert (
        policy.retry_after(httpx.Headers({"retry-after": "3600"})) is None
    )  # beyond max_retry_after
    assert policy.retry_after(httpx.Headers({"retry-after": "-1"})) is None
    assert policy.retry_after(httpx.Headers({})) is None
    assert policy.delay_after_status(1, 400, httpx.Headers({"retry-after": "1"})) is None
    assert policy.delay_after_status(3, 503, httpx.Headers({})) is None  # max_retries=2 used up


async def test_connection_errors_are_retried_then_typed(make: Make, sleeps: list[float]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    driver, recorder = make(refuse)
    with pytest.raises(APIConnectionError) as info:
        await driver.call("list_models")
    assert not isinstance(info.value, APITimeoutError)
    assert "Connection refused" in str(info.value)
    assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)
    assert info.value.request_id == recorder.requests[0].headers["x-request-id"]
    assert len(recorder.requests) == 3 and len(sleeps) == 2


async def test_connection_error_then_success(make: Make, sleeps: list[float]) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    driver, recorder = make(drop, success())
    reply = await driver.call("create_chat_completion", **CHAT)
    assert reply.choices[0].message.content
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "exc", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.PoolTimeout, httpx.WriteTimeout]
)
async def test_timeouts_become_api_timeout_error(
    make: Make, sleeps: list[float], exc: type[httpx.TimeoutException]
) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise exc("timed out", request=request)

    driver, recorder = make(
        slow, max_retries=1, retry_policy=RetryPolicy(max_retries=1, initial_delay=0.0)
    )
    with pytest.raises(APITimeoutError) as info:
        await driver.call("create_chat_completion", **CHAT)
    assert isinstance(info.value, APIConnectionError)
    assert exc.__name__ in str(info.value)
    assert len(recorder.requests) == 2


UNREADABLE = {
    "malformed JSON": (b'{"id": "x", "choi', "application/json"),
    "unexpected JSON": (b'{"unexpected": true}', "application/json"),
    "text/plain": (b"all good", "text/plain"),
}


@pytest.mark.parametrize("fragment", list(UNREADABLE))
async def test_unreadable_success_bodies_raise_a_typed_error(make: Make, fragment: str) -> None:
    content, content_type = UNREADABLE[fragment]
    response = httpx.Response(
        200, content=content, headers={"content-type": content_type, "x-request-id": "req-bad"}
    )
    driver, _ = make(response)
    with pytest.raises(APIResponseValidationError) as info:
        await driver.call("create_chat_completion", **CHAT)
    assert fragment in str(info.value)
    assert info.value.status_code == 200
    assert info.value.request_id == "req-bad"
    assert info.value.body == content.decode()  # an excerpt of what came back


async def test_usage_404_says_the_server_does_not_offer_usage_statistics(make: Make) -> None:
    driver, _ = make(error(404, {"detail": "Not Found"}))
    with pytest.raises(NotFoundError) as info:
        await driver.call("get_usage", "2025-01-01T00:00:00Z")
    assert "does not offer usage statistics" in info.value.message
    assert info.value.status_code == 404


def test_every_error_is_a_compactifai_error() -> None:
    for cls in (
        APIConnectionError,
        APITimeoutError,
        APIStatusError,
        BadRequestError,
        RateLimitError,
        APIResponseValidationError,
    ):
        assert issubclass(cls, CompactifAIError)
