"""Typed errors raised by the CompactifAI clients.

Every failure of the server or the network surfaces as a subclass of :class:`CompactifAIError`
carrying what a user needs to act on it: the HTTP status, the server's message and the
``x-request-id`` to quote to support. Bad input is rejected before anything is sent with a
:class:`RequestValidationError` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The exception types: ``compactifai`` re-exports exactly these (the helpers below are the
# clients' own).
__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
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
    "ToolCallingNotSupportedError",
]

EXCERPT_LENGTH = 200


class CompactifAIError(Exception):
    """Base class of every error this package raises."""


class RequestValidationError(CompactifAIError, ValueError):
    """A request parameter the API would reject; raised before anything is sent."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"Invalid value for '{field}': {reason}")


class ToolCallingNotSupportedError(CompactifAIError, ValueError):
    """Tools were offered to a model whose capabilities say it cannot call them; raised
    before anything is sent. ``models_with_tools`` are the ids known to support tools."""

    def __init__(
        self, model: str, models_with_tools: list[str], *, source: str, hint: str = ""
    ) -> None:
        self.model = model
        self.models_with_tools = models_with_tools
        served = ", ".join(models_with_tools) if models_with_tools else "none known"
        super().__init__(
            f"Model {model!r} does not support tool calling (per {source}). "
            f"Models that do: {served}.{' ' + hint if hint else ''}"
        )


class MissingAPIKeyError(CompactifAIError):
    """No API key was configured when a request had to be sent."""

    def __init__(self) -> None:
        super().__init__(
            "No CompactifAI API key is set. Pass api_key=... or set the COMPACTIFAI_API_KEY "
            "environment variable (get a key at https://compactif.ai)."
        )


class APIConnectionError(CompactifAIError):
    """The server could not be reached, or the connection failed before a full answer."""

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.request_id = request_id
        self.attempts = attempts
        if attempts > 1:
            message = f"{message} (gave up after {attempts} attempts)"
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""


class IncompleteStreamError(CompactifAIError):
    """A stream ended or broke before the server's ``data: [DONE]`` marker.

    The chunks received before the break were already delivered; this error makes sure a
    truncated answer is never mistaken for a complete one.
    """

    def __init__(
        self, message: str, *, request_id: str | None = None, chunks_received: int = 0
    ) -> None:
        self.request_id = request_id
        self.chunks_received = chunks_received
        super().__init__(f"{message} (received {chunks_received} chunks, request id: {request_id})")


class APIResponseValidationError(CompactifAIError):
    """The server answered with a body this client cannot read (malformed JSON, wrong type)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None,
        body: str,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        super().__init__(
            f"{message} (status {status_code}, request id: {request_id}); body starts with: {body!r}"
        )


class APIStatusError(CompactifAIError):
    """The server answered with a non-success HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.request_id = request_id
        self.body = body
        self.attempts = attempts
        text = f"Error code: {status_code} - {message} (request id: {request_id})"
        if attempts > 1:
            text += f" (gave up after {attempts} attempts)"
        super().__init__(text)


class BadRequestError(APIStatusError):
    """400 or 422: the server rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: unknown model or endpoint."""


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically up to ``max_retries``."""


class InternalServerError(APIStatusError):
    """5xx: the server or a gateway in front of it failed; retried automatically."""


_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "..."


def error_message_from_body(body: Any, raw_text: str) -> str:
    """The human message of an error body, whichever of the service's three shapes it has.

    ``{"error": {"message": ...}}`` (documented), ``{"detail": "..."}`` (bad key) and
    ``{"detail": [{"loc": [...], "msg": ...}]}`` (validation); anything else (an HTML page
    from a proxy, plain text) is summarised by an excerpt.
    """
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list) and detail:
            parts = []
            for item in detail:
                if isinstance(item, Mapping):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    msg = str(item.get("msg", ""))
                    parts.append(f"{loc}: {msg}" if loc else msg)
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return _excerpt(raw_text) if raw_text.strip() else "(empty body)"


def status_error_from_response(
    status_code: int,
    content: bytes,
    request_id: str | None,
    *,
    attempts: int = 1,
    not_found_message: str | None = None,
) -> APIStatusError:
    """Build the typed error for a non-success response (pure: no I/O)."""
    raw_text = content.decode("utf-8", errors="replace")
    body: Any
    try:
        body = json.loads(raw_text) if raw_text.strip() else None
    except ValueError:
        body = _excerpt(raw_text)
    message = error_message_from_body(body, raw_text)
    if status_code == 404 and not_found_message:
        message = f"{not_found_message} Server said: {message}"
    cls = _STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(
        message, status_code=status_code, request_id=request_id, body=body, attempts=attempts
    )


class ModelNotFoundError(BadRequestError):
    """400: the request named a model this server does not serve (now: models are withdrawn
    without notice). ``model`` is the id sent, ``available`` the ids served now (or None when
    they could not be learned); ``message`` stays the server's own, ``str()`` says it all."""

    def __init__(
        self,
        text: str,
        *,
        server_message: str,
        model: str,
        available: list[str] | None,
        **status: Any,
    ) -> None:
        super().__init__(text, **status)
        self.message = server_message
        self.model = model
        self.available = available


class ModelCapabilityError(ModelNotFoundError):
    """400: the model is served, but not on this route (``/v1/responses`` takes only models
    whose capabilities include ``supports_responses``). ``route`` names the route,
    ``available`` the models that serve it (None when they could not be learned).

    Raised from the server's refusal, or before sending when the model catalog already says
    the model lacks the capability (then ``request_id`` is None and ``attempts`` 0)."""

    def __init__(self, text: str, *, route: str, **details: Any) -> None:
        super().__init__(text, **details)
        self.route = route


__all__ += ["ModelCapabilityError"]
