"""How one ``GET /models`` item becomes capabilities: its flags win, what it leaves out is
false (the service's advice), and what it never carries comes from the bundled table."""

from __future__ import annotations

from compactifai.profiles import bundled_capabilities, capabilities_from_listing, profile
from compactifai.types import Model


def test_flags_of_the_listing_win_and_missing_ones_are_false() -> None:
    item = Model.model_validate(
        {"id": "mistral-small-3-1", "capabilities": {"supports_function_calling": True}}
    )
    caps = capabilities_from_listing(item)
    assert caps.tool_calling is True  # the table says False
    assert caps.image_inputs is False  # left out of the listing: false, not the table's True
    assert caps.chat_completion is True  # the one flag that defaults to true
    assert caps.context_window == 131_072 and caps.reasoning_output is False  # from the table
    assert caps.source == "the live model catalog"


def test_a_listing_without_flags_keeps_the_tables() -> None:
    caps = capabilities_from_listing(Model.model_validate({"id": "hypernova-60b"}))
    assert profile(caps) == profile(bundled_capabilities("hypernova-60b"))


def test_a_reasoning_flag_is_read_should_the_service_add_one() -> None:
    item = Model.model_validate(
        {"id": "qwen-3-6-27b", "capabilities": {"supports_reasoning": True}}
    )
    assert bundled_capabilities("qwen-3-6-27b").reasoning_output is None
    assert profile(capabilities_from_listing(item))["reasoning_output"] is True


def test_the_transcription_model_has_no_chat_and_no_structured_output() -> None:
    item = Model.model_validate(
        {
            "id": "cai-whisper-large-v3-turbo-slim",
            "capabilities": {"supports_audio": True, "support_chat_completion": False},
        }
    )
    result = profile(capabilities_from_listing(item))
    assert result["structured_output"] is False and result["audio_inputs"] is True
