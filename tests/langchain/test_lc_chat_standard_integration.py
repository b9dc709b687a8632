"""LangChain's standard integration suite for ChatCompactifAI, replayed from cassettes.

Every test replays HTTP from ``cassettes/test_lc_chat_standard_integration/``; re-record
against the bundled emulator with ``pytest tests/langchain --record-mode=rewrite``. The base
URL and key come from the environment that ``tests/conftest.py`` sets for the session.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_compactifai import ChatCompactifAI

pytestmark = pytest.mark.vcr

MODEL = "cai-llama-3-1-8b-slim"
# The catalog's text models do not read images; the image tests run on a model that does.
VISION_MODEL = "cai-llama-4-scout-slim"
# The standard image tests download this picture; tests run offline, so it is served locally.
STANDARD_IMAGE_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/"
    "4d11d08b6b0e210bd456943f7a22febbd168b543/src/images/agentic-rag-output.png"
)


def _png(width: int, height: int) -> bytes:
    """A small deterministic RGB gradient as PNG bytes (so recorded request bodies match)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 16 % 256, y * 16 % 256, 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def standard_image_served_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    real_get = httpx.get
    image = _png(16, 16)

    def get(url: str, *args: Any, **kwargs: Any) -> httpx.Response:
        if url == STANDARD_IMAGE_URL:
            return httpx.Response(200, content=image, headers={"content-type": "image/png"})
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(httpx, "get", get)


class TestChatCompactifAIStandardIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatCompactifAI]:
        return ChatCompactifAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # api_key and base_url come from COMPACTIFAI_API_KEY / COMPACTIFAI_BASE_URL.
        return {"model": MODEL, "temperature": 0, "max_retries": 0}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "cai-llama-3-3-70b-slim"

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @pytest.fixture
    def model(self, request: pytest.FixtureRequest) -> BaseChatModel:
        """The standard fixture, on a model that reads images for the image tests."""
        extra_init_params = getattr(request, "param", None) or {}
        params = {**self.standard_chat_model_params, **self.chat_model_params, **extra_init_params}
        if request.node.originalname == "test_image_inputs":
            request.getfixturevalue("standard_image_served_locally")
            params["model"] = VISION_MODEL
        return self.chat_model_class(**params)
