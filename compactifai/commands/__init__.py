"""The ``compactifai`` subcommands: ``models``, ``chat``, ``usage`` and ``demo``.

Each module exposes ``HELP``, ``EXAMPLE``, ``add_arguments(parser)`` and ``run(args) -> int``;
``compactifai.cli`` registers them. Modules import only the standard library at import time,
so ``compactifai --help`` works without any extra installed.
"""
