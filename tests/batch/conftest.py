"""A live emulator with a fast batch pace, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai.batches import PollPolicy
from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore
from tests.emulator_fixtures import running_emulator

FAST_POLL = PollPolicy(initial=0.01, maximum=0.05)
# In the reference catalog and in today's, whichever the emulator serves.
MODEL = "cai-mistral-small-3-1-slim"


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


emulator = running_emulator()


@pytest.fixture
def store(emulator: Emulator) -> Iterator[BatchStore]:
    """The emulator's batch store, fast and on a real-time clock; emptied after each test."""
    batches: BatchStore = emulator.app.state.batches
    batches.configure(pace=0.01, request_delay=0.0, concurrency=16, clock=1.0)
    yield batches
    batches.reset()
    emulator.reset()


@pytest.fixture
def client(emulator: Emulator, store: BatchStore) -> Iterator[CompactifAIClient]:
    with CompactifAIClient(api_key=emulator.api_key, base_url=emulator.base_url) as c:
        yield c


@pytest.fixture
async def aclient(emulator: Emulator, store: BatchStore) -> AsyncIterator[AsyncCompactifAIClient]:
    async with AsyncCompactifAIClient(api_key=emulator.api_key, base_url=emulator.base_url) as c:
        yield c
