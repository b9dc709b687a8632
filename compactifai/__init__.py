"""A small typed client for the CompactifAI API, shared by the LangChain and LlamaIndex integrations."""

from typing import TYPE_CHECKING, Any

from compactifai._defaults import DEFAULT_BASE_URL
from compactifai._protocol import RetryPolicy
from compactifai._version import __version__
from compactifai.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CompactifAIError,
    IncompleteStreamError,
    InternalServerError,
    MissingAPIKeyError,
    ModelCapabilityError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ToolCallingNotSupportedError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCompactifAIClient",
    "AuthenticationError",
    "BadRequestError",
    "CompactifAIClient",
    "CompactifAIError",
    "IncompleteStreamError",
    "InternalServerError",
    "MissingAPIKeyError",
    "ModelCapabilityError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "RetryPolicy",
    "ToolCallingNotSupportedError",
    "__version__",
]

if TYPE_CHECKING:
    from compactifai._client import AsyncCompactifAIClient, CompactifAIClient


def __getattr__(name: str) -> Any:
    # The clients (and httpx with them) load on first use: importing an integration's module
    # stays cheap for applications that build their models later.
    if name in ("CompactifAIClient", "AsyncCompactifAIClient"):
        from compactifai import _client

        return getattr(_client, name)
    raise AttributeError(f"module 'compactifai' has no attribute {name!r}")
