"""CompactifAI's compressed ("slim") LLMs for LlamaIndex."""

from llama_index_compactifai.base import CompactifAI

__all__ = ["CompactifAI"]
