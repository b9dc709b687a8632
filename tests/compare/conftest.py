"""Fixtures for the compare tests: one live emulator on loopback (offline) for the session.

The root conftest exports replay placeholders as ``COMPACTIFAI_*``; tests here pass the
emulator's URL and key explicitly, or set/remove the variables themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compactifai.emulator import Emulator

SLIM = "cai-llama-3-3-70b-slim"
ORIGINAL = "llama-3-3-70b"


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator(api_keys=("test-key",), chunk_delay=0.002) as emulator:
        yield emulator


@pytest.fixture
def live(emu: Emulator) -> Emulator:
    emu.reset()
    return emu
