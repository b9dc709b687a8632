"""What the mixins of ``ChatCompactifAI`` (Batch API, Responses API) need of the model.

A ``Protocol``, so that a mixin's module imports nothing from ``chat_models`` (which imports
the mixins); ``chat_models`` has mypy check the model against it.
"""

from __future__ import annotations

from typing import Any, Protocol

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue

from compactifai._holder import HoldsClients

__all__ = ["ChatModelHost"]


class ChatModelHost(HoldsClients, Protocol):
    """The model's clients (``HoldsClients``), its extra body fields, and the body ``invoke`` would send."""

    @property
    def model_kwargs(self) -> dict[str, Any]: ...
    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue: ...
    def _request_params(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool = False,
    ) -> dict[str, Any]: ...
