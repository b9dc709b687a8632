"""``python -m compactifai.emulator [--port N ...]``: same as ``compactifai emulator``."""

from __future__ import annotations

import sys

from compactifai.cli import main

if __name__ == "__main__":
    sys.exit(main(["emulator", *sys.argv[1:]]))
