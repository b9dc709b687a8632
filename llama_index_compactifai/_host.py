"""What the mixins of ``CompactifAI`` (Batch API, Responses API) need of the LLM.

A ``Protocol``, so that a mixin's module imports nothing from ``base`` (which imports the
mixins); ``base`` has mypy check the LLM against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from llama_index.core.base.llms.types import ChatMessage

from compactifai._holder import HoldsClients

__all__ = ["LLMHost"]


class LLMHost(HoldsClients, Protocol):
    """The LLM's clients (``HoldsClients``), its Responses API conversation settings, and the
    body ``chat`` would send."""

    track_previous_responses: bool
    previous_response_id: str | None

    def _chat_params(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> dict[str, Any]: ...
