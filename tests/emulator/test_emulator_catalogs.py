"""Which models the emulator serves: today's catalog, the reference page's, or a user's file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from compactifai.emulator import (
    DEFAULT_MODELS,
    REFERENCE_MODELS,
    CatalogError,
    Emulator,
    load_catalog,
)


def get(emu: Emulator, path: str) -> httpx.Response:
    return httpx.get(emu.base_url + path, headers={"Authorization": f"Bearer {emu.api_key}"})


def post(emu: Emulator, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        emu.base_url + path, json=body, headers={"Authorization": f"Bearer {emu.api_key}"}
    )


def test_catalogs_ship_as_json_package_data() -> None:
    folder = resources.files("compactifai.emulator").joinpath("catalogs")
    for name, models in (("current", DEFAULT_MODELS), ("reference", REFERENCE_MODELS)):
        data = json.loads(folder.joinpath(f"{name}.json").read_text("utf-8"))
        assert [item["id"] for item in data["data"]] == [m.id for m in models]


def test_current_catalog_has_no_usage_statistics_endpoint(emu: Emulator) -> None:
    assert emu.catalog_name == "current"
    r = post(emu, "/usage/completions", {"start_time": "2026-01-01T00:00:00Z"})
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})


def test_reference_catalog_serves_its_models_and_usage_statistics() -> None:
    with Emulator(catalog="reference") as emu:
        assert emu.catalog_name == "reference"
        chat = post(
            emu,
            "/chat/completions",
            {"model": "cai-llama-3-1-8b-slim", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert chat.status_code == 200
        assert "reasoning" not in chat.json()["choices"][0]["message"]
        usage = post(emu, "/usage/completions", {"start_time": "2020-01-01T00:00:00Z"})
        assert usage.status_code == 200
        # The reference page's listing has no capability flags.
        assert "capabilities" not in get(emu, "/models").json()["data"][0]
        missing = post(
            emu,
            "/chat/completions",
            {"model": "hypernova-60b", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert missing.status_code == 400
        assert "available: [deepseek-r1-0528, llama-4-scout" in missing.json()["error"]["message"]


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    return path


def test_a_json_file_shaped_like_get_models_is_served(tmp_path: Path) -> None:
    listing = {
        "object": "list",
        "data": [
            {
                "id": "nova-2027",
                "created": 1800000000,
                "object": "model",
                "owned_by": "multiverse_computing",
                "parameters_number": "70B",
                "capabilities": {
                    "supports_function_calling": False,
                    "supports_image": True,
                    "support_chat_completion": True,
                    "supports_video": True,
                },
                "pricing": {"input": 0.1},
                "emulator": {"reasoning": "always", "reasoning_efforts": ["low", "high"]},
            },
            # A known id without emulator facts keeps what the bundled catalog knows.
            {"id": "hypernova-60b", "object": "model", "owned_by": "multiverse_computing"},
        ],
    }
    with Emulator(catalog=write(tmp_path, listing)) as emu:
        served = get(emu, "/models").json()["data"]
        assert served[0] == {k: v for k, v in listing["data"][0].items() if k != "emulator"}
        assert get(emu, "/models/nova-2027").json()["pricing"] == {"input": 0.1}
        body = {"model": "nova-2027", "messages": [{"role": "user", "content": "Hi there?"}]}
        answer = post(emu, "/chat/completions", {**body, "reasoning_effort": "high"}).json()
        assert answer["choices"][0]["message"]["reasoning"]
        refused = post(emu, "/chat/completions", {**body, "reasoning_effort": "medium"})
        assert "supported: [low, high]" in refused.json()["error"]["message"]
        tools = [{"type": "function", "function": {"name": "f"}}]
        assert post(emu, "/chat/completions", {**body, "tools": tools}).status_code == 400
        flagship = {**body, "model": "hypernova-60b", "reasoning_effort": "max"}
        assert "low, medium, high" in post(emu, "/chat/completions", flagship).text
        gone = post(emu, "/chat/completions", {**body, "model": "glm-5-1"})
        assert gone.json()["error"]["message"] == (
            "Invalid request: Model 'glm-5-1' not found; available: [nova-2027, hypernova-60b]"
        )


def test_a_listing_without_capabilities_takes_tools_and_text(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, [{"id": "plain-1b"}]))
    (model,) = catalog.models
    assert model.supports_function_calling and model.supports_chat_completion
    assert not model.supports_image and not model.supports_reasoning
    assert catalog.usage_endpoint is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"object": "list", "data": []}, "at least one model"),
        ({"data": [{"object": "model"}]}, "string 'id'"),
        ({"data": [{"id": "a"}, {"id": "a"}]}, "duplicate model ids: a"),
        ({"data": [{"id": "a", "emulator": {"reasoning": "sometimes"}}]}, "emulator.reasoning"),
        ({"data": [{"id": "a", "capabilities": {"supports_image": "yes"}}]}, "supports_image"),
    ],
)
def test_a_bad_catalog_file_names_the_problem(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        Emulator(catalog=write(tmp_path, data))


def test_a_catalog_that_is_neither_a_name_nor_a_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="neither a catalog name"):
        Emulator(catalog="tomorrow")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(CatalogError, match="not valid JSON"):
        Emulator(catalog=tmp_path / "broken.json")
