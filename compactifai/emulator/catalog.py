"""The models the emulator serves, read from JSON shaped like ``GET /v1/models``.

Two catalogs ship with the package (``catalogs/*.json``):

- ``current`` (the default): today's service (service-2026.md, section 1.1): twelve models with
  the vendor's capability flags (string ``parameters_number``, the misspelt
  ``support_chat_completion``), reasoning models, and no usage statistics endpoint;
- ``reference``: the nine models of the vendor's reference page, with usage statistics.

Any other JSON file shaped like a ``GET /v1/models`` answer works too (``catalog=PATH``), so a
user can follow the next catalog change without a release. Each item is served back as given
(unknown keys included) except for an optional ``"emulator"`` object of emulator-only facts::

    "emulator": {"context_window": 131072,
                 "reasoning": "always" | "hybrid" | "none",
                 "reasoning_efforts": ["low", "medium", "high"],
                 "supports_function_calling": true, "supports_image": false, ...}

How each fact is decided: the ``"emulator"`` object first, then the item's ``capabilities``
flags, then what the bundled ``current`` catalog says about the same id; otherwise a model
that lists no ``capabilities`` at all takes tools and text only (like the reference page's
models), and a flag missing from a ``capabilities`` object is false (as the service notes
advise), except ``support_chat_completion``, which is true unless said otherwise.

Reasoning: ``always`` models (gpt-oss style) think on every request unless
``reasoning_enabled`` is false; ``hybrid`` models (GLM, Qwen, Nemotron: a thinking switch in
the chat template) think by default and accept only the efforts listed (``none`` turns
thinking off); ``none`` models reject any ``reasoning_effort``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CATALOG_NAMES",
    "DEFAULT_MODELS",
    "REFERENCE_MODELS",
    "Catalog",
    "CatalogError",
    "EmulatedModel",
    "ReasoningMode",
    "load_catalog",
    "models_by_id",
    "parse_catalog",
]

ReasoningMode = Literal["none", "always", "hybrid"]
CATALOG_NAMES = ("current", "reference")
DEFAULT_CONTEXT_WINDOW = 131_072
EXTRA_KEY = "emulator"
# A catalog file is read whole: a generous bound that no real model list comes near.
MAX_CATALOG_BYTES = 4 * 1024 * 1024
_FLAGS = {
    # attribute -> the key(s) the service may use (its misspelling first)
    "supports_function_calling": ("supports_function_calling",),
    "supports_image": ("supports_image",),
    "supports_audio": ("supports_audio",),
    "supports_chat_completion": ("support_chat_completion", "supports_chat_completion"),
    "supports_responses": ("supports_responses",),
}
# With no ``capabilities`` object at all (the reference page's shape).
_NO_FLAGS_DEFAULTS = {
    "supports_function_calling": True,
    "supports_image": False,
    "supports_audio": False,
    "supports_chat_completion": True,
    "supports_responses": False,
}


class CatalogError(ValueError):
    """A catalog name or file the emulator cannot serve."""


@dataclass(frozen=True)
class EmulatedModel:
    """One served model: what ``GET /v1/models`` lists plus the facts the emulator enforces."""

    id: str
    owned_by: str
    parameters_number: str
    created: int = 1749600000
    context_window: int = DEFAULT_CONTEXT_WINDOW
    supports_function_calling: bool = True
    supports_image: bool = False
    supports_audio: bool = False
    supports_chat_completion: bool = True
    supports_responses: bool = False
    reasoning: ReasoningMode = "none"
    reasoning_efforts: tuple[str, ...] = ()
    # The item as the catalog file gave it (minus the "emulator" key); ``None`` = built in code.
    listing: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def supports_reasoning(self) -> bool:
        return self.reasoning != "none"

    @property
    def default_reasoning_effort(self) -> str:
        """The effort a reasoning model answers with when the request names none."""
        on = [e for e in self.reasoning_efforts if e != "none"]
        return "medium" if "medium" in on or not on else on[-1]

    def to_json(self) -> dict[str, Any]:
        """The model object as ``GET /v1/models`` lists it."""
        if self.listing is not None:
            return {**self.listing, "id": self.id, "object": "model"}
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "parameters_number": self.parameters_number,
        }

    @classmethod
    def from_listing(
        cls, item: Mapping[str, Any], known: Mapping[str, EmulatedModel] | None = None
    ) -> EmulatedModel:
        """A model from one ``GET /v1/models`` item (see the module's notes on each fact)."""
        model_id = item.get("id")
        if not isinstance(model_id, str) or not model_id:
            raise CatalogError(f"every model needs a string 'id', got {model_id!r}")
        extra = item.get(EXTRA_KEY)
        extra = extra if isinstance(extra, Mapping) else {}
        caps = item.get("capabilities")
        base = (known or {}).get(model_id)
        facts: dict[str, Any] = {}
        for attr, keys in _FLAGS.items():
            value: Any = extra.get(attr)
            if value is None and isinstance(caps, Mapping):
                value = next((caps[k] for k in keys if k in caps), None)
            if value is None and base is not None:
                value = getattr(base, attr)
            if value is None:
                if isinstance(caps, Mapping):
                    value = attr == "supports_chat_completion"
                else:
                    value = _NO_FLAGS_DEFAULTS[attr]
            if not isinstance(value, bool):
                raise CatalogError(f"model {model_id!r}: {attr} must be true or false")
            facts[attr] = value
        reasoning = extra.get("reasoning", base.reasoning if base else "none")
        if reasoning not in ("none", "always", "hybrid"):
            raise CatalogError(
                f"model {model_id!r}: emulator.reasoning must be none, always or hybrid"
            )
        efforts = extra.get("reasoning_efforts", base.reasoning_efforts if base else ())
        if not isinstance(efforts, (list, tuple)) or not all(isinstance(e, str) for e in efforts):
            raise CatalogError(f"model {model_id!r}: emulator.reasoning_efforts must be strings")
        window = extra.get(
            "context_window", base.context_window if base else DEFAULT_CONTEXT_WINDOW
        )
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise CatalogError(f"model {model_id!r}: context_window must be a positive integer")
        created = item.get("created", base.created if base else 0)
        return cls(
            id=model_id,
            owned_by=str(item.get("owned_by", base.owned_by if base else "")),
            parameters_number=str(
                item.get("parameters_number", base.parameters_number if base else "")
            ),
            created=created if isinstance(created, int) else 0,
            context_window=window,
            reasoning=reasoning,
            reasoning_efforts=tuple(efforts),
            listing={k: v for k, v in item.items() if k != EXTRA_KEY},
            **facts,
        )


@dataclass(frozen=True)
class Catalog:
    """A named list of models and whether the usage statistics endpoint goes with it."""

    name: str
    models: tuple[EmulatedModel, ...]
    usage_endpoint: bool


def _parse(
    data: Any, origin: str, known: Mapping[str, EmulatedModel] | None
) -> tuple[EmulatedModel, ...]:
    items = data.get("data") if isinstance(data, Mapping) else data
    if not isinstance(items, list) or not items:
        raise CatalogError(
            f'{origin}: expected a GET /v1/models answer ({{"object": "list", "data": '
            "[...]}) or a list of models, with at least one model"
        )
    models = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CatalogError(f"{origin}: data[{i}] is not an object")
        try:
            models.append(EmulatedModel.from_listing(item, known))
        except CatalogError as exc:
            raise CatalogError(f"{origin}: data[{i}]: {exc}") from None
    ids = [m.id for m in models]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"{origin}: duplicate model ids: {', '.join(duplicates)}")
    return tuple(models)


def _bundled(name: str) -> tuple[EmulatedModel, ...]:
    text = (
        resources.files(__package__)
        .joinpath("catalogs")
        .joinpath(f"{name}.json")
        .read_text("utf-8")
    )
    return _parse(json.loads(text), f"the {name} catalog", None)


DEFAULT_MODELS: tuple[EmulatedModel, ...] = _bundled("current")
"""Today's catalog (``catalog="current"``)."""
REFERENCE_MODELS: tuple[EmulatedModel, ...] = _bundled("reference")
"""The reference page's nine models (``catalog="reference"``)."""


def load_catalog(catalog: str | PathLike[str] | Catalog = "current") -> Catalog:
    """``"current"``, ``"reference"``, or the path of a JSON file shaped like ``GET /v1/models``."""
    if isinstance(catalog, Catalog):
        return catalog
    if catalog == "current":
        return Catalog("current", DEFAULT_MODELS, usage_endpoint=False)
    if catalog == "reference":
        return Catalog("reference", REFERENCE_MODELS, usage_endpoint=True)
    path = Path(catalog)
    if not path.is_file():
        raise CatalogError(
            f"{str(catalog)!r} is neither a catalog name ({', '.join(CATALOG_NAMES)}) "
            "nor a JSON file"
        )
    if path.stat().st_size > MAX_CATALOG_BYTES:
        raise CatalogError(f"{path}: larger than {MAX_CATALOG_BYTES} bytes")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: not valid JSON ({exc})") from None
    return Catalog(str(path), parse_catalog(data, str(path)), usage_endpoint=False)


def parse_catalog(data: Any, origin: str = "the catalog") -> tuple[EmulatedModel, ...]:
    """Models from decoded JSON shaped like ``GET /v1/models`` (as a catalog file's content:
    facts an item leaves out come from the bundled ``current`` catalog)."""
    return _parse(data, origin, models_by_id(DEFAULT_MODELS))


def models_by_id(models: Iterable[EmulatedModel] | None = None) -> Mapping[str, EmulatedModel]:
    """An id -> model mapping, in catalog order."""
    return {m.id: m for m in (DEFAULT_MODELS if models is None else models)}
