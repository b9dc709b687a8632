"""Scriptable faults: what a gateway, a proxy or a flaky backend can do to a request.

A :class:`FaultSpec` describes one fault; a :class:`FaultInjector` holds the scripted ones and
hands out the first that matches a request (by path, remaining count and probability).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, TypedDict, cast, get_args

__all__ = [
    "FAULT_KINDS",
    "STREAM_FAULT_KINDS",
    "FaultError",
    "FaultInjector",
    "FaultKind",
    "FaultOptions",
    "FaultSpec",
]

FaultKind = Literal[
    "status",
    "html",
    "malformed",
    "drop_stream",
    "stall_stream",
    "error_in_stream",
    "delay",
    "wrong_content_type",
]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Faults that act inside the body of a (streamed) response rather than replacing it.
STREAM_FAULT_KINDS: frozenset[str] = frozenset({"drop_stream", "stall_stream", "error_in_stream"})


class FaultError(ValueError):
    """A fault description that cannot be used; ``field`` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FaultOptions(TypedDict, total=False):
    """The fields of a :class:`FaultSpec` after its kind (their meaning and defaults are there),
    as ``Emulator.inject_fault`` takes them."""

    count: int | None
    status: int | None
    retry_after: float | str | None
    after_chunks: int | None
    seconds: float | None
    probability: float
    path: str | None
    message: str | None


@dataclass(frozen=True)
class FaultSpec:
    """One scripted fault.

    - ``kind``: ``status`` | ``html`` | ``malformed`` | ``drop_stream`` | ``stall_stream`` |
      ``error_in_stream`` | ``delay`` | ``wrong_content_type``.
    - ``count``: how many matching requests it applies to (``None`` = unlimited).
    - ``status``: HTTP status for ``status`` (default 500) and ``html`` (default 502).
    - ``retry_after``: value of the ``Retry-After`` header sent with a ``status`` fault.
    - ``after_chunks``: stream faults act after this many SSE events (default 1).
    - ``seconds``: how long ``delay`` / ``stall_stream`` sleep (default 1.0).
    - ``probability``: chance that a matching request gets the fault (seeded RNG).
    - ``path``: only requests to this path (``/v1/chat/completions`` or ``/chat/completions``).
    - ``message``: overrides the error message of ``status`` / ``error_in_stream``.
    """

    kind: FaultKind
    count: int | None = 1
    status: int | None = None
    retry_after: float | str | None = None
    after_chunks: int | None = None
    seconds: float | None = None
    probability: float = 1.0
    path: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(
                f"Unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}", "kind"
            )
        if self.count is not None and (not isinstance(self.count, int) or self.count < 1):
            raise FaultError("count must be a positive integer or null", "count")
        if self.status is not None and (
            not isinstance(self.status, int) or not 100 <= self.status <= 599
        ):
            raise FaultError("status must be an HTTP status code", "status")
        if not isinstance(self.probability, (int, float)) or not 0.0 <= self.probability <= 1.0:
            raise FaultError("probability must be between 0 and 1", "probability")
        if self.after_chunks is not None and (
            not isinstance(self.after_chunks, int) or self.after_chunks < 0
        ):
            raise FaultError("after_chunks must be a non-negative integer", "after_chunks")
        if self.seconds is not None and (
            not isinstance(self.seconds, (int, float)) or self.seconds < 0
        ):
            raise FaultError("seconds must be a non-negative number", "seconds")

    @property
    def chunks(self) -> int:
        return 1 if self.after_chunks is None else self.after_chunks

    @property
    def sleep(self) -> float:
        return 1.0 if self.seconds is None else float(self.seconds)

    def matches(self, path: str) -> bool:
        if self.path is None:
            return True
        wanted = self.path.rstrip("/") or "/"
        actual = path.rstrip("/") or "/"
        return actual == wanted or actual == "/v1" + wanted

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FaultSpec:
        if not isinstance(data, Mapping):
            raise FaultError("A fault must be a JSON object", None)
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultError(f"Unknown fault field(s): {', '.join(unknown)}", unknown[0])
        if "kind" not in data:
            raise FaultError("A fault needs a 'kind'", "kind")
        kwargs = dict(data)
        if "probability" in kwargs and kwargs["probability"] is None:
            kwargs["probability"] = 1.0
        try:
            return cls(**cast(dict[str, Any], kwargs))
        except TypeError as exc:  # pragma: no cover - guarded by the field check above
            raise FaultError(str(exc)) from exc


@dataclass
class _Active:
    spec: FaultSpec
    remaining: int | None
    owner: str | None = None
    """The user whose requests it acts on; ``None``: everyone's."""

    def concerns(self, user: str | None) -> bool:
        return user is None or self.owner is None or self.owner == user


class FaultInjector:
    """Thread-safe queue of scripted faults (first match wins).

    A fault added with an ``owner`` acts on that user's requests only, and only that user
    (or ``None``, everyone: the Python API and the admin key) lists or clears it.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Active] = []
        self._rng = random.Random(seed)
        self._seed = seed

    def add(self, spec: FaultSpec, owner: str | None = None) -> None:
        with self._lock:
            self._faults.append(_Active(spec, spec.count, owner))

    def clear(self, owner: str | None = None) -> None:
        """Remove the faults of ``owner``, or (``None``) all of them."""
        with self._lock:
            if owner is None:
                self._faults.clear()
                self._rng = random.Random(self._seed)
            else:
                self._faults = [a for a in self._faults if a.owner != owner]

    def active(self, owner: str | None = None) -> list[dict[str, Any]]:
        """The faults of ``owner`` (``None``: all of them) with their remaining count."""
        with self._lock:
            return [
                {**a.spec.to_json(), "remaining": a.remaining}
                for a in self._faults
                if owner is None or a.owner == owner
            ]

    def roll(self, spec: FaultSpec) -> bool:
        """Whether a one-off fault (e.g. from a request header) applies, per its probability."""
        if spec.probability >= 1.0:
            return True
        with self._lock:
            return self._rng.random() < spec.probability

    def take(self, path: str, user: str | None = None) -> FaultSpec | None:
        """The fault to apply to ``user``'s request to ``path``, consuming one use of it."""
        if not self._faults:
            return None
        with self._lock:
            for active in self._faults:
                if not active.concerns(user) or not active.spec.matches(path):
                    continue
                if active.spec.probability < 1.0 and self._rng.random() >= active.spec.probability:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        self._faults.remove(active)
                return replace(active.spec)
        return None
