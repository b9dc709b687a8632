"""Cassette settings for the LangChain tests.

Two adjustments to the root ``vcr_config``, local to these modules:

- ``tests/conftest.py`` puts ``record_mode: "none"`` in ``vcr_config``, and pytest-recording
  lets that win over ``--record-mode``, so ``--record-mode=rewrite`` would never record (and
  its ``pytest_recording_configure`` hook hands VCR the raw ``"rewrite"``, which vcrpy
  rejects). Putting the command-line mode into ``vcr_config`` makes both work: pytest-recording
  then translates ``rewrite`` itself. Replay (``none``) stays the default.
- Some standard tests put random UUIDs in request bodies (``tool_example_to_messages`` makes
  fresh tool-call ids), so bodies are normalised before recording and before matching.

Remove the first once the root conftest is fixed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normalise_request(request: Any) -> Any:
    body = request.body
    if body and _UUID.search(body):
        request.body = _UUID.sub(b"<uuid>", body)
    return request


@pytest.fixture(scope="session")
def vcr_config(vcr_config: dict[str, Any], pytestconfig: pytest.Config) -> dict[str, Any]:
    mode = pytestconfig.getoption("--record-mode", default="none") or "none"
    return {**vcr_config, "record_mode": mode, "before_record_request": _normalise_request}
