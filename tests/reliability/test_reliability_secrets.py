"""The API key never leaks: one module checking every place a key could surface."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import httpx
import pytest

from compactifai import AsyncCompactifAIClient, AuthenticationError, CompactifAIClient
from compactifai.emulator import Emulator
from tests.emulator_fixtures import running_emulator
from tests.reliability.surfaces import MODEL

SECRET = "sk-cai-SECRET-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


def _langchain_objects() -> list[object]:
    from langchain_compactifai import ChatCompactifAI, CompactifAI

    return [ChatCompactifAI(api_key=SECRET), CompactifAI(api_key=SECRET)]


def _llama_index_object() -> object:
    from llama_index_compactifai import CompactifAI

    return CompactifAI(api_key=SECRET)


def test_clients_repr_str_and_pickle() -> None:
    for client in (CompactifAIClient(api_key=SECRET), AsyncCompactifAIClient(api_key=SECRET)):
        assert SECRET not in repr(client)
        assert SECRET not in str(client)
        with pytest.raises(TypeError):
            pickle.dumps(client)


def test_langchain_repr_model_dump_dumpd_dumps_and_langsmith_params() -> None:
    from langchain_core.load import dumpd, dumps

    for model in _langchain_objects():
        assert SECRET not in repr(model)
        assert SECRET not in str(model)
        assert SECRET not in json.dumps(model.model_dump(), default=str)  # type: ignore[attr-defined]
        assert SECRET not in json.dumps(dumpd(model))
        assert SECRET not in dumps(model)
        assert SECRET not in json.dumps(model._get_ls_params(), default=str)  # type: ignore[attr-defined]
        assert SECRET not in json.dumps(model._identifying_params, default=str)  # type: ignore[attr-defined]
        # The secret is declared so LangChain's serializer replaces it with an env reference.
        assert model.lc_secrets == {"api_key": "COMPACTIFAI_API_KEY"}  # type: ignore[attr-defined]


def test_llama_index_repr_to_dict_to_json_and_model_dump() -> None:
    llm = _llama_index_object()
    assert SECRET not in repr(llm)
    assert SECRET not in str(llm)
    assert SECRET not in json.dumps(llm.to_dict(), default=str)  # type: ignore[attr-defined]
    assert SECRET not in llm.to_json()  # type: ignore[attr-defined]
    assert SECRET not in json.dumps(llm.model_dump(), default=str)  # type: ignore[attr-defined]
    assert SECRET not in llm.model_dump_json()  # type: ignore[attr-defined]


emulator = running_emulator(api_keys=(SECRET,))


def test_exception_messages_never_contain_the_key(emulator: Emulator) -> None:
    wrong = SECRET[::-1]
    with CompactifAIClient(base_url=emulator.base_url, api_key=wrong) as client:
        with pytest.raises(AuthenticationError) as info:
            client.list_models()
    text = f"{info.value} {info.value!r} {info.value.body} {info.value.args}"
    assert wrong not in text
    with CompactifAIClient(
        base_url="http://127.0.0.1:9/v1", api_key=SECRET, max_retries=0
    ) as client:
        with pytest.raises(Exception) as connection_info:
            client.list_models()
    assert (
        SECRET
        not in f"{connection_info.value} {connection_info.value!r} {connection_info.value.__cause__!r}"
    )


def test_debug_logs_of_every_layer_never_contain_the_key(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_compactifai import ChatCompactifAI
    from llama_index_compactifai import CompactifAI

    with caplog.at_level(logging.DEBUG):
        with CompactifAIClient(base_url=emulator.base_url, api_key=SECRET) as client:
            client.list_models()
        ChatCompactifAI(model=MODEL, base_url=emulator.base_url, api_key=SECRET).invoke("hello")
        CompactifAI(model=MODEL, base_url=emulator.base_url, api_key=SECRET).chat(
            [ChatMessage(role="user", content="hello")]
        )
    assert any(r.name.startswith(("httpx", "httpcore", "compactifai")) for r in caplog.records)
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


def test_emulator_request_log_keeps_no_credentials(emulator: Emulator) -> None:
    with CompactifAIClient(base_url=emulator.base_url, api_key=SECRET) as client:
        client.list_models()
    assert emulator.requests
    assert all(SECRET not in json.dumps(r.headers) for r in emulator.requests)


def test_no_cassette_contains_a_key_or_bearer_token() -> None:
    cassettes = sorted((ROOT / "cassettes").rglob("*.yaml"))
    assert cassettes, "no cassettes found"
    for path in cassettes:
        text = path.read_text()
        assert "Bearer " not in text, f"{path} holds an Authorization header"
        for key in (SECRET, "test-key", "replay-key"):
            assert key not in text, f"{path} holds an API key"


def test_plain_http_key_warning_names_no_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="compactifai"):
        CompactifAIClient(api_key=SECRET, base_url="http://secrets-test.example.invalid/v1")
    assert "unencrypted" in caplog.text
    assert SECRET not in caplog.text


def test_key_travels_only_in_the_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"object": "list", "data": []})

    client = CompactifAIClient(
        api_key=SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    client.list_models()
    [request] = seen
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(request.url)
    assert all(SECRET not in v for k, v in request.headers.items() if k != "authorization")
