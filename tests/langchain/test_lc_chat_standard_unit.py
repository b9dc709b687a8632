"""LangChain's standard unit suite for ChatCompactifAI (no network)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_compactifai import ChatCompactifAI

MODEL = "cai-llama-3-1-8b-slim"


class TestChatCompactifAIStandardUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatCompactifAI]:
        return ChatCompactifAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL}

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
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "COMPACTIFAI_API_KEY": "env-key",
                "COMPACTIFAI_BASE_URL": "https://api-eu.compactif.ai/v1",
            },
            {"model": MODEL},
            {"api_key": "env-key", "base_url": "https://api-eu.compactif.ai/v1"},
        )
