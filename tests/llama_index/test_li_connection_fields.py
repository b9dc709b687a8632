"""The LlamaIndex model's connection fields accept only httpx's types (checked lazily)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llama_index_compactifai import CompactifAI


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
