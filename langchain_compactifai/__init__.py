"""CompactifAI's compressed ("slim") LLMs for LangChain: ``ChatCompactifAI`` and ``CompactifAI``."""

from langchain_compactifai.chat_models import ChatCompactifAI
from langchain_compactifai.llms import CompactifAI

__all__ = ["ChatCompactifAI", "CompactifAI"]
