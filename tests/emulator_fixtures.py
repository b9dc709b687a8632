"""The emulator fixtures the suites share, written once: an emulator running for a scope, and
that emulator reset for each test.

Factories, not fixtures in the root conftest: each suite runs its own emulator (its keys,
seed, catalog) under a name its tests already use (``emulator``, ``emu``...), and a root-level
fixture of that name would be overridden by, or stand in for, a directory's own. A suite calls
the factories at module level, so each fixture is declared where it is used::

    emulator = running_emulator(api_keys=("test-key",))
    emu = reset_emulator()
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest

from compactifai.emulator import Emulator

__all__ = ["reset_emulator", "reset_when_used", "running_emulator"]

Scope = Literal["session", "package", "module", "class", "function"]


def running_emulator(*, name: str = "emulator", scope: Scope = "module", **options: Any) -> Any:
    """A fixture ``name``: one emulator started with ``options`` (:class:`Emulator`'s), shared
    by the tests of ``scope`` and stopped after them."""

    def running() -> Iterator[Emulator]:
        with Emulator(**options) as emulator:
            yield emulator

    return pytest.fixture(running, scope=scope, name=name)


def reset_emulator(of: str = "emulator", *, name: str = "emu") -> Any:
    """A fixture ``name``: the emulator of fixture ``of`` with nothing left from an earlier test
    (faults, usage, requests, files, stored responses, a changed catalog), reset again after."""

    def reset(request: pytest.FixtureRequest) -> Iterator[Emulator]:
        emulator: Emulator = request.getfixturevalue(of)
        emulator.reset()
        yield emulator
        emulator.reset()

    return pytest.fixture(reset, name=name)


def reset_when_used(of: str = "emu") -> Any:
    """An autouse fixture that resets the emulator of fixture ``of`` before each test that uses
    it (for suites whose tests ask for the running emulator by name)."""

    def reset_if_used(request: pytest.FixtureRequest) -> None:
        if of in request.fixturenames:
            request.getfixturevalue(of).reset()

    return pytest.fixture(reset_if_used, autouse=True, name=f"_reset_{of}")
