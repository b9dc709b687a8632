"""What is known about CompactifAI's models, as a fallback to the live catalog.

The live ``GET /models`` list is the truth: models come and go without notice (the
``cai-llama-*-slim`` models and ``deepseek-r1-0528`` were retired in 2026). This table
describes the catalog as served in late 2026 (``service-2026.md`` section 1.1): owner,
parameters, the original each slim model was compressed from, reasoning levels and
tool/image/audio support. A flag the vendor leaves open is ``None``: the server decides. A
model the table does not know gets ``None`` everywhere, never a refusal made up on the client.

Tools: the Mistral models are ``False``: the last word on them is the 2025-08-18 changelog
("function tools on all models except Mistral"); an account whose catalog says otherwise gets
the right answer from the live catalog (``compactifai.profiles``).

Context windows: CompactifAI publishes none. The table carries the upstream model's window
only where that is one exact number for the same weights or a compression of them (131,072
tokens for gpt-oss-120b and hypernova-60b, 128K for Mistral Small 3.1); these are inferred,
not measured on CompactifAI's deployments. Everything else ("about 200K" for GLM 5.x, nothing
at all for the rest) is ``None``: unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_CONTEXT_WINDOW",
    "KNOWN_MODELS",
    "REASONING_EFFORTS",
    "ModelInfo",
    "counterpart",
    "input_kinds",
    "is_slim",
    "model_info",
]

# The flagship slim model today (compressed from gpt-oss-120b; a reasoning model with tools).
DEFAULT_CHAT_MODEL = "hypernova-60b"
# Where the window is unknown and a framework needs a number (LlamaIndex's prompt packing):
# small enough that no served model overflows.
DEFAULT_CONTEXT_WINDOW = 8192
SLIM_OWNER = "multiverse_computing"
# The ``reasoning_effort`` words the API's schema takes (a model implements some of them).
REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class ModelInfo:
    """Known facts about one model; ``None`` means not published (the server decides)."""

    id: str
    owned_by: str | None = None
    parameters_number: str | None = None
    context_window: int | None = None  # None: not known (see the module notes)
    supports_function_calling: bool | None = None
    supports_image: bool | None = None
    original: str | None = None  # for a slim model, the model it was compressed from
    # Audio input (input_audio parts). There is no flag for files (``file`` parts): the
    # server decides which it reads.
    supports_audio: bool | None = None
    # Whether it answers with a reasoning trace, and the reasoning_effort levels it implements.
    reasoning: bool | None = None
    reasoning_efforts: tuple[str, ...] | None = None
    supports_chat_completion: bool | None = True
    supports_responses: bool | None = None

    @property
    def is_slim(self) -> bool:
        return self.original is not None or is_slim(self.id, self.owned_by)


_GPT_OSS_EFFORTS = ("low", "medium", "high")

KNOWN_MODELS: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        ModelInfo(
            "hypernova-60b",
            SLIM_OWNER,
            "60B",
            131_072,
            supports_function_calling=True,
            supports_image=False,
            original="gpt-oss-120b",
            supports_audio=False,
            reasoning=True,
            reasoning_efforts=_GPT_OSS_EFFORTS,
            supports_responses=True,
        ),
        ModelInfo("carina-60b", SLIM_OWNER, "60B"),
        ModelInfo(
            "cai-mistral-small-3-1-slim",
            SLIM_OWNER,
            "12B",
            131_072,
            supports_function_calling=False,
            original="mistral-small-3-1",
            supports_audio=False,
            reasoning=False,
            reasoning_efforts=(),
        ),
        ModelInfo(
            "mistral-small-3-1",
            "mistralai",
            "24B",
            131_072,
            supports_function_calling=False,
            supports_image=True,
            supports_audio=False,
            reasoning=False,
            reasoning_efforts=(),
        ),
        ModelInfo(
            "gpt-oss-120b",
            "openai",
            "117B",
            131_072,
            supports_function_calling=True,
            supports_image=False,
            supports_audio=False,
            reasoning=True,
            reasoning_efforts=_GPT_OSS_EFFORTS,
            supports_responses=True,
        ),
        ModelInfo(
            "glm-5-1",
            "zai-org",
            None,
            None,
            supports_function_calling=True,
            supports_responses=True,
        ),
        ModelInfo("cai-glm-5-1", SLIM_OWNER),
        ModelInfo("glm-5-2", "zai-org", None, supports_function_calling=True),
        ModelInfo("quasar-438b", None, "438B", supports_function_calling=True),
        ModelInfo("qwen-3-6-27b", SLIM_OWNER, "27B"),
        ModelInfo("nemotron-3-nano-omni", "nvidia", "30B", supports_image=True),
        ModelInfo(
            "cai-whisper-large-v3-turbo-slim",
            SLIM_OWNER,
            None,
            supports_function_calling=False,
            supports_image=False,
            original="whisper-large-v3-turbo",
            supports_audio=True,
            reasoning=False,
            reasoning_efforts=(),
            supports_chat_completion=False,
            supports_responses=False,
        ),
    )
}


def is_slim(model_id: str, owned_by: str | None = None) -> bool:
    """A compressed CompactifAI model, judged by the id and owner the catalog reports."""
    known = KNOWN_MODELS.get(model_id)
    if known is not None and known.original is not None:
        return True
    return owned_by == SLIM_OWNER or (model_id.startswith("cai-") and model_id.endswith("-slim"))


def model_info(model_id: str) -> ModelInfo:
    """Known facts about ``model_id``, or ``None`` flags for a model this table does not know."""
    known = KNOWN_MODELS.get(model_id)
    if known is not None:
        return known
    return ModelInfo(model_id, original=_original_from_id(model_id), supports_chat_completion=None)


def input_kinds(model_id: str) -> dict[str, bool]:
    """Which non-text inputs to send ``model_id`` (``images``, ``audio``), for message mapping.

    Only what the table knows a model cannot read is refused; anything else is the server's call.
    """
    info = model_info(model_id)
    return {"images": info.supports_image is not False, "audio": info.supports_audio is not False}


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
