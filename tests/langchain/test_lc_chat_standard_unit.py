"""LangChain's standard unit suite for ChatCompactifAI (no network)."""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumpd, load
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

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

    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        """The standard test, loading with this class allowed by name.

        The standard body loads with ``allowed_objects="all"``, which admits only the partner
        classes listed in langchain-core's own mapping; a package outside that list is loaded
        the way LangChain documents for it, by naming the class in ``allowed_objects``.
        """
        env_params, _model_params, _expected_attrs = self.init_from_env_params
        with mock.patch.dict(os.environ, env_params):
            ser = dumpd(model)
            assert ser == snapshot(name="serialized")
            loaded = load(
                dumpd(model),
                valid_namespaces=model.get_lc_namespace()[:1],
                allowed_objects=[ChatCompactifAI],
                secrets_from_env=True,
            )
            assert model.dict() == loaded.dict()
