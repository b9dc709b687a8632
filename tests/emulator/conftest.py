"""Fixtures for the emulator tests: one shared emulator (two users), reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from compactifai.emulator import Emulator
from tests.emulator_fixtures import reset_when_used, running_emulator

MODEL = "cai-mistral-small-3-1-slim"
REASONING_MODEL = "hypernova-60b"
VISION_MODEL = "mistral-small-3-1"


emu = running_emulator(name="emu", scope="session", api_keys=("test-key", "other-key"), seed=7)
_reset = reset_when_used("emu")


@pytest.fixture
def client(emu: Emulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0) as c:
        yield c


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=10
    ) as c:
        yield c
