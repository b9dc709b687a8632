"""LangChain's standard integration suite for ChatCompactifAI, replayed from cassettes.

Every test replays HTTP from ``cassettes/test_lc_chat_standard_integration/``; re-record
against the bundled emulator with ``pytest tests/langchain --record-mode=rewrite``. The base
URL and key come from the environment that ``tests/conftest.py`` sets for the session.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Literal

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests

from compactifai.catalog import DEFAULT_CHAT_MODEL
from langchain_compactifai import ChatCompactifAI

pytestmark = pytest.mark.vcr

# The suite runs on the default model (a reasoning model) as a new user gets it.
assert DEFAULT_CHAT_MODEL == "hypernova-60b"
# hypernova-60b does not read images; the image tests run on a model of today's catalog that does.
VISION_MODEL = "mistral-small-3-1"
# The standard image and PDF tests download these; tests run offline, so they are served locally.
STANDARD_IMAGE_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/"
    "4d11d08b6b0e210bd456943f7a22febbd168b543/src/images/agentic-rag-output.png"
)
STANDARD_PDF_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"


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


def _pdf(text: str) -> bytes:
    """A one-page PDF showing ``text``, byte for byte the same on every run."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _serve_locally(monkeypatch: pytest.MonkeyPatch, url: str, response: httpx.Response) -> None:
    """``httpx.get(url)`` (how the standard tests download their inputs) answers ``response``."""
    real_get = httpx.get

    def get(requested: str, *args: Any, **kwargs: Any) -> httpx.Response:
        if requested == url:
            return response
        return real_get(requested, *args, **kwargs)

    monkeypatch.setattr(httpx, "get", get)


@pytest.fixture
def standard_image_served_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    image = httpx.Response(200, content=_png(16, 16), headers={"content-type": "image/png"})
    _serve_locally(monkeypatch, STANDARD_IMAGE_URL, image)


@pytest.fixture
def standard_pdf_served_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = _pdf("Dummy PDF file")
    response = httpx.Response(200, content=pdf, headers={"content-type": "application/pdf"})
    _serve_locally(monkeypatch, STANDARD_PDF_URL, response)


class TestChatCompactifAIStandardIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatCompactifAI]:
        return ChatCompactifAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # api_key and base_url come from COMPACTIFAI_API_KEY / COMPACTIFAI_BASE_URL.
        return {"temperature": 0, "max_retries": 0}

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
    def supported_usage_metadata_details(
        self,
    ) -> dict[
        Literal["invoke", "stream"],
        list[
            Literal[
                "audio_input",
                "audio_output",
                "reasoning_output",
                "cache_read_input",
                "cache_creation_input",
            ]
        ],
    ]:
        # hypernova-60b counts its reasoning tokens (usage.completion_tokens_details).
        return {"invoke": ["reasoning_output"], "stream": ["reasoning_output"]}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = ChatCompactifAI(temperature=0, max_retries=0, reasoning_effort="high")
        prompt = "Think it through: which is larger, 9.11 or 9.9?"
        if not stream:
            return model.invoke(prompt)
        total: AIMessageChunk | None = None
        for chunk in model.stream(prompt):
            total = chunk if total is None else total + chunk
        assert total is not None
        return total

    @property
    def model_override_value(self) -> str:
        return "gpt-oss-120b"

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        # No catalog flag for files: every model is sent them and the server decides.
        return True

    # supports_audio_inputs stays off: no catalog model reads audio (mapping: unit tests).

    @pytest.fixture
    def model(self, request: pytest.FixtureRequest) -> BaseChatModel:
        """The standard fixture; the image and PDF tests get their inputs served locally,
        and the image test runs on a model that reads images."""
        extra_init_params = getattr(request, "param", None) or {}
        params = {**self.standard_chat_model_params, **self.chat_model_params, **extra_init_params}
        if request.node.originalname == "test_image_inputs":
            request.getfixturevalue("standard_image_served_locally")
            params["model"] = VISION_MODEL
        elif request.node.originalname == "test_pdf_inputs":
            request.getfixturevalue("standard_pdf_served_locally")
        return self.chat_model_class(**params)


class TestChatCompactifAIResponsesStandardIntegration(TestChatCompactifAIStandardIntegration):
    """The same suite with ``use_responses_api=True``: every call goes to ``POST /responses``
    (cassettes of its own, ``TestChatCompactifAIResponsesStandardIntegration.*.yaml``)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "use_responses_api": True}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = ChatCompactifAI(
            temperature=0, max_retries=0, reasoning_effort="high", use_responses_api=True
        )
        prompt = "Think it through: which is larger, 9.11 or 9.9?"
        if not stream:
            return model.invoke(prompt)
        total: AIMessageChunk | None = None
        for chunk in model.stream(prompt):
            total = chunk if total is None else total + chunk
        assert total is not None
        return total

    @property
    def supports_image_inputs(self) -> bool:
        # The models that serve /v1/responses (hypernova-60b, gpt-oss-120b, glm-5-1) read no
        # images; how images are put in Responses input is checked in test_lc_responses.py.
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False
