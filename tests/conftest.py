"""Test-wide wiring: where cassettes live, how they are matched, and which server records them.

Replay (the default, and what CI does): HTTP comes from ``cassettes/`` and nothing reaches
the network. Re-record everything with one command::

    pytest --record-mode=rewrite

which records against a bundled emulator started for the session, or against the real
service when ``COMPACTIFAI_API_KEY`` is set.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from vcr import VCR

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
# In replay the base URL only has to be well formed: cassettes match on path, not host.
REPLAY_BASE_URL = "http://compactifai-replay.invalid/v1"
REPLAY_API_KEY = "replay-key"
SCRUBBED = "<scrubbed>"


def _recording(config: pytest.Config) -> bool:
    return str(config.getoption("--record-mode", default="none") or "none") != "none"


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in {"set-cookie", "authorization"}:
            headers[name] = [SCRUBBED]
    return response


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normalise_request(request: Any) -> Any:
    """Random UUIDs in bodies (fresh tool-call ids, say) would defeat body matching."""
    body = request.body
    if isinstance(body, bytes) and _UUID.search(body):
        request.body = _UUID.sub(b"<uuid>", body)
    return request


def _same_across_pythons(value: Any) -> Any:
    """A JSON body as every supported Python builds it. Python 3.13 strips the indentation of
    docstrings, so a tool description taken from one differs from 3.12's: both are compared as
    ``inspect.cleandoc`` leaves them (what 3.13 does, and what ``inspect.getdoc`` returns)."""
    if isinstance(value, dict):
        return {
            key: inspect.cleandoc(item)
            if key == "description" and isinstance(item, str)
            else _same_across_pythons(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_same_across_pythons(item) for item in value]
    return value


def _json_or_bytes(request: Any) -> Any:
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    try:
        return _same_across_pythons(json.loads(body))
    except (TypeError, ValueError):  # no body, or not JSON (a multipart upload): as sent
        return body


def _body(r1: Any, r2: Any) -> None:
    """vcrpy's matcher interface: raise when the bodies differ."""
    if _json_or_bytes(r1) != _json_or_bytes(r2):
        raise AssertionError("request bodies differ")


def pytest_recording_configure(config: pytest.Config, vcr: VCR) -> None:
    vcr.register_matcher("body_across_pythons", _body)


@pytest.fixture(scope="session")
def vcr_config(pytestconfig: pytest.Config) -> dict[str, Any]:
    return {
        # pytest-recording lets vcr_config win over --record-mode, so pass the flag through.
        "record_mode": pytestconfig.getoption("--record-mode", default="none") or "none",
        "filter_headers": [
            ("authorization", SCRUBBED),
            ("x-api-key", SCRUBBED),
            ("api-key", SCRUBBED),
        ],
        # The host differs between the emulator (a random port), the real API and replay.
        # Bodies compare as parsed JSON, the same on every supported Python (_same_across_pythons).
        "match_on": ["method", "path", "query", "body_across_pythons"],
        "allow_playback_repeats": True,
        "decode_compressed_response": True,
        "before_record_request": _normalise_request,
        "before_record_response": _scrub_response,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.module.__name__.split(".")[-1])


@pytest.fixture(scope="session", autouse=True)
def compactifai_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(base_url, api_key) that cassette-backed tests talk to; also exported as env vars.

    Replay: a placeholder; recording: the real API with a key, else a fresh emulator.
    """
    saved = {k: os.environ.get(k) for k in ("COMPACTIFAI_BASE_URL", "COMPACTIFAI_API_KEY")}
    emulator = None
    if not _recording(request.config):
        base_url, api_key = REPLAY_BASE_URL, REPLAY_API_KEY
    elif saved["COMPACTIFAI_API_KEY"]:
        base_url = saved["COMPACTIFAI_BASE_URL"] or "https://api.compactif.ai/v1"
        api_key = saved["COMPACTIFAI_API_KEY"] or ""
    else:
        from compactifai.emulator import Emulator

        emulator = Emulator(api_keys=("test-key",))
        emulator.start()
        base_url, api_key = emulator.base_url, emulator.api_key
    os.environ["COMPACTIFAI_BASE_URL"] = base_url
    os.environ["COMPACTIFAI_API_KEY"] = api_key
    try:
        yield base_url, api_key
    finally:
        if emulator is not None:
            emulator.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def _no_catalog_from_another_test() -> None:
    """Forget the served catalogs kept per process: a catalog one test listed (many mock
    servers share a base URL and key) decides which models another test may send."""
    from compactifai import _served_catalog

    _served_catalog.forget()
