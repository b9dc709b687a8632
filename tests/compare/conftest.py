"""Fixtures for the compare tests: one live emulator on loopback (offline) for the session.

The root conftest exports replay placeholders as ``COMPACTIFAI_*``; tests here pass the
emulator's URL and key explicitly, or set/remove the variables themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compactifai.emulator import Emulator

# A pair served by both emulator catalogs (today's and the reference page's).
SLIM = "cai-mistral-small-3-1-slim"
ORIGINAL = "mistral-small-3-1"


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator(api_keys=("test-key",), chunk_delay=0.002) as emulator:
        yield emulator


@pytest.fixture
def live(emu: Emulator) -> Emulator:
    emu.reset()
    return emu
