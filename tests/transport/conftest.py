from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.transport.drivers import Driver, Recorder

Make = Callable[..., tuple[Driver, Recorder]]


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(kind: str) -> Make:
    """make(response, response, ..., **client_kwargs) -> (driver, recorder)."""

    def factory(
        *responses: httpx.Response | Callable[[httpx.Request], httpx.Response], **kwargs: Any
    ) -> tuple[Driver, Recorder]:
        recorder = Recorder(list(responses))
        return Driver(kind, recorder, **kwargs), recorder

    return factory


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry waits instead of waiting."""
    waits: list[float] = []

    async def fake_async_sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr("compactifai._client._sleep", waits.append)
    monkeypatch.setattr("compactifai._client._async_sleep", fake_async_sleep)
    return waits
