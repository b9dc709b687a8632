"""Importing the LlamaIndex integration stays cheap; its connection fields stay typed."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from llama_index_compactifai import CompactifAI


def test_importing_the_package_leaves_httpx_and_the_client_for_the_first_call() -> None:
    code = (
        "import sys, llama_index_compactifai\n"
        "loaded = {'httpx', 'compactifai._client', 'compactifai._lazy_clients'} & set(sys.modules)\n"
        "assert not loaded, f'{loaded} imported by the package import'\n"
        "model = llama_index_compactifai.CompactifAI(api_key='k')\n"
        "assert 'httpx' not in sys.modules, 'httpx imported by constructing a model'\n"
        "model.client\n"
        "assert 'httpx' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("http_client", httpx.AsyncClient(), "expected an httpx.Client, got AsyncClient"),
        ("async_http_client", httpx.Client(), "expected an httpx.AsyncClient, got Client"),
        ("timeout", "soon", "timeout"),
    ],
)
def test_connection_fields_accept_only_httpx_types(field: str, value: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=field) as info:
        CompactifAI(api_key="k", **{field: value})
    assert expected in str(info.value)
    timeout = httpx.Timeout(3.0, connect=1.0)
    given = httpx.Client()
    model = CompactifAI(api_key="k", timeout=timeout, http_client=given)
    assert model.client.http_client is given
    assert model.client.timeout == timeout
