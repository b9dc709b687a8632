"""The emulator's configuration and mutable state, shared by the app and :class:`Emulator`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from ._http import (
    dumps,
    json_body,
)
from .answers import Generator
from .catalog import Catalog, EmulatedModel, load_catalog
from .faults import FaultInjector, FaultSpec
from .request_log import RecordedRequest, RequestLog
from .usage import UsageLedger

__all__ = [
    "DEFAULT_FILE_QUOTA_BYTES",
    "DEFAULT_FILE_TTL_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOTAL_FILE_QUOTA_BYTES",
    "REASONING_FIELDS",
    "EmulatorState",
    "ReasoningField",
    "RecordedRequest",
    "V1Handler",
    "V1Wrapper",
    "record_request",
    "recorded_json_body",
]

ReasoningField = Literal["reasoning", "reasoning_content"]

V1Handler = Callable[[Request, "EmulatorState", str, "FaultSpec | None"], Awaitable[Response]]
"""A ``/v1`` route's handler: the request, the state, the caller's user and the fault it drew."""
V1Wrapper = Callable[[V1Handler], Callable[[Request], Awaitable[Response]]]
"""The app's ``/v1`` wrapper (latency, the key check, faults, error shapes). The app hands it
to the modules that add routes (batches, audio), so none of them imports the app."""
REASONING_FIELDS: tuple[ReasoningField, ...] = ("reasoning", "reasoning_content")
# Request bodies above this answer 413: room for a few base64 images, and a bound on the
# memory one request can take.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# The file store lives in memory: bounds per key and for everyone, and the files' lifetime
# (their ``ttl``; the service documents neither its limits nor its expiry).
DEFAULT_FILE_QUOTA_BYTES = 512 * 1024 * 1024
DEFAULT_TOTAL_FILE_QUOTA_BYTES = 2 * 1024 * 1024 * 1024
DEFAULT_FILE_TTL_SECONDS = 30 * 24 * 3600.0


@dataclass
class EmulatorState:
    """Configuration and mutable state shared by the app and the :class:`Emulator`."""

    api_keys: Sequence[str] = ("test-key",)
    latency: float = 0.0
    seed: int = 0
    usage_endpoint: bool | None = None
    """``None``: as the catalog says (only ``reference`` serves usage statistics)."""
    chunk_delay: float = 0.0
    models: Sequence[EmulatedModel] | None = None
    """Models built in code; replaces the catalog's list when given."""
    catalog: str | PathLike[str] | Catalog = "current"
    reasoning_field: ReasoningField = "reasoning"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    region: str = "emulator-local-1"
    admin_key: str | None = field(default=None, repr=False)
    """A key for the control endpoints only, acting on every user (a plain key acts on its own
    requests, faults and files)."""
    file_quota_bytes: int = DEFAULT_FILE_QUOTA_BYTES
    total_file_quota_bytes: int = DEFAULT_TOTAL_FILE_QUOTA_BYTES
    file_ttl: float | None = DEFAULT_FILE_TTL_SECONDS
    """Seconds an uploaded file lives (its ``ttl``); ``None``: forever."""
    faults: FaultInjector = field(init=False)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    requests: RequestLog = field(default_factory=RequestLog)
    """Each user's last requests (bounded per user and in users; see :mod:`.request_log`)."""
    stored_responses: dict[str, Any] = field(default_factory=dict)
    """``store: true`` responses by id (see :mod:`.responses`)."""

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
        if self.reasoning_field not in REASONING_FIELDS:
            raise ValueError(
                f"reasoning_field must be one of {', '.join(REASONING_FIELDS)}, "
                f"got {self.reasoning_field!r}"
            )
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.admin_key is not None and (
            not self.admin_key.strip() or self.admin_key in self.users
        ):
            raise ValueError("admin_key must be non-empty and differ from every API key")
        if self.file_quota_bytes < 0 or self.total_file_quota_bytes < 0:
            raise ValueError("file quotas must be non-negative byte counts")
        if self.file_ttl is not None and self.file_ttl <= 0:
            raise ValueError("file_ttl must be a positive number of seconds (or None)")
        # Stores kept by other modules (files and batches) register how to empty themselves.
        self.reset_hooks: list[Callable[[str | None], None]] = []
        loaded = load_catalog(self.catalog)
        if self.models is not None:
            loaded = Catalog(loaded.name, tuple(self.models), loaded.usage_endpoint)
        self.catalog = loaded
        self.start_models: tuple[EmulatedModel, ...] = tuple(loaded.models)
        if self.usage_endpoint is None:
            self.usage_endpoint = loaded.usage_endpoint
        self.serve_models(self.start_models)

    def serve_models(self, models: Sequence[EmulatedModel]) -> None:
        """Serve ``models`` from now on: the catalog changes under running clients, as the
        service's does (``POST /_emulator/catalog``)."""
        self.models = tuple(models)
        self.model_map: dict[str, EmulatedModel] = {m.id: m for m in self.models}
        self._models_body = dumps({"object": "list", "data": [m.to_json() for m in self.models]})

    @property
    def catalog_name(self) -> str:
        return self.catalog.name if isinstance(self.catalog, Catalog) else str(self.catalog)

    def user_for_key(self, key: str) -> str | None:
        return self.users.get(key)

    def is_admin_key(self, key: str) -> bool:
        return self.admin_key is not None and secrets.compare_digest(
            key.encode(), self.admin_key.encode()
        )

    def requests_of(self, user: str | None) -> list[RecordedRequest]:
        """The request log, of one user or (``None``) everyone's."""
        return self.requests.of(user)

    def reset(self, user: str | None = None) -> None:
        """Forget faults, usage, the request log, stored responses, files and batches: one
        user's, or everyone's (``None``, which also serves the start catalog again: the
        catalog is everyone's)."""
        self.faults.clear(user)
        if user is None:
            self.serve_models(self.start_models)
            self.ledger.clear()
            self.requests.clear()
            self.stored_responses.clear()
        else:
            self.ledger.clear(user)
            self.requests.clear(user)
            for response_id, stored in list(self.stored_responses.items()):
                if getattr(stored, "owner", None) == user:
                    del self.stored_responses[response_id]
        for hook in self.reset_hooks:
            hook(user)


async def recorded_json_body(request: Request, state: EmulatorState) -> Any:
    """The request's JSON body, after recording the request with it (``/_emulator/requests``)."""
    body = await json_body(request)
    await record_request(request, state, body)
    return body


async def record_request(request: Request, state: EmulatorState, body: Any) -> None:
    state.requests.append(
        RecordedRequest(
            request.method,
            request.url.path,
            {k: v for k, v in request.headers.items() if k != "authorization"},
            body,
            time.time(),
            getattr(request.state, "emulator_user", None),
        )
    )
