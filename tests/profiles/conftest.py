"""Fixtures for the model-profile tests: a fresh emulator per test (tests change its catalog)
and a process cache of served catalogs emptied around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compactifai import _served_catalog
from compactifai.emulator import Emulator
from tests.emulator_fixtures import running_emulator

pytestmark = pytest.mark.emulator

KEY = "profiles-test-key"


@pytest.fixture(autouse=True)
def _fresh_catalog_cache() -> Iterator[None]:
    _served_catalog.forget()
    yield
    _served_catalog.forget()


# A fresh one per test: tests change its catalog.
emu = running_emulator(name="emu", scope="function", api_keys=(KEY,))


def catalog_reads(emulator: Emulator) -> int:
    """How many GET /v1/models the emulator answered."""
    return sum(1 for r in emulator.requests if (r.method, r.path) == ("GET", "/v1/models"))
