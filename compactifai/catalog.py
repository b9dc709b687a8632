"""What is known about CompactifAI's models, as a fallback to the live catalog.

The live ``GET /models`` list is the truth: models come and go (several ``cai-llama-*-slim``
models were retired in 2026). This table only supplies facts the API does not publish,
such as context windows (taken from the upstream open models) and tool-calling support,
and pairs each slim model with the original it was compressed from. Unknown models get
safe defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_CONTEXT_WINDOW",
    "KNOWN_MODELS",
    "ModelInfo",
    "counterpart",
    "input_kinds",
    "is_slim",
    "model_info",
]

DEFAULT_CHAT_MODEL = "cai-llama-3-1-8b-slim"
# For a model this table does not know: small enough that prompt packing never overflows.
DEFAULT_CONTEXT_WINDOW = 8192
SLIM_OWNER = "multiverse_computing"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str | None = None
    parameters_number: str | None = None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    supports_function_calling: bool = True
    supports_image: bool = False
    original: str | None = None  # for a slim model, the model it was compressed from
    # Audio input (input_audio parts): no model in the catalog takes it today.
    # There is no flag for files (``file`` parts): the server decides which it reads.
    supports_audio: bool = False

    @property
    def is_slim(self) -> bool:
        return self.original is not None or is_slim(self.id, self.owned_by)


KNOWN_MODELS: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        ModelInfo("deepseek-r1-0528", "deepseek-ai", "685B", 131_072, True),
        ModelInfo("llama-4-scout", "meta", "108B", 131_072, True, supports_image=True),
        ModelInfo(
            "cai-llama-4-scout-slim", SLIM_OWNER, "51.8B", 131_072, True, True, "llama-4-scout"
        ),
        ModelInfo("llama-3-1-8b", "meta", "8B", 131_072, True),
        ModelInfo(
            "cai-llama-3-1-8b-slim", SLIM_OWNER, "3.28B", 131_072, True, False, "llama-3-1-8b"
        ),
        ModelInfo("llama-3-3-70b", "meta", "70B", 131_072, True),
        ModelInfo(
            "cai-llama-3-3-70b-slim", SLIM_OWNER, "28B", 131_072, True, False, "llama-3-3-70b"
        ),
        ModelInfo("mistral-small-3-1", "mistralai", "24B", 131_072, True, supports_image=True),
        ModelInfo(
            "cai-mistral-small-3-1-slim",
            SLIM_OWNER,
            "12B",
            131_072,
            True,
            True,
            "mistral-small-3-1",
        ),
        ModelInfo("gpt-oss-120b", "openai", "120B", 131_072, True),
        ModelInfo("hypernova-60b", SLIM_OWNER, "60B", 131_072, True, False, "gpt-oss-120b"),
    )
}


def is_slim(model_id: str, owned_by: str | None = None) -> bool:
    """A compressed CompactifAI model, judged by the id and owner the catalog reports."""
    known = KNOWN_MODELS.get(model_id)
    if known is not None and known.original is not None:
        return True
    return owned_by == SLIM_OWNER or (model_id.startswith("cai-") and model_id.endswith("-slim"))


def model_info(model_id: str) -> ModelInfo:
    """Known facts about ``model_id``, or safe defaults for a model this table does not know."""
    known = KNOWN_MODELS.get(model_id)
    if known is not None:
        return known
    return ModelInfo(model_id, original=_original_from_id(model_id))


def input_kinds(model_id: str) -> dict[str, bool]:
    """Which non-text inputs to send ``model_id`` (``images``, ``audio``), for message mapping.

    A model the catalog does not know gets everything: the server decides.
    """
    known = KNOWN_MODELS.get(model_id)
    if known is None:
        return {"images": True, "audio": True}
    return {"images": known.supports_image, "audio": known.supports_audio}


def _original_from_id(model_id: str) -> str | None:
    if model_id.startswith("cai-") and model_id.endswith("-slim"):
        return model_id[len("cai-") : -len("-slim")]
    return None


def counterpart(model_id: str, available: Iterable[str] | None = None) -> str | None:
    """The slim model of an original, or the original of a slim model.

    ``available`` (ids from the live catalog) restricts the answer to models that exist now.
    """
    ids = set(available) if available is not None else set(KNOWN_MODELS)
    info = model_info(model_id)
    if info.original is not None:
        return info.original if info.original in ids else None
    candidates = [f"cai-{model_id}-slim"] + [
        other.id for other in KNOWN_MODELS.values() if other.original == model_id
    ]
    return next((c for c in candidates if c in ids), None)
