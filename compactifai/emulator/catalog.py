"""The models the emulator serves: the nine of the vendor's reference page.

Each entry carries what ``GET /v1/models`` publishes (``id``, ``created``, ``owned_by``,
``parameters_number``) plus capability flags the emulator enforces (image input, audio input,
tool calling) and a context window used to reject prompts that would not fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MODELS", "EmulatedModel", "models_by_id"]


@dataclass(frozen=True)
class EmulatedModel:
    id: str
    owned_by: str
    parameters_number: str
    created: int = 1749600000
    context_window: int = 131_072
    supports_function_calling: bool = True
    supports_image: bool = False
    supports_audio: bool = False
    supports_reasoning: bool = False

    def to_json(self) -> dict[str, Any]:
        """The model object as ``GET /v1/models`` lists it."""
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "parameters_number": self.parameters_number,
        }


_SLIM = "multiverse_computing"

DEFAULT_MODELS: tuple[EmulatedModel, ...] = (
    EmulatedModel(
        "deepseek-r1-0528", "deepseek-ai", "685B", created=1751363276, supports_reasoning=True
    ),
    EmulatedModel("llama-4-scout", "meta", "108B", supports_image=True),
    EmulatedModel("cai-llama-4-scout-slim", _SLIM, "51.8B", supports_image=True),
    EmulatedModel("cai-llama-3-1-8b-slim", _SLIM, "3.28B"),
    EmulatedModel("llama-3-1-8b", "meta", "8B"),
    EmulatedModel("cai-llama-3-3-70b-slim", _SLIM, "28B"),
    EmulatedModel("llama-3-3-70b", "meta", "70B"),
    EmulatedModel("mistral-small-3-1", "mistralai", "24B", supports_image=True),
    EmulatedModel("cai-mistral-small-3-1-slim", _SLIM, "12B", supports_image=True),
)


def models_by_id(models: Iterable[EmulatedModel] | None = None) -> Mapping[str, EmulatedModel]:
    """An id -> model mapping, in catalog order."""
    return {m.id: m for m in (DEFAULT_MODELS if models is None else models)}
