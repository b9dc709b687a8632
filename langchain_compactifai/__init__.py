"""CompactifAI's compressed ("slim") LLMs for LangChain: ``ChatCompactifAI`` and ``CompactifAI``,
and ``CompactifAIWhisperParser`` (audio files as documents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_compactifai.chat_models import ChatCompactifAI

if TYPE_CHECKING:
    from langchain_compactifai.document_loaders import CompactifAIWhisperParser
    from langchain_compactifai.llms import CompactifAI

__all__ = ["ChatCompactifAI", "CompactifAI", "CompactifAIWhisperParser"]


def __getattr__(name: str) -> Any:
    # The completion LLM is imported on first use: langchain_core's BaseLLM module brings yaml
    # and tenacity, which a chat-model application never needs (a fifth of our import time).
    if name == "CompactifAI":
        from langchain_compactifai.llms import CompactifAI

        globals()["CompactifAI"] = CompactifAI
        return CompactifAI
    if name == "CompactifAIWhisperParser":
        from langchain_compactifai.document_loaders import CompactifAIWhisperParser

        globals()["CompactifAIWhisperParser"] = CompactifAIWhisperParser
        return CompactifAIWhisperParser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
