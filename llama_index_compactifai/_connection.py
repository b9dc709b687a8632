"""The key and base URL fields every CompactifAI LlamaIndex component declares the same way."""

from __future__ import annotations

from llama_index.core.bridge.pydantic import BaseModel, Field, SecretStr

from compactifai._defaults import env_base_url
from compactifai._holder import api_key_from_env

__all__ = ["ConnectionFields"]


class ConnectionFields(BaseModel):
    """Where the API is and the key to it: read from the environment when not given, the key
    never serialized nor shown in ``repr``."""

    api_key: SecretStr | None = Field(
        default_factory=api_key_from_env,
        exclude=True,
        repr=False,
        description="API key; read from COMPACTIFAI_API_KEY when not given.",
    )
    base_url: str | None = Field(
        default_factory=env_base_url,
        description="API base URL; COMPACTIFAI_BASE_URL or https://api.compactif.ai/v1.",
    )
