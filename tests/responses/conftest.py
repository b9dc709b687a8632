"""One emulator with two customers for the Responses API tests, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai.emulator import Emulator
from tests.emulator_fixtures import reset_when_used, running_emulator

# Models with the supports_responses capability in today's catalog.
REASONING_MODEL = "hypernova-60b"
HYBRID_MODEL = "glm-5-1"
# A chat model without it.
CHAT_ONLY_MODEL = "mistral-small-3-1"
OTHER_KEY = "other-key"

FACT = "The Eiffel Tower was completed in 1889. It is located in Paris."
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a given city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def person_format() -> dict[str, Any]:
    return {"format": {"type": "json_schema", "name": "person", "schema": PERSON_SCHEMA}}


emu = running_emulator(name="emu", scope="session", api_keys=("test-key", OTHER_KEY), seed=3)
_reset = reset_when_used("emu")


@pytest.fixture
def client(emu: Emulator) -> Iterator[CompactifAIClient]:
    with CompactifAIClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(emu: Emulator) -> AsyncIterator[AsyncCompactifAIClient]:
    async with AsyncCompactifAIClient(
        api_key=emu.api_key, base_url=emu.base_url, max_retries=0
    ) as c:
        yield c


@pytest.fixture
def sdk(emu: Emulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0) as c:
        yield c


def responses_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "/responses" in r.path]
