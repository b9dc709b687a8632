"""Importing an integration loads neither httpx nor the request logic (issue 23's import target).

The figure itself is timed by ``python -m bench.run`` (noisy on a shared machine); what makes it
is checked here, exactly: which modules an ``import`` of each integration brings in.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# Loaded with the first client or the first call, never by the package import.
LOADED_ON_FIRST_USE = (
    "httpx",
    "compactifai._client",
    "compactifai._lazy_clients",
    "compactifai._protocol",
    "compactifai.responses",
)


@pytest.mark.parametrize(
    ("package", "model"),
    [
        ("langchain_compactifai", "ChatCompactifAI"),
        ("langchain_compactifai", "CompactifAI"),
        ("llama_index_compactifai", "CompactifAI"),
    ],
)
def test_the_package_import_leaves_the_transport_for_the_first_use(
    package: str, model: str
) -> None:
    code = (
        f"import sys, {package}\n"
        f"early = set({LOADED_ON_FIRST_USE!r}) & set(sys.modules)\n"
        "assert not early, f'{sorted(early)} imported by the package import'\n"
        f"llm = {package}.{model}(api_key='k')\n"
        "assert 'httpx' not in sys.modules, 'httpx imported by constructing a model'\n"
        "llm.client\n"
        "assert {'httpx', 'compactifai._client'} <= set(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
