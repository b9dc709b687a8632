"""LangChain's standard integration suite for ChatCompactifAI, replayed from cassettes.

Every test replays HTTP from ``cassettes/test_lc_chat_standard_integration/``; re-record
against the bundled emulator with ``pytest tests/langchain --record-mode=rewrite``. The base
URL and key come from the environment that ``tests/conftest.py`` sets for the session.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_compactifai import ChatCompactifAI

pytestmark = pytest.mark.vcr

MODEL = "cai-llama-3-1-8b-slim"


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
