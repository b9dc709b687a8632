"""Value checks shared by the generation routes (chat, completions, Responses): 400 answers
naming the field."""

from __future__ import annotations

from dataclasses import dataclass

from ._http import (
    ApiError,
)
from .catalog import EmulatedModel
from .conversation import ToolSpec
from .state import EmulatorState

__all__ = [
    "DEFAULT_CHAT_MAX_TOKENS",
    "DEFAULT_COMPLETION_MAX_TOKENS",
    "MAX_TOKENS_LIMIT",
    "EffortField",
    "check_context",
    "check_generation",
    "check_max_tokens",
    "check_sampling",
    "check_tool_choice",
    "model_or_400",
    "reasoning_effort",
    "served_model_or_400",
    "stop_strings",
    "unsupported_input",
    "usage_object",
]

DEFAULT_CHAT_MAX_TOKENS = 256
DEFAULT_COMPLETION_MAX_TOKENS = 16
MAX_TOKENS_LIMIT = 150_000


def served_model_or_400(state: EmulatorState, model_id: str) -> EmulatedModel:
    """The model a body names, if it is served (else 400, in the service's words: the missing
    id and the models available). Each route then checks what the model serves."""
    model = state.model_map.get(model_id)
    if model is None:
        available = ", ".join(state.model_map)
        raise ApiError(
            400, f"Invalid request: Model '{model_id}' not found; available: [{available}]"
        )
    return model


def model_or_400(state: EmulatorState, model_id: str) -> EmulatedModel:
    """The model a body names, if it is served and answers chat/completions (else 400)."""
    model = served_model_or_400(state, model_id)
    if not model.supports_chat_completion:
        raise ApiError(
            400,
            f"Invalid request: Model '{model_id}' does not support chat completions (it is an "
            "audio transcription model: use /v1/audio/transcriptions)"
            if model.supports_audio
            else f"Invalid request: Model '{model_id}' does not support chat completions",
        )
    return model


def check_sampling(temperature: float | None, top_p: float | None, n: int | None) -> None:
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise ApiError(
            400, f"temperature must be between 0 and 2, got {temperature}.", param="temperature"
        )
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ApiError(400, f"top_p must be in (0, 1], got {top_p}.", param="top_p")
    if n is not None and n != 1:
        raise ApiError(
            400, f"n must be 1 (only one completion per request is supported), got {n}.", param="n"
        )


def check_max_tokens(value: int | None, param: str) -> None:
    if value is not None and not 1 <= value <= MAX_TOKENS_LIMIT:
        raise ApiError(
            400, f"{param} must be between 1 and {MAX_TOKENS_LIMIT}, got {value}.", param=param
        )


def check_generation(
    temperature: float | None, top_p: float | None, n: int | None, max_tokens: int | None
) -> None:
    """The settings both generation routes take: sampling (temperature, top_p, n), max_tokens."""
    check_sampling(temperature, top_p, n)
    check_max_tokens(max_tokens, "max_tokens")


def stop_strings(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def check_context(model: EmulatedModel, prompt_tokens: int, requested: int | None) -> None:
    asked = prompt_tokens + (requested or 0)
    if asked > model.context_window:
        raise ApiError(
            400,
            f"This model's maximum context length is {model.context_window} tokens. However, you "
            f"requested {asked} tokens ({prompt_tokens} in the messages, {requested or 0} in the "
            "completion). Please reduce the length of the messages or completion.",
            param="messages",
        )


def usage_object(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def unsupported_input(model: EmulatedModel, kind: str, param: str) -> ApiError:
    """The 400 for content of a ``kind`` (image, audio) the model does not take."""
    return ApiError(400, f"The model `{model.id}` does not support {kind} input.", param=param)


def check_tool_choice(
    model: EmulatedModel, tools: list[ToolSpec], choice: str | None, *, named: bool = False
) -> str | None:
    """``choice`` (``none``/``auto``/``required``, or a function's name when ``named``), if the
    tools and the model allow it (else 400 on ``tool_choice`` or ``tools``)."""
    if named and not any(t.name == choice for t in tools):
        raise ApiError(
            400,
            f"tool_choice names the function `{choice}`, which is not in tools.",
            param="tool_choice",
        )
    if choice == "required" and not tools:
        raise ApiError(400, 'tool_choice "required" needs at least one tool.', param="tool_choice")
    if tools and not model.supports_function_calling:
        raise ApiError(400, f"The model `{model.id}` does not support tool calling.", param="tools")
    return choice


@dataclass(frozen=True)
class EffortField:
    """How a route's request asks for a reasoning effort: the field's name, as the refusal
    names it, and the levels its schema has words for (the routes differ in both: chat's
    ``reasoning_effort`` has OpenAI's 2026 six levels, ``none`` included, while the Responses
    ``reasoning.effort`` still says minimal/low/medium/high; service-2026.md §2.1)."""

    name: str
    levels: tuple[str, ...]


def reasoning_effort(
    model: EmulatedModel,
    requested: str | None,
    field: EffortField,
    *,
    enabled: bool | None = None,
) -> str | None:
    """The effort the answer reasons with (``None``: no reasoning), or the service's 400 for a
    level the model does not implement, naming the ones it does (service-2026.md §2.1: "a
    model that does not support the requested one rejects the request and names the levels it
    does support"; the form is the unknown-model 400's, whose ``param`` is always null).

    ``enabled`` is chat's ``reasoning_enabled`` switch (false: no thinking)."""
    if requested is not None:
        # Asking a model without reasoning for none of it is no contradiction.
        implemented = model.reasoning_efforts if model.supports_reasoning else ("none",)
        supported = [level for level in implemented if level in field.levels]
        if requested not in supported:
            raise ApiError(
                400,
                f"Invalid request: Model '{model.id}' does not support {field.name} "
                f"'{requested}'; supported: [{', '.join(supported)}]",
            )
    if not model.supports_reasoning or enabled is False or requested == "none":
        return None
    return requested or model.default_reasoning_effort
