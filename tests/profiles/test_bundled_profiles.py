"""Every model of the bundled table gets a LangChain profile and LlamaIndex metadata that say
exactly what the table knows, and nothing it does not (driven from the table itself)."""

from __future__ import annotations

import warnings
from typing import Any, get_type_hints

import pytest
from langchain_core.language_models.model_profile import ModelProfile

from compactifai.catalog import DEFAULT_CONTEXT_WINDOW, KNOWN_MODELS, ModelInfo
from compactifai.emulator.catalog import load_catalog
from compactifai.profiles import MAX_OUTPUT_TOKENS
from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

KEY = "sk-profiles"
MODELS = sorted(KNOWN_MODELS.values(), key=lambda info: info.id)
# Flags of the table and the profile keys each one decides.
FLAG_KEYS = {
    "supports_function_calling": ("tool_calling", "tool_choice", "tool_call_streaming"),
    "supports_image": ("image_inputs", "image_url_inputs"),
    "supports_audio": ("audio_inputs",),
    "reasoning": ("reasoning_output",),
}


@pytest.mark.parametrize("info", MODELS, ids=lambda info: info.id)
def test_langchain_profile_says_what_the_table_knows(info: ModelInfo) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # langchain-core warns on keys ModelProfile lacks
        profile: dict[str, Any] = dict(ChatCompactifAI(model=info.id, api_key=KEY).profile or {})
    assert set(profile) <= set(get_type_hints(ModelProfile))
    for flag, keys in FLAG_KEYS.items():
        known = getattr(info, flag)
        for key in keys:
            if known is None:
                assert key not in profile, (info.id, key)
            else:
                assert profile[key] is known, (info.id, key)
    if info.context_window is None:
        assert "max_input_tokens" not in profile
        assert profile["max_output_tokens"] == MAX_OUTPUT_TOKENS
    else:
        assert profile["max_input_tokens"] == info.context_window
        assert profile["max_output_tokens"] == min(MAX_OUTPUT_TOKENS, info.context_window)
    assert profile.get("reasoning_effort_levels", []) == list(info.reasoning_efforts or ())
    assert profile["structured_output"] is (info.supports_chat_completion is not False)


@pytest.mark.parametrize("info", MODELS, ids=lambda info: info.id)
def test_llama_index_metadata_says_what_the_table_knows(info: ModelInfo) -> None:
    meta = CompactifAI(model=info.id, api_key=KEY).metadata
    assert meta.model_name == info.id
    assert meta.context_window == (info.context_window or DEFAULT_CONTEXT_WINDOW)
    assert meta.is_function_calling_model is (info.supports_function_calling is True)
    assert meta.is_chat_model is (info.supports_chat_completion is not False)


def test_the_table_knows_which_models_lack_tools() -> None:
    lacking = {i.id for i in MODELS if i.supports_function_calling is False}
    assert lacking == {
        "mistral-small-3-1",
        "cai-mistral-small-3-1-slim",
        "cai-whisper-large-v3-turbo-slim",
    }


@pytest.mark.parametrize("info", MODELS, ids=lambda info: info.id)
def test_the_emulators_catalog_agrees_with_the_table(info: ModelInfo) -> None:
    served = {m.id: m for m in load_catalog("current").models}[info.id]
    for flag in ("supports_function_calling", "supports_image", "supports_audio"):
        if getattr(info, flag) is not None:
            assert getattr(served, flag) is getattr(info, flag), flag
    if info.supports_chat_completion is not None:
        assert served.supports_chat_completion is info.supports_chat_completion
    if info.reasoning is not None:
        assert served.supports_reasoning is info.reasoning
    if info.context_window is not None:
        assert served.context_window == info.context_window


def test_a_profile_passed_in_wins() -> None:
    mine: ModelProfile = {"tool_calling": True, "max_input_tokens": 32_000}
    model = ChatCompactifAI(model="mistral-small-3-1", api_key=KEY, profile=mine)
    assert model.profile == mine
    model.bind_tools([{"type": "function", "function": {"name": "f", "parameters": {}}}])
    meta = CompactifAI(
        model="mistral-small-3-1", api_key=KEY, context_window=4096, is_function_calling_model=True
    ).metadata
    assert (meta.context_window, meta.is_function_calling_model) == (4096, True)
