"""The emulator's configuration and mutable state, shared by the app and :class:`Emulator`."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from ._http import (
    dumps,
)
from .answers import Generator
from .catalog import DEFAULT_MODELS, EmulatedModel
from .faults import FaultInjector
from .usage import UsageLedger

__all__ = ["EmulatorState", "RecordedRequest", "record_request"]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received (kept for tests: what did the client send?)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    timestamp: float


@dataclass
class EmulatorState:
    """Configuration and mutable state shared by the app and the :class:`Emulator`."""

    api_keys: Sequence[str] = ("test-key",)
    latency: float = 0.0
    seed: int = 0
    usage_endpoint: bool = True
    chunk_delay: float = 0.0
    models: Sequence[EmulatedModel] = DEFAULT_MODELS
    faults: FaultInjector = field(init=False)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    requests: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=1000))

    def __post_init__(self) -> None:
        if isinstance(self.api_keys, str):
            self.api_keys = (self.api_keys,)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        self.faults = FaultInjector(self.seed)
        self.generator = Generator(self.seed)
        self.users: dict[str, str] = {}
        for i, key in enumerate(self.api_keys):
            self.users.setdefault(key, f"customer-{i + 1}")
        self.model_map: dict[str, EmulatedModel] = {m.id: m for m in self.models}
        self._models_body = dumps({"object": "list", "data": [m.to_json() for m in self.models]})

    def user_for_key(self, key: str) -> str | None:
        return self.users.get(key)

    def reset(self) -> None:
        self.faults.clear()
        self.ledger.clear()
        self.requests.clear()


async def record_request(request: Request, state: EmulatorState, body: Any) -> None:
    state.requests.append(
        RecordedRequest(
            request.method,
            request.url.path,
            {k: v for k, v in request.headers.items() if k != "authorization"},
            body,
            time.time(),
        )
    )
