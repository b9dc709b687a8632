"""CompactifAI's compressed ("slim") LLMs for LlamaIndex, and its slim Whisper as an audio reader."""

from llama_index_compactifai.base import CompactifAI
from llama_index_compactifai.readers import CompactifAIAudioReader

__all__ = ["CompactifAI", "CompactifAIAudioReader"]
