"""CompactifAI (BaseLLM over POST /completions): request bodies, batching, usage, streaming."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.prompts import PromptTemplate

from compactifai import MissingAPIKeyError, RequestValidationError
from langchain_compactifai import CompactifAI

BASE_URL = "https://api.test.invalid/v1"


class FakeCompletions:
    """Answers ``/completions`` with one choice per prompt, echoing the prompt index."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        # Answer out of order: the adapter must place choices by their index.
        choices = [
            {"index": i, "text": f" answer to {p!r}", "finish_reason": "length"}
            for i, p in reversed(list(enumerate(prompts)))
        ]
        usage = {"prompt_tokens": 4 * len(prompts), "completion_tokens": 6 * len(prompts)}
        return httpx.Response(
            200,
            json={"id": "cmpl-1", "model": body["model"], "choices": choices, "usage": usage},
            headers={"x-request-id": "req-9"},
        )

    def llm(self, **kwargs: Any) -> CompactifAI:
        return CompactifAI(
            api_key="k",
            base_url=BASE_URL,
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self)),
            **kwargs,
        )


@pytest.fixture
def api() -> FakeCompletions:
    return FakeCompletions()


def test_invoke_sends_fields(api: FakeCompletions) -> None:
    llm = api.llm(max_tokens=32, temperature=0.5, top_p=0.8, stop=["\n\n"], user="u-7")
    assert llm.invoke("Tensor networks are") == " answer to 'Tensor networks are'"
    assert api.bodies[-1] == {
        "model": "hypernova-60b",
        "prompt": "Tensor networks are",
        "max_tokens": 32,
        "temperature": 0.5,
        "top_p": 0.8,
        "stop": ["\n\n"],
        "user": "u-7",
    }
    llm.invoke("x", stop=["."], model="gpt-oss-120b")
    assert api.bodies[-1]["stop"] == ["."]
    assert api.bodies[-1]["model"] == "gpt-oss-120b"


def test_generate_batches_prompts_in_one_request_with_usage(api: FakeCompletions) -> None:
    result = api.llm().generate(["one", "two", "three"])
    assert len(api.bodies) == 1
    assert api.bodies[0]["prompt"] == ["one", "two", "three"]
    assert [g[0].text for g in result.generations] == [
        " answer to 'one'",
        " answer to 'two'",
        " answer to 'three'",
    ]
    assert result.generations[0][0].generation_info == {"finish_reason": "length"}
    assert result.llm_output is not None
    assert result.llm_output["token_usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 18,
        "total_tokens": 30,
    }
    assert result.llm_output["model_name"] == "hypernova-60b"
    assert result.llm_output["request_id"] == "req-9"


def test_batch_and_abatch(api: FakeCompletions) -> None:
    assert api.llm().batch(["a", "b"]) == [" answer to 'a'", " answer to 'b'"]


async def test_async_paths(api: FakeCompletions) -> None:
    llm = api.llm()
    assert await llm.ainvoke("a") == " answer to 'a'"
    assert await llm.abatch(["a", "b"]) == [" answer to 'a'", " answer to 'b'"]
    assert [c async for c in llm.astream("a")] == [" answer to 'a'"]


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.results: list[LLMResult] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def test_stream_is_one_chunk_and_fires_new_token(api: FakeCompletions) -> None:
    handler = _Tokens()
    chunks = list(api.llm().stream("a", config={"callbacks": [handler]}))
    assert chunks == [" answer to 'a'"]
    assert handler.tokens == [" answer to 'a'"]
    assert "stream" not in api.bodies[-1]


def test_streaming_flag_fires_token_on_invoke(api: FakeCompletions) -> None:
    handler = _Tokens()
    assert api.llm(streaming=True).invoke("a", config={"callbacks": [handler]}) == (
        " answer to 'a'"
    )
    assert handler.tokens == [" answer to 'a'"]
    assert handler.results[0].llm_output is not None
    assert handler.results[0].llm_output["token_usage"]["total_tokens"] == 10


def test_in_a_chain(api: FakeCompletions) -> None:
    chain = PromptTemplate.from_template("Define {term}:") | api.llm()
    assert chain.invoke({"term": "slim"}) == " answer to 'Define slim:'"


def test_ls_params_and_secrets(api: FakeCompletions) -> None:
    llm = api.llm(max_tokens=5, temperature=0.1)
    params = llm._get_ls_params(model="m2")
    assert params == {
        "ls_provider": "compactifai",
        "ls_model_name": "m2",
        "ls_model_type": "llm",
        "ls_temperature": 0.1,
        "ls_max_tokens": 5,
    }
    assert "k" not in repr(llm.api_key)
    assert llm.lc_secrets == {"api_key": "COMPACTIFAI_API_KEY"}
    assert llm._llm_type == "compactifai"


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="COMPACTIFAI_API_KEY"):
        CompactifAI(base_url=BASE_URL).invoke("x")


def test_invalid_params_fail_before_sending(api: FakeCompletions) -> None:
    with pytest.raises(RequestValidationError, match="temperature"):
        api.llm(temperature=5).invoke("x")
    assert api.bodies == []


@pytest.mark.vcr
def test_completion_against_the_service() -> None:
    llm = CompactifAI(max_tokens=40, temperature=0)
    result = llm.generate(["The capital of France is Paris. The capital of France is"])
    text = result.generations[0][0].text
    assert text.strip()
    assert result.llm_output is not None
    usage = result.llm_output["token_usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.vcr
async def test_async_batch_against_the_service() -> None:
    llm = CompactifAI(max_tokens=20, temperature=0)
    texts = await llm.abatch(["Paris is in", "Berlin is in"])
    assert len(texts) == 2 and all(t.strip() for t in texts)


async def test_errors_carry_langchain_classification() -> None:
    from langchain_core.exceptions import ModelAuthenticationError, ModelRateLimitError

    def handler(request: httpx.Request) -> httpx.Response:
        if b"limit" in request.content:
            return httpx.Response(429, json={"error": {"message": "slow down"}})
        return httpx.Response(401, json={"detail": "Token is not associated with a valid user"})

    transport = httpx.MockTransport(handler)
    llm = CompactifAI(
        api_key="k",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    with pytest.raises(ModelAuthenticationError, match="valid user"):
        llm.invoke("x")
    with pytest.raises(ModelAuthenticationError):
        await llm.ainvoke("x")
    with pytest.raises(ModelRateLimitError) as info:
        list(llm.stream("limit"))
    assert info.value.is_retryable


def test_chain_with_both_models_round_trips_through_dumpd_and_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_core.load import dumpd, load

    from langchain_compactifai import ChatCompactifAI

    monkeypatch.setenv("COMPACTIFAI_API_KEY", "sk-from-env")
    prompt = PromptTemplate.from_template("Say {word}")
    chain = prompt | CompactifAI(model="hypernova-60b", max_tokens=7, base_url=BASE_URL)
    chat_chain = prompt | ChatCompactifAI(model="gpt-oss-120b", temperature=0.3)

    for original in (chain, chat_chain):
        serialized = dumpd(original)
        assert "sk-from-env" not in json.dumps(serialized)
        restored = load(
            serialized,
            valid_namespaces=["langchain_compactifai"],
            allowed_objects=[PromptTemplate, CompactifAI, ChatCompactifAI, type(chain)],
            secrets_from_env=True,
        )
        model = restored.last
        assert type(model) is type(original.last)
        assert model.model_name == original.last.model_name
        assert model.api_key is not None
        assert model.api_key.get_secret_value() == "sk-from-env"
        assert model.model_dump() == original.last.model_dump()
    assert restored.last.temperature == 0.3
