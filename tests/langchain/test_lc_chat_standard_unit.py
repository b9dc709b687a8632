"""LangChain's standard unit suite for ChatCompactifAI (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_compactifai import ChatCompactifAI

MODEL = "hypernova-60b"


class TestChatCompactifAIStandardUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatCompactifAI]:
        return ChatCompactifAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # Fixed connection settings: the serialized snapshot must not depend on whether the
        # session replays cassettes or records against a live emulator.
        return {
            "model": MODEL,
            "api_key": "unit-test-key",
            "base_url": "https://api.compactif.ai/v1",
        }

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
        return "gpt-oss-120b"

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

    @pytest.mark.xfail(
        raises=ValueError,
        strict=True,
        reason=(
            "the standard body loads with allowed_objects='all', which admits only the partner "
            "classes listed in langchain-core's own mapping; dumpd matches the snapshot, and "
            "tests/langchain/test_lc_llms.py loads both models with allowed_objects=[...] "
            "as LangChain documents for packages outside that mapping"
        ),
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)


class TestChatCompactifAIResponsesStandardUnit(TestChatCompactifAIStandardUnit):
    """The same suite with ``use_responses_api=True`` (and its own serialization snapshot)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "use_responses_api": True}
