"""Transport errors re-raised as LangChain's provider-neutral model errors.

Each class below is both the ``compactifai`` error (code catching those keeps working) and
the matching ``langchain_core.exceptions`` ``Model*Error``, which LangChain's retry, fallback
and summarization middleware classify by (``is_retryable``, ``ContextOverflowError``).
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Literal

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

import compactifai

__all__ = [
    "CompactifAIAPIError",
    "CompactifAIAuthenticationError",
    "CompactifAIConnectionError",
    "CompactifAIContextOverflowError",
    "CompactifAIIncompleteStreamError",
    "CompactifAIInvalidRequestError",
    "CompactifAIModelNotFoundError",
    "CompactifAINotFoundError",
    "CompactifAIPermissionDeniedError",
    "CompactifAIRateLimitError",
    "CompactifAITimeoutError",
    "langchain_errors",
]


class CompactifAIAuthenticationError(compactifai.AuthenticationError, ModelAuthenticationError):
    """401: the API key is wrong or revoked."""


class CompactifAIPermissionDeniedError(
    compactifai.PermissionDeniedError, ModelPermissionDeniedError
):
    """403: the key may not use this resource."""


class CompactifAINotFoundError(compactifai.NotFoundError, ModelNotFoundError):
    """404: unknown model or endpoint."""


class CompactifAIInvalidRequestError(compactifai.BadRequestError, ModelInvalidRequestError):
    """400/422: the server rejected the request."""


class CompactifAIModelNotFoundError(
    compactifai.ModelNotFoundError, ModelNotFoundError, ModelInvalidRequestError
):
    """400: the request named a model the server does not serve (withdrawn); ``.model`` and
    ``.available`` (the ids served now) say what to use instead."""


class CompactifAIContextOverflowError(compactifai.BadRequestError, ContextOverflowError):
    """400: the input is longer than the model's context window."""


class CompactifAIRateLimitError(compactifai.RateLimitError, ModelRateLimitError):
    """429 after the client's own retries."""


class CompactifAIAPIError(compactifai.InternalServerError, ModelAPIError):
    """5xx after the client's own retries."""


class CompactifAITimeoutError(compactifai.APITimeoutError, ModelTimeoutError):
    """The request timed out after the client's own retries."""


class CompactifAIConnectionError(compactifai.APIConnectionError, ModelConnectionError):
    """The server could not be reached after the client's own retries."""


class CompactifAIIncompleteStreamError(compactifai.IncompleteStreamError, ModelConnectionError):
    """A stream broke before its end; the chunks received were already yielded."""


_CONTEXT_OVERFLOW = re.compile(
    r"context (length|window)|maximum context|too many (input )?tokens|prompt is too long",
    re.IGNORECASE,
)

# Most specific first: APITimeoutError is an APIConnectionError.
_TRANSLATIONS: tuple[tuple[type[compactifai.CompactifAIError], type[Exception]], ...] = (
    (compactifai.ModelNotFoundError, CompactifAIModelNotFoundError),
    (compactifai.AuthenticationError, CompactifAIAuthenticationError),
    (compactifai.PermissionDeniedError, CompactifAIPermissionDeniedError),
    (compactifai.NotFoundError, CompactifAINotFoundError),
    (compactifai.RateLimitError, CompactifAIRateLimitError),
    (compactifai.InternalServerError, CompactifAIAPIError),
    (compactifai.APITimeoutError, CompactifAITimeoutError),
    (compactifai.APIConnectionError, CompactifAIConnectionError),
    (compactifai.IncompleteStreamError, CompactifAIIncompleteStreamError),
)


def _translated(error: compactifai.CompactifAIError) -> Exception | None:
    if isinstance(error, ModelError):
        return None  # already translated
    target: type[Exception] | None = None
    if isinstance(error, compactifai.BadRequestError) and not isinstance(
        error, compactifai.ModelNotFoundError
    ):
        target = (
            CompactifAIContextOverflowError
            if _CONTEXT_OVERFLOW.search(error.message)
            else CompactifAIInvalidRequestError
        )
    else:
        target = next((t for s, t in _TRANSLATIONS if isinstance(error, s)), None)
    if target is None:
        return None
    # Same message and attributes (status, request id, body...), without re-running __init__.
    translated = target.__new__(target, *error.args)
    translated.__dict__.update(error.__dict__)
    return translated


class _LangChainErrors:
    """The context manager of :func:`langchain_errors`: stateless, so one instance serves every
    call (a generator-based one would be two more objects alive for each call in flight)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if isinstance(error, compactifai.CompactifAIError):
            translated = _translated(error)
            if translated is not None:
                raise translated from error
        return False


_LANGCHAIN_ERRORS = _LangChainErrors()


def langchain_errors() -> _LangChainErrors:
    """Re-raise server and network errors as their LangChain-classified subclasses.

    Errors raised before sending (``RequestValidationError``, ``MissingAPIKeyError``) pass
    through unchanged.
    """
    return _LANGCHAIN_ERRORS
