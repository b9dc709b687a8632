"""``python -m compactifai.emulator [--port N ...]``: same as ``compactifai emulator``.

Only the emulator subcommand is loaded (not the whole ``compactifai`` command line).
"""

from __future__ import annotations

import argparse
import sys

from compactifai.commands import emulator as command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compactifai.emulator",
        description=command.HELP,
        epilog=command.EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
