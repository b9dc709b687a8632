"""``llama_index.llms.compactifai``: LlamaIndex's import path for the CompactifAI LLM.

The class lives in :mod:`llama_index_compactifai` (the ``compactifai-integrations`` distribution);
this module only re-exports it so that both import paths give the same class.
"""

from llama_index_compactifai import CompactifAI

__all__ = ["CompactifAI"]
