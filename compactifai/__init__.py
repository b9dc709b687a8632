"""A small typed client for the CompactifAI API, shared by the LangChain and LlamaIndex integrations."""

from typing import TYPE_CHECKING, Any

from compactifai import errors
from compactifai._defaults import DEFAULT_BASE_URL
from compactifai._protocol import RetryPolicy
from compactifai._version import __version__
from compactifai.audio import Transcription, TranscriptionSegment, TranscriptionWord
from compactifai.errors import *  # noqa: F403  (the exception types, listed in errors.__all__)

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncCompactifAIClient",
    "CompactifAIClient",
    "RetryPolicy",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionWord",
    "__version__",
]
__all__ += errors.__all__

if TYPE_CHECKING:
    from compactifai._client import AsyncCompactifAIClient, CompactifAIClient


def __getattr__(name: str) -> Any:
    # The clients (and httpx with them) load on first use: importing an integration's module
    # stays cheap for applications that build their models later.
    if name in ("CompactifAIClient", "AsyncCompactifAIClient"):
        from compactifai import _client

        return getattr(_client, name)
    raise AttributeError(f"module 'compactifai' has no attribute {name!r}")
