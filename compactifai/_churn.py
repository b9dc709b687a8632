"""Model churn: errors that name a withdrawn model and the models served now.

Models are withdrawn without notice. The server says so in a 400 ("Model 'x' not found;
available: [a, b]") for a body naming one, and only "Not Found" for ``GET /models/{id}``.
These pure functions turn such errors into ones a user can act on; the one decision the
clients' drivers read is :func:`compactifai.capabilities.refused_model` (one ``GET /models``
when the server did not list the models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from compactifai.errors import BadRequestError, ModelNotFoundError

__all__ = [
    "missing_model",
    "not_found_message",
    "with_available",
]

_UNKNOWN_MODEL = re.compile(
    r"model\s+['`\"](?P<model>[^'`\"]*)['`\"]\s+(?:was\s+)?not\s+found"
    r"(?:\s*;\s*available\s*:\s*\[(?P<available>[^\]]*)\])?",
    re.IGNORECASE,
)
# An error naming no model, about the model field nonetheless.
_MODEL_NOT_FOUND = re.compile(r"\bmodel\b[^.;]*\bnot\s+found|\bno\s+such\s+model\b", re.IGNORECASE)
# Bounded: a hostile server's list does not fill a log line forever.
_MAX_LISTED = 50


def not_found_message(model_id: str) -> str:
    """What a 404 from ``GET /models/{id}`` means (the server says only "Not Found")."""
    return (
        f"Model {model_id!r} is not served here: it may have been withdrawn "
        "(list the current ones with list_models())."
    )


def missing_model(error: BadRequestError, model: str | None) -> ModelNotFoundError | None:
    """``error`` as a :class:`ModelNotFoundError` when it says the request's model is unknown.

    ``available`` is read from the server's message; None when it did not list the models.
    """
    if isinstance(error, ModelNotFoundError):
        return error
    match = _UNKNOWN_MODEL.search(error.message)
    if match is None:
        if model is None or not _MODEL_NOT_FOUND.search(error.message):
            return None
        name, listed = model, None
    else:
        name, listed = match["model"] or model or "", match["available"]
    available = None
    if listed is not None:
        available = [item.strip().strip("'\"") for item in listed.split(",") if item.strip()]
    return _error(error, name, available)


def with_available(error: ModelNotFoundError, available: Sequence[str]) -> ModelNotFoundError:
    """``error`` with the ids a ``GET /models`` returned."""
    return _error(error, error.model, list(available))


def _error(error: BadRequestError, model: str, available: list[str] | None) -> ModelNotFoundError:
    if available is None:
        served = "the models served now could not be listed"
    elif not available:
        served = "this server lists no models"
    else:
        shown = ", ".join(available[:_MAX_LISTED])
        more = f" and {len(available) - _MAX_LISTED} more" if len(available) > _MAX_LISTED else ""
        served = f"available now: {shown}{more}"
    return ModelNotFoundError(
        f"Model {model!r} is not served (models are withdrawn without notice); {served}. "
        f"Server said: {error.message}",
        server_message=error.message,
        model=model,
        available=available,
        status_code=error.status_code,
        request_id=error.request_id,
        body=error.body,
        attempts=error.attempts,
    )
