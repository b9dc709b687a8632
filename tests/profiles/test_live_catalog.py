"""``profile_from_api``: profiles and metadata follow the live catalog (the emulator's, changed
at run time), read once per process; a catalog that cannot be read falls back to the table."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai.emulator import Emulator
from compactifai.profiles import (
    aload_profiles,
    bundled_capabilities,
    load_profiles,
    profile,
)
from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

from .conftest import KEY, catalog_reads

pytestmark = pytest.mark.emulator

NEW_MODEL = "cai-nova-2027-slim"
# Today's catalog changed for an account: a model added, the Mistral model given tools.
CHANGED = {
    "object": "list",
    "data": [
        {
            "id": "hypernova-60b",
            "owned_by": "multiverse_computing",
            "parameters_number": "60B",
            "capabilities": {
                "supports_audio": False,
                "supports_image": False,
                "supports_function_calling": True,
                "support_chat_completion": True,
                "supports_responses": True,
            },
        },
        {
            "id": "mistral-small-3-1",
            "owned_by": "mistralai",
            "parameters_number": "24B",
            "capabilities": {
                "supports_image": True,
                "supports_function_calling": True,
                "support_chat_completion": True,
            },
        },
        {
            "id": NEW_MODEL,
            "owned_by": "multiverse_computing",
            "parameters_number": "20B",
            "capabilities": {
                "supports_image": True,
                "supports_function_calling": True,
                "support_chat_completion": True,
            },
        },
    ],
}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def _post_catalog(emu: Emulator, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{emu.root_url}/_emulator/catalog",
        json=body,
        headers={"Authorization": f"Bearer {KEY}", **headers},
    )


def _chat(emu: Emulator, model: str, **kwargs: Any) -> ChatCompactifAI:
    return ChatCompactifAI(model=model, api_key=KEY, base_url=emu.base_url, **kwargs)


def test_the_emulators_catalog_changes_through_its_control_endpoint(emu: Emulator) -> None:
    assert httpx.post(f"{emu.root_url}/_emulator/catalog", json=CHANGED).status_code == 401
    text = _post_catalog(emu, None, **{"content-type": "text/plain"})
    assert text.status_code == 415
    assert _post_catalog(emu, {"data": [{"name": "no id"}]}).status_code == 400
    assert _post_catalog(emu, CHANGED).json() == {
        "models": ["hypernova-60b", "mistral-small-3-1", NEW_MODEL]
    }
    with CompactifAIClient(api_key=KEY, base_url=emu.base_url) as client:
        assert [m.id for m in client.list_models()] == [m["id"] for m in CHANGED["data"]]
        # The served flags are the new ones: the Mistral model now takes tools.
        reply = client.create_chat_completion(
            model="mistral-small-3-1",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[TOOL],
        )
        assert reply.choices[0].message.tool_calls
        emu.reset()  # the start catalog again
        assert NEW_MODEL not in {m.id for m in client.list_models()}


def test_profiles_follow_the_live_catalog(emu: Emulator) -> None:
    emu.serve_catalog(CHANGED)
    new = _chat(emu, NEW_MODEL, profile_from_api=True).profile or {}
    assert new["tool_calling"] is True and new["image_inputs"] is True
    assert new["audio_inputs"] is False  # a flag the listing leaves out is false
    assert "max_input_tokens" not in new  # the API publishes no context windows
    mistral = _chat(emu, "mistral-small-3-1", profile_from_api=True)
    assert (mistral.profile or {})["tool_calling"] is True  # the table says no
    # Facts the listing does not carry still come from the table.
    assert (mistral.profile or {})["max_input_tokens"] == 131_072
    assert (mistral.profile or {})["reasoning_output"] is False
    # and tools go through to the server, which takes them now.
    reply = mistral.bind_tools([TOOL], tool_choice="any").invoke("Weather in Paris?")
    assert [call["name"] for call in reply.tool_calls] == ["get_weather"]
    sent = emu.requests[-1].body
    assert (sent["model"], [t["function"]["name"] for t in sent["tools"]]) == (
        "mistral-small-3-1",
        ["get_weather"],
    )
    # Without profile_from_api the bundled table speaks.
    assert (_chat(emu, "mistral-small-3-1").profile or {})["tool_calling"] is False
    assert _chat(emu, NEW_MODEL).profile == profile(bundled_capabilities(NEW_MODEL))
    assert catalog_reads(emu) == 1  # read once for the process, base URL and key


def test_llama_index_metadata_follows_the_live_catalog(emu: Emulator) -> None:
    emu.serve_catalog(CHANGED)
    llm = CompactifAI(model=NEW_MODEL, api_key=KEY, base_url=emu.base_url, profile_from_api=True)
    assert llm.metadata.is_function_calling_model is True
    assert llm.metadata.context_window == 8192  # unknown: the documented default
    llm.model = "mistral-small-3-1"
    assert llm.metadata.is_function_calling_model is True
    assert llm.metadata.context_window == 131_072
    bundled = CompactifAI(model="mistral-small-3-1", api_key=KEY, base_url=emu.base_url)
    assert bundled.metadata.is_function_calling_model is False
    assert catalog_reads(emu) == 1


def test_a_read_catalog_is_kept_until_refreshed_or_listed_again(emu: Emulator) -> None:
    client = CompactifAIClient(api_key=KEY, base_url=emu.base_url)
    assert NEW_MODEL not in load_profiles(client)
    emu.serve_catalog(CHANGED)
    assert NEW_MODEL not in load_profiles(client)  # no second request
    assert catalog_reads(emu) == 1
    assert load_profiles(client, refresh=True)[NEW_MODEL]["tool_calling"] is True
    emu.reset()
    client.list_models()  # any listing (e.g. the churn error's) refreshes the same cache
    assert NEW_MODEL not in load_profiles(client)
    client.close()


def test_each_account_has_its_own_catalog() -> None:
    with Emulator(api_keys=(KEY, "other-key")) as emu:
        mine = CompactifAIClient(api_key=KEY, base_url=emu.base_url)
        load_profiles(mine)
        emu.serve_catalog(CHANGED)
        other = CompactifAIClient(api_key="other-key", base_url=emu.base_url)
        assert NEW_MODEL in load_profiles(other)
        assert NEW_MODEL not in load_profiles(mine)


def test_a_failed_catalog_read_falls_back_to_the_table_and_warns_once(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.inject_fault("status", status=503, count=10, path="/v1/models")
    with caplog.at_level(logging.WARNING, logger="compactifai"):
        for _ in range(3):
            model = _chat(emu, "mistral-small-3-1", profile_from_api=True, max_retries=0)
            assert model.profile == profile(bundled_capabilities("mistral-small-3-1"))
        llm = CompactifAI(
            model="mistral-small-3-1",
            api_key=KEY,
            base_url=emu.base_url,
            profile_from_api=True,
            max_retries=0,
        )
        assert llm.metadata.is_function_calling_model is False
    warnings = [r for r in caplog.records if r.name == "compactifai"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "GET /models" in warnings[0].getMessage() and "503" in warnings[0].getMessage()
    assert KEY not in warnings[0].getMessage()
    # One request failed; the failure is remembered, not retried for every model.
    assert [fault["remaining"] for fault in emu.faults] == [9]


def test_concurrent_first_reads_from_threads_make_one_request() -> None:
    with Emulator(api_keys=(KEY,), latency=0.2) as emu:
        client = CompactifAIClient(api_key=KEY, base_url=emu.base_url)
        start = threading.Barrier(8)
        results: list[dict[str, Any]] = []

        def read() -> None:
            start.wait()
            results.append(load_profiles(client))

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert catalog_reads(emu) == 1
        assert len(results) == 8 and all(r == results[0] for r in results)
        assert results[0]["hypernova-60b"]["tool_calling"] is True


async def test_concurrent_first_reads_from_coroutines_make_one_request() -> None:
    with Emulator(api_keys=(KEY,), latency=0.2) as emu:
        async with AsyncCompactifAIClient(api_key=KEY, base_url=emu.base_url) as client:
            results = await asyncio.gather(*(aload_profiles(client) for _ in range(8)))
        assert catalog_reads(emu) == 1
        assert all(r == results[0] for r in results)
        assert results[0]["mistral-small-3-1"]["tool_calling"] is False


async def test_an_async_read_serves_the_models_constructed_later(emu: Emulator) -> None:
    emu.serve_catalog(CHANGED)
    async with AsyncCompactifAIClient(api_key=KEY, base_url=emu.base_url) as client:
        await aload_profiles(client)  # in the loop, without blocking it
    assert (_chat(emu, NEW_MODEL, profile_from_api=True).profile or {})["tool_calling"] is True
    llm = CompactifAI(model=NEW_MODEL, api_key=KEY, base_url=emu.base_url, profile_from_api=True)
    assert llm.metadata.is_function_calling_model is True
    assert catalog_reads(emu) == 1
