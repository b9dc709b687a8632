"""Connection settings and lazily created transport clients, shared by the chat model and LLM."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import LangSmithParams
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from compactifai._defaults import (
    API_KEY_ENV,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    env_base_url,
)
from compactifai._holder import ClientHolder, api_key_from_env
from compactifai._httpx_fields import HttpxAsyncClient, HttpxClient, HttpxTimeout
from langchain_compactifai._messages import PROVIDER

if TYPE_CHECKING:
    from compactifai._lazy_clients import LazyClients

__all__ = ["CompactifAIConnection", "langsmith_params"]


class CompactifAIConnection(ClientHolder, BaseModel):
    """Fields that say where and how to reach the API; one client pair per model object."""

    # defer_build: the models' validators are built when the first one is created, not at import
    # (building them was most of what importing langchain_compactifai added to langchain_core).
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, defer_build=True)

    api_key: SecretStr | None = Field(default_factory=api_key_from_env)
    """API key; read from ``COMPACTIFAI_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=env_base_url)
    """API base URL; ``COMPACTIFAI_BASE_URL`` or ``https://api.compactif.ai/v1``."""
    timeout: float | HttpxTimeout | None = DEFAULT_TIMEOUT
    """Request timeout in seconds (or an ``httpx.Timeout``); ``None`` waits forever."""
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    """Retries of connection failures, 429 and 5xx answers (with backoff)."""
    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""
    http_client: HttpxClient | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send sync requests with (the caller closes it)."""
    http_async_client: HttpxAsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send async requests with (the caller closes it)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body fields sent with every request (e.g. ``reasoning_effort``)."""

    _lazy_clients: LazyClients | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Unknown constructor arguments become ``model_kwargs`` (with a warning)."""
        if not isinstance(values, dict):
            return values
        known = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        if not extra:
            return values
        model_kwargs = dict(values.get("model_kwargs") or {})
        for name, value in extra.items():
            if name in model_kwargs:
                raise ValueError(f"{name} was given both directly and in model_kwargs")
            warnings.warn(
                f"{name} is not a field of {cls.__name__}; sending it as a request body "
                "field via model_kwargs.",
                UserWarning,
                stacklevel=4,
            )
            model_kwargs[name] = value
        return {**{k: v for k, v in values.items() if k in known}, "model_kwargs": model_kwargs}

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": API_KEY_ENV}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Chains holding this model serialize with ``dumpd`` (the key as a secret reference)."""
        return True

    @property
    def _default_params(self) -> dict[str, Any]:
        """Body fields set on this object (None and empty values left out)."""
        raise NotImplementedError

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return self._default_params

    def get_num_tokens(self, text: str) -> int:
        """Approximate token count (about four characters a token).

        The API publishes no tokenizer; exact counts come back as usage on every response.
        """
        return -(-len(text) // 4)


def langsmith_params(
    model_type: Literal["chat", "llm"],
    model: str,
    temperature: float | None,
    max_tokens: int | None,
    stop: str | list[str] | None,
) -> LangSmithParams:
    """LangSmith's standard run metadata (``ls_provider="compactifai"`` and the settings used)."""
    params = LangSmithParams(ls_provider=PROVIDER, ls_model_name=model, ls_model_type=model_type)
    if temperature is not None:
        params["ls_temperature"] = temperature
    if max_tokens:
        params["ls_max_tokens"] = max_tokens
    if stop:
        params["ls_stop"] = [stop] if isinstance(stop, str) else list(stop)
    return params
