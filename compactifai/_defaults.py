"""Defaults shared by the clients and the integrations (importable without httpx).

The package's environment variables are read here and nowhere else, each time a value is
needed (so a test or an application that sets one later is honoured).
"""

from __future__ import annotations

import os

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "env_api_key",
    "env_base_url",
    "env_setting",
]

DEFAULT_BASE_URL = "https://api.compactif.ai/v1"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
API_KEY_ENV = "COMPACTIFAI_API_KEY"
BASE_URL_ENV = "COMPACTIFAI_BASE_URL"


def env_setting(name: str, default: str | None = None) -> str | None:
    """The ``COMPACTIFAI_*`` variable ``name``; unset or empty gives ``default``."""
    return os.environ.get(name) or default


def env_api_key() -> str | None:
    """``COMPACTIFAI_API_KEY``, or None."""
    return env_setting(API_KEY_ENV)


def env_base_url(default: str | None = DEFAULT_BASE_URL) -> str | None:
    """``COMPACTIFAI_BASE_URL``, else ``default`` (the global endpoint)."""
    return env_setting(BASE_URL_ENV, default)
