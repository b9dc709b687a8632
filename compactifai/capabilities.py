"""Routes that only some models serve, and the one decision about a model sent to one.

``/v1/responses`` takes the models whose ``GET /models`` capabilities say
``supports_responses``, ``/v1/audio/transcriptions`` those saying ``supports_audio``
(``service-2026.md`` sections 1, 4 and 6). For every such route:

- before sending, a model the catalog knows lacks the capability is refused: the catalog this
  client's server last listed (``list_models()``, kept by ``_served_catalog``) when there is
  one: a model missing from it is the churn error (:class:`ModelNotFoundError`), one whose
  flag is false a :class:`ModelCapabilityError`; else the bundled table
  (:func:`compactifai.catalog.model_info`), which refuses only what it knows cannot;
- the server's 400 for such a model becomes the same :class:`ModelCapabilityError`, naming
  the models that serve the route (one ``GET /models``, made only then): the decision is
  :func:`refused_model`, for a withdrawn model on any route too.

Pure functions: the clients pass the catalog they know and do the listing themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from compactifai import _churn
from compactifai.catalog import KNOWN_MODELS, model_info
from compactifai.errors import BadRequestError, ModelCapabilityError, ModelNotFoundError
from compactifai.types import Model

__all__ = [
    "GatedRoute",
    "ModelRefusal",
    "capability_error",
    "check_model",
    "is_refusal",
    "refused_model",
    "serving_ids",
    "supports",
]

# Bounded: a hostile server's list does not fill an error message forever.
_MAX_LISTED = 50
# The service's words for a model without a route's capability are not published: a refusal
# speaks of support (or capabilities) and of the model, by its id or as "the model".
_ABOUT_SUPPORT = re.compile(
    r"support|capabilit|cannot|can't|\bnot (?:a|an|available|enabled|served)\b", re.IGNORECASE
)
_ABOUT_A_MODEL = re.compile(r"\bmodel\b", re.IGNORECASE)


@dataclass(frozen=True)
class GatedRoute:
    """A route served only by the models whose capabilities carry ``flag``.

    ``action`` says what those models do ("transcribe audio") and ``models`` what they are
    called ("transcription models"), for the error; ``refusal`` recognises the server's 400
    about this route; ``table_reason`` is why a refusal from the bundled table is made (by
    default: the table says the flag is false).
    """

    path: str
    flag: str
    action: str
    models: str
    refusal: re.Pattern[str]
    table_reason: str | None = None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def supports(route: GatedRoute, model: Model) -> bool | None:
    """What a listed model's capabilities say of ``route`` (the bundled table where they are
    silent; None: nobody says, the server decides)."""
    flag = _flag(getattr(model.capabilities, route.flag, None))
    return flag if flag is not None else _flag(getattr(model_info(model.id), route.flag))


def serving_ids(route: GatedRoute, models: Iterable[Model]) -> list[str]:
    """The ids among ``models`` that serve ``route``."""
    return [m.id for m in models if supports(route, m)]


def _listing(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    return f"{shown} and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else shown


def check_model(route: GatedRoute, model: Any, served: Sequence[Model] | None) -> None:
    """Refuse, before sending, a model the catalog knows does not serve ``route``.

    ``served`` is the catalog the client's server last listed (None: not listed in this
    process). Without it only a model the bundled table marks without the flag is refused;
    a model it does not know (or leaves open) is the server's call.
    """
    if not isinstance(model, str):
        return
    if served is None:
        if _flag(getattr(model_info(model), route.flag)) is False:
            serving = [i.id for i in KNOWN_MODELS.values() if getattr(i, route.flag) is True]
            why = route.table_reason or f"the bundled model table says {route.flag}: false"
            raise capability_error(route, model, serving, None, why)
        return
    listed = next((m for m in served if m.id == model), None)
    if listed is None:
        serving = serving_ids(route, served)
        raise ModelNotFoundError(
            f"Model {model!r} is not in the catalog this server listed (models are withdrawn "
            f"without notice); {route.models} served: {_listing(serving) or 'none'}. "
            "Refused before sending.",
            server_message="not in the listed catalog",
            model=model,
            available=[m.id for m in served],
            status_code=400,
            attempts=0,
        )
    if supports(route, listed) is False:
        why = f"its capabilities say {route.flag}: false"
        raise capability_error(route, model, serving_ids(route, served), None, why)


def capability_error(
    route: GatedRoute,
    model: str,
    serving: Sequence[str] | None,
    error: BadRequestError | None,
    why: str,
) -> ModelCapabilityError:
    """The error for ``model`` on ``route``: refused before sending (``why``) or by the server
    (``error``); ``serving`` are the models that serve the route (None: not known)."""
    if serving is None:
        served = f"the {route.models} could not be listed"
    elif not serving:
        served = f"no {route.models} are served here"
    else:
        served = f"{route.models} served: {_listing(serving)}"
    said = (
        f"Server said: {error.message}" if error is not None else f"Refused before sending: {why}."
    )
    return ModelCapabilityError(
        f"Model {model!r} does not {route.action} ({route.path} needs the {route.flag} "
        f"capability); {served}. {said}",
        route=route.path,
        server_message=error.message if error is not None else why,
        model=model,
        available=list(serving) if serving is not None else None,
        status_code=error.status_code if error is not None else 400,
        request_id=error.request_id if error is not None else None,
        body=error.body if error is not None else None,
        attempts=error.attempts if error is not None else 0,
    )


def is_refusal(route: GatedRoute, error: BadRequestError, model: Any) -> bool:
    """Whether ``error`` is the server refusing ``model`` on ``route`` (not a withdrawn model,
    which is the churn error, nor another complaint about the request)."""
    if not isinstance(model, str) or isinstance(error, ModelNotFoundError):
        return False
    text = error.message
    return (
        route.refusal.search(text) is not None
        and _ABOUT_SUPPORT.search(text) is not None
        and (_names(text, model) or _ABOUT_A_MODEL.search(text) is not None)
        and _churn.missing_model(error, model) is None
    )


def _names(text: str, model: str) -> bool:
    """Whether ``text`` names ``model`` as a whole id (not as part of a word)."""
    return re.search(rf"(?<![\w.-]){re.escape(model)}(?![\w.-])", text) is not None


@dataclass(frozen=True)
class ModelRefusal:
    """A 400 about the request's model, and what becomes of it.

    ``missing`` is the churn error of a withdrawn model; None when ``route`` refuses a model
    without its capability. ``needs_listing`` says whether the typed error wants the models
    served now (one ``GET /models``, the driver's I/O); :meth:`typed_error` builds it from
    what that listing returned (None: not listed, or the listing failed).
    """

    error: BadRequestError
    model: str | None
    route: GatedRoute | None
    missing: ModelNotFoundError | None

    @property
    def needs_listing(self) -> bool:
        return self.missing is None or self.missing.available is None

    def typed_error(self, listed: Sequence[Model] | None) -> ModelNotFoundError:
        missing = self.missing
        if missing is None:
            assert self.route is not None and self.model is not None  # see refused_model
            serving = serving_ids(self.route, listed) if listed is not None else None
            return capability_error(self.route, self.model, serving, self.error, "")
        if missing.available is None and listed is not None:
            return _churn.with_available(missing, [m.id for m in listed])
        return missing


def refused_model(
    error: BadRequestError, model: Any, route: GatedRoute | None = None
) -> ModelRefusal | None:
    """Whether ``error`` is the server refusing the request's ``model``: on ``route``, a model
    without the route's capability (:class:`ModelCapabilityError`), or anywhere a withdrawn
    one (:class:`ModelNotFoundError`); None for any other complaint.

    The one decision both clients' drivers read, around the whole of a call or a stream: a
    refusal means the same whether it is the answer's status or an error event mid-stream.
    """
    named = model if isinstance(model, str) else None
    if route is not None and is_refusal(route, error, named):
        return ModelRefusal(error, named, route, None)
    missing = _churn.missing_model(error, named)
    return ModelRefusal(error, named, route, missing) if missing is not None else None
