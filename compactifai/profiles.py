"""What a model can do, from the bundled table or the live catalog, in framework-neutral form.

Both integrations describe a model to their framework from here: LangChain's ``profile``
(:func:`profile`, keys as ``langchain_core``'s ``ModelProfile``) and LlamaIndex's
``LLMMetadata``. The facts come from one of two places:

- the bundled table (:mod:`compactifai.catalog`), by default: no request, but it describes the
  catalog as of the release;
- the live catalog (``GET /models``, which the service calls "authoritative for your
  account"), when asked (:func:`load_capabilities`, ``profile_from_api=True`` on the models):
  its capability flags win over the table's. Reasoning and context windows are not in the
  listing, so those still come from the table.

The live catalog is read once per process, base URL and account, and shared with every other
``list_models()`` (see ``compactifai._served_catalog``). A failure to read it logs one
WARNING on the ``compactifai`` logger and falls back to the table.

Unknown stays unknown: a capability neither source states is ``None`` (left out of the
profile). Output is capped by the API at 150000 tokens per request (``max_tokens``,
``max_completion_tokens``), and by the context window where that is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from compactifai import _served_catalog
from compactifai.catalog import KNOWN_MODELS, model_info
from compactifai.errors import ToolCallingNotSupportedError
from compactifai.types import Model

if TYPE_CHECKING:
    from compactifai._client import AsyncCompactifAIClient, CompactifAIClient

__all__ = [
    "MAX_OUTPUT_TOKENS",
    "Capabilities",
    "aload_capabilities",
    "aload_profiles",
    "bundled_capabilities",
    "capabilities_for",
    "capabilities_from_listing",
    "known_capabilities",
    "load_capabilities",
    "load_profiles",
    "models_with_tools",
    "profile",
    "tools_refused",
]

# The API's cap on one request's output (max_tokens / max_completion_tokens / max_output_tokens).
MAX_OUTPUT_TOKENS = 150_000

Source = Literal["the bundled model table", "the live model catalog"]
BUNDLED: Source = "the bundled model table"
LIVE: Source = "the live model catalog"


@dataclass(frozen=True)
class Capabilities:
    """What one model can do; ``None`` where no source says."""

    id: str
    tool_calling: bool | None = None
    image_inputs: bool | None = None
    audio_inputs: bool | None = None
    reasoning_output: bool | None = None
    reasoning_efforts: tuple[str, ...] | None = None
    chat_completion: bool | None = None
    responses: bool | None = None
    context_window: int | None = None
    source: Source = BUNDLED

    @property
    def max_output_tokens(self) -> int:
        """The API's cap, or the context window when that is known and smaller."""
        if self.context_window is None:
            return MAX_OUTPUT_TOKENS
        return min(MAX_OUTPUT_TOKENS, self.context_window)

    @property
    def structured_output(self) -> bool | None:
        """``response_format`` (json_schema) is part of every chat request: the serving engine
        constrains decoding, whatever the model. A model with no chat endpoint has none."""
        return None if self.chat_completion is None else self.chat_completion


def bundled_capabilities(model_id: str) -> Capabilities:
    """What the bundled table says of ``model_id`` (``None`` everywhere for an unknown id)."""
    info = model_info(model_id)
    known = model_id in KNOWN_MODELS
    return Capabilities(
        id=model_id,
        tool_calling=info.supports_function_calling,
        image_inputs=info.supports_image,
        audio_inputs=info.supports_audio,
        reasoning_output=info.reasoning,
        reasoning_efforts=info.reasoning_efforts,
        # Every id but the transcription model's is a chat model; an unknown id most likely
        # is one too (the server decides).
        chat_completion=info.supports_chat_completion if known else True,
        responses=info.supports_responses,
        context_window=info.context_window,
    )


def capabilities_from_listing(model: Model) -> Capabilities:
    """One ``GET /models`` item: its flags win; what it does not list comes from the table.

    A ``capabilities`` object that leaves a flag out means false (the service's own advice);
    an item with no ``capabilities`` at all (the oldest documented shape) says nothing, so
    the table's flags stand. A ``supports_reasoning`` flag, should the service add one, is read.
    """
    table = bundled_capabilities(model.id)
    flags = model.capabilities
    if flags is None:
        return replace(table, source=LIVE)

    def flag(value: Any) -> bool:
        return value is True

    reasoning = getattr(flags, "supports_reasoning", None)
    return Capabilities(
        id=model.id,
        tool_calling=flag(flags.supports_function_calling),
        image_inputs=flag(flags.supports_image),
        audio_inputs=flag(flags.supports_audio),
        reasoning_output=reasoning if isinstance(reasoning, bool) else table.reasoning_output,
        reasoning_efforts=table.reasoning_efforts,
        chat_completion=(
            True if flags.supports_chat_completion is None else flags.supports_chat_completion
        ),
        responses=flag(flags.supports_responses),
        context_window=table.context_window,
        source=LIVE,
    )


def _catalog(models: Iterable[Model] | None) -> dict[str, Capabilities]:
    if models is None:
        return {model_id: bundled_capabilities(model_id) for model_id in KNOWN_MODELS}
    return {model.id: capabilities_from_listing(model) for model in models}


def load_capabilities(
    client: CompactifAIClient, *, refresh: bool = False
) -> dict[str, Capabilities]:
    """Every model the live catalog lists for ``client``'s account, by id.

    Reads ``GET /models`` once per process, base URL and account (concurrent first calls share
    one request); ``refresh=True`` reads again. When the catalog cannot be read, the bundled
    table (one WARNING on the ``compactifai`` logger, the first time).
    """
    return _catalog(_served_catalog.read(client._catalog_key, client.list_models, refresh=refresh))


async def aload_capabilities(
    client: AsyncCompactifAIClient, *, refresh: bool = False
) -> dict[str, Capabilities]:
    """:func:`load_capabilities` with an async client."""
    models = await _served_catalog.aread(client._catalog_key, client.list_models, refresh=refresh)
    return _catalog(models)


def load_profiles(client: CompactifAIClient, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
    """LangChain ``ModelProfile`` dicts for every model of the live catalog, by id.

    .. code-block:: python

        from compactifai import CompactifAIClient
        from compactifai.profiles import load_profiles

        profiles = load_profiles(CompactifAIClient())  # one GET /models per process
        profiles["hypernova-60b"]["tool_calling"]  # True

    See :func:`load_capabilities` for caching and the fallback to the bundled table.
    """
    return {
        model_id: profile(c) for model_id, c in load_capabilities(client, refresh=refresh).items()
    }


async def aload_profiles(
    client: AsyncCompactifAIClient, *, refresh: bool = False
) -> dict[str, dict[str, Any]]:
    """:func:`load_profiles` with an async client."""
    catalog = await aload_capabilities(client, refresh=refresh)
    return {model_id: profile(c) for model_id, c in catalog.items()}


def known_capabilities(
    client: CompactifAIClient | AsyncCompactifAIClient | None = None,
) -> dict[str, Capabilities]:
    """The live catalog already read for ``client`` (no request), else the bundled table."""
    models = _served_catalog.cached(client._catalog_key) if client is not None else None
    return _catalog(models)


def capabilities_for(
    model_id: str, catalog: Mapping[str, Capabilities] | None = None
) -> Capabilities:
    """``model_id`` in ``catalog`` (a live one), else what the bundled table says."""
    found = catalog.get(model_id) if catalog is not None else None
    return found if found is not None else bundled_capabilities(model_id)


def models_with_tools(catalog: Mapping[str, Capabilities]) -> list[str]:
    """The ids of ``catalog`` known to call tools, in catalog order."""
    return [model_id for model_id, c in catalog.items() if c.tool_calling]


def tools_refused(
    model: str, catalog: Mapping[str, Capabilities], *, source: str, override: str
) -> ToolCallingNotSupportedError:
    """The error for tools offered to ``model``, naming ``catalog``'s models that take them;
    ``override`` is the framework's way to say the account's catalog differs."""
    return ToolCallingNotSupportedError(
        model,
        models_with_tools(catalog),
        source=source,
        hint="If your account's catalog says otherwise, pass profile_from_api=True "
        f"(or {override}).",
    )


def profile(capabilities: Capabilities) -> dict[str, Any]:
    """``capabilities`` as a LangChain ``ModelProfile`` (a plain dict; unknowns left out)."""
    result: dict[str, Any] = {
        "text_inputs": True,
        "text_outputs": True,
        "max_output_tokens": capabilities.max_output_tokens,
    }
    if capabilities.context_window is not None:
        result["max_input_tokens"] = capabilities.context_window
    flags: dict[tuple[str, ...], bool | None] = {
        ("image_inputs", "image_url_inputs"): capabilities.image_inputs,
        ("audio_inputs",): capabilities.audio_inputs,
        ("tool_calling", "tool_choice", "tool_call_streaming"): capabilities.tool_calling,
        ("reasoning_output",): capabilities.reasoning_output,
        ("structured_output",): capabilities.structured_output,
    }
    for keys, known in flags.items():
        if known is not None:
            result.update(dict.fromkeys(keys, known))
    if capabilities.reasoning_efforts:
        result["reasoning_effort_levels"] = list(capabilities.reasoning_efforts)
    return result
