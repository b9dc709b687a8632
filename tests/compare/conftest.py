"""Fixtures for the compare tests: one live emulator on loopback (offline) for the session.

The root conftest exports replay placeholders as ``COMPACTIFAI_*``; tests here pass the
emulator's URL and key explicitly, or set/remove the variables themselves.
"""

from __future__ import annotations

from tests.emulator_fixtures import reset_emulator, running_emulator

# A pair served by both emulator catalogs (today's and the reference page's).
SLIM = "cai-mistral-small-3-1-slim"
ORIGINAL = "mistral-small-3-1"


emu = running_emulator(name="emu", scope="session", api_keys=("test-key",), chunk_delay=0.002)
live = reset_emulator("emu", name="live")
