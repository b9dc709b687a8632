"""A small typed client for the CompactifAI API, shared by the LangChain and LlamaIndex integrations."""

from compactifai._client import (
    DEFAULT_BASE_URL,
    AsyncCompactifAIClient,
    CompactifAIClient,
)
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
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
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
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "RetryPolicy",
    "__version__",
]
