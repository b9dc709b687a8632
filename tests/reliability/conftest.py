from __future__ import annotations

from tests.emulator_fixtures import reset_emulator, running_emulator

emulator = running_emulator(api_keys=("reliability-key",))
emu = reset_emulator()
