"""Defaults shared by the clients and the integrations (importable without httpx)."""

DEFAULT_BASE_URL = "https://api.compactif.ai/v1"
DEFAULT_TIMEOUT = 60.0
