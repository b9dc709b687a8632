"""Shared by the examples: the real API when a key is set, otherwise the offline emulator.

Each example's own code reads like production code (``ChatCompactifAI()``, ``CompactifAI()``
with no connection arguments): the libraries read ``COMPACTIFAI_API_KEY`` and
``COMPACTIFAI_BASE_URL``, and this helper sets them to a local emulator when no key is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def compactifai_or_emulator() -> Iterator[str]:
    """Yield the base URL in use: the configured service, or a freshly started emulator."""
    if os.environ.get("COMPACTIFAI_API_KEY"):
        yield os.environ.get("COMPACTIFAI_BASE_URL", "https://api.compactif.ai/v1")
        return
    from compactifai.emulator import Emulator  # pip install "compactifai-integrations[emulator]"

    with Emulator() as emulator:
        os.environ["COMPACTIFAI_BASE_URL"] = emulator.base_url
        os.environ["COMPACTIFAI_API_KEY"] = emulator.api_key
        print(f"(no COMPACTIFAI_API_KEY: using the offline emulator at {emulator.base_url})")
        try:
            yield emulator.base_url
        finally:
            del os.environ["COMPACTIFAI_BASE_URL"], os.environ["COMPACTIFAI_API_KEY"]
