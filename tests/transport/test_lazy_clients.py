"""The transport clients a LangChain or LlamaIndex model object holds: created once, closed once."""

from __future__ import annotations

import asyncio
import copy
import gc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient
from langchain_compactifai import ChatCompactifAI
from langchain_compactifai import CompactifAI as LangChainCompletionLLM
from llama_index_compactifai import CompactifAI as LlamaIndexLLM

BASE_URL = "https://api.test.invalid/v1"

MODEL_CLASSES: dict[str, Callable[..., Any]] = {
    "langchain-chat": ChatCompactifAI,
    "langchain-llm": LangChainCompletionLLM,
    "llama-index": LlamaIndexLLM,
}


def _caller_clients(name: str) -> dict[str, Any]:
    async_field = "async_http_client" if name == "llama-index" else "http_async_client"
    return {"http_client": httpx.Client(), async_field: httpx.AsyncClient()}


@pytest.fixture(params=list(MODEL_CLASSES))
def model_class(request: pytest.FixtureRequest) -> tuple[str, Callable[..., Any]]:
    return request.param, MODEL_CLASSES[request.param]


def test_one_sync_client_per_model_closed_when_the_model_is_collected(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    _, cls = model_class
    model = cls(api_key="k", base_url=BASE_URL)
    assert model.client is model.client
    pool = model.client.http_client
    assert not pool.is_closed
    del model
    gc.collect()
    assert pool.is_closed


def test_async_pools_per_event_loop_closed_at_its_end_and_by_aclose(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    _, cls = model_class
    model = cls(api_key="k", base_url=BASE_URL)

    async def use() -> tuple[Any, httpx.AsyncClient]:
        client = model.async_client
        assert model.async_client is client  # shared by calls on one loop
        return client, client.http_client

    first, first_pool = asyncio.run(use())
    assert first_pool.is_closed  # closed while its loop was still running, at the loop's end
    second, second_pool = asyncio.run(use())
    assert first is not second  # a second asyncio.run never reuses the first loop's pool
    sync_pool = model.client.http_client
    asyncio.run(model.aclose())
    assert second_pool.is_closed and sync_pool.is_closed


def test_callers_httpx_clients_are_used_as_given_and_never_closed(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    name, cls = model_class
    given = _caller_clients(name)
    model = cls(api_key="k", base_url=BASE_URL, **given)
    assert model.client.http_client is given["http_client"]
    async_given = next(v for v in given.values() if isinstance(v, httpx.AsyncClient))

    async def pool(of: Any) -> httpx.AsyncClient:
        return of.async_client.http_client

    assert asyncio.run(pool(model)) is async_given
    assert asyncio.run(pool(model)) is async_given  # even from another loop: the caller decides
    asyncio.run(model.aclose())
    del model
    gc.collect()
    assert not given["http_client"].is_closed and not async_given.is_closed
    given["http_client"].close()
    asyncio.run(async_given.aclose())


def test_a_deep_copy_opens_its_own_pools_and_shares_the_callers(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    name, cls = model_class
    model = cls(api_key="k", base_url=BASE_URL)
    original_pool = model.client.http_client
    clone = copy.deepcopy(model)
    assert clone.client is not model.client
    clone.close()
    assert not original_pool.is_closed  # closing the copy leaves the original working
    given = _caller_clients(name)
    with_given = cls(api_key="k", base_url=BASE_URL, **given)
    assert copy.deepcopy(with_given).client.http_client is given["http_client"]
    model.close()


def test_a_loop_closed_by_hand_closes_its_pools_first(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    _, cls = model_class
    model = cls(api_key="k", base_url=BASE_URL)

    async def pool() -> httpx.AsyncClient:
        return model.async_client.http_client

    loop = asyncio.new_event_loop()
    opened = loop.run_until_complete(pool())
    assert not opened.is_closed
    loop.close()  # no shutdown_asyncgens: the low-level way
    assert opened.is_closed


def test_a_pool_of_a_model_dropped_in_asyncio_run_is_closed_with_the_loop(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    """The closing task a collected client starts is cancelled by asyncio.run before it runs:
    the end of the loop still closes that pool."""
    _, cls = model_class

    async def open_and_drop() -> httpx.AsyncClient:
        pool = cls(api_key="k", base_url=BASE_URL).async_client.http_client
        gc.collect()  # the model and its client are gone; the loop ends right after
        return pool

    assert asyncio.run(open_and_drop()).is_closed


async def _a_clients_pool(client: AsyncCompactifAIClient) -> httpx.AsyncClient:
    return client.http_client


def test_a_client_used_by_two_asyncio_runs_gets_a_fresh_pool_in_each() -> None:
    client = AsyncCompactifAIClient(api_key="k", base_url=BASE_URL)
    first = asyncio.run(_a_clients_pool(client))
    second = asyncio.run(_a_clients_pool(client))
    assert first.is_closed and second.is_closed and first is not second


async def test_async_with_closes_the_models_and_the_clients_pools(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    _, cls = model_class
    async with cls(api_key="k", base_url=BASE_URL) as model:
        pool = model.async_client.http_client
    async with AsyncCompactifAIClient(api_key="k", base_url=BASE_URL) as client:
        client_pool = client.http_client
    assert pool.is_closed and client_pool.is_closed


async def test_a_dropped_models_pool_closes_while_its_loop_keeps_running(
    model_class: tuple[str, Callable[..., Any]],
) -> None:
    """A server's loop never ends: a model per request must not leave its pool open."""
    _, cls = model_class
    pool = cls(api_key="k", base_url=BASE_URL).async_client.http_client
    gc.collect()
    for _ in range(10):
        await asyncio.sleep(0)
    assert pool.is_closed
