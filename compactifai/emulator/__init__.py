"""An offline emulator of the CompactifAI API (OpenAI-compatible), like moto is for AWS.

Needs the ``emulator`` extra (``pip install 'compactifai-integrations[emulator]'``)::

    from compactifai.emulator import Emulator

    with Emulator(api_keys=("test-key",)) as emu:      # today's catalog (hypernova-60b, ...)
        client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
        emu.inject_fault("status", status=429, retry_after=1)

    Emulator(catalog="reference")          # the reference page's nine models, usage statistics
    Emulator(catalog="models.json")        # a saved GET /v1/models answer: the next catalog
    Emulator(reasoning_field="reasoning_content")   # older vLLM's name for reasoning

``create_app()`` gives the same service as an in-process ASGI app.
"""

from __future__ import annotations

from .app import create_app
from .catalog import (
    DEFAULT_MODELS,
    REFERENCE_MODELS,
    Catalog,
    CatalogError,
    EmulatedModel,
    load_catalog,
)
from .faults import FAULT_KINDS, FaultError, FaultKind, FaultSpec
from .server import Emulator
from .state import EmulatorState, RecordedRequest
from .usage import UsageLedger, UsageRecord

__all__ = [
    "DEFAULT_MODELS",
    "FAULT_KINDS",
    "REFERENCE_MODELS",
    "Catalog",
    "CatalogError",
    "EmulatedModel",
    "Emulator",
    "EmulatorState",
    "FaultError",
    "FaultKind",
    "FaultSpec",
    "RecordedRequest",
    "UsageLedger",
    "UsageRecord",
    "create_app",
    "load_catalog",
]
