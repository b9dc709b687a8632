"""Agents on a model without tools stop before any request, with an error that names the
models that have them; given tools by the live catalog, the same model runs the agent."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from compactifai import ToolCallingNotSupportedError
from compactifai.catalog import KNOWN_MODELS
from compactifai.emulator import Emulator
from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

from .conftest import KEY
from .test_live_catalog import CHANGED

pytestmark = pytest.mark.emulator

NO_TOOLS = "mistral-small-3-1"
CITY_SCHEMA = {"title": "City", "type": "object", "properties": {"name": {"type": "string"}}}
WITH_TOOLS = [i for i, info in KNOWN_MODELS.items() if info.supports_function_calling]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}."


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _chats(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path == "/v1/chat/completions")


def test_langchain_agent_on_a_model_without_tools_fails_before_sending(emu: Emulator) -> None:
    model = ChatCompactifAI(model=NO_TOOLS, api_key=KEY, base_url=emu.base_url)
    agent = create_agent(model, tools=[get_weather])
    with pytest.raises(ToolCallingNotSupportedError) as caught:
        agent.invoke({"messages": [("user", "Weather in Paris?")]})
    assert caught.value.model == NO_TOOLS
    assert caught.value.models_with_tools == WITH_TOOLS
    assert all(m in str(caught.value) for m in WITH_TOOLS)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ToolCallingNotSupportedError):
        model.with_structured_output(CITY_SCHEMA, method="function_calling")
    assert _chats(emu) == 0


def test_langchain_agent_gets_native_structured_output_from_the_profile(emu: Emulator) -> None:
    class City(BaseModel):
        """A city and its country."""

        name: str
        country: str

    model = ChatCompactifAI(model=NO_TOOLS, api_key=KEY, base_url=emu.base_url)
    # The profile says structured_output: create_agent asks for response_format, not a tool.
    agent = create_agent(model, tools=[], response_format=City)
    result = agent.invoke({"messages": [("user", "Lyon is a city in France.")]})
    assert result["structured_response"] == City(name="Lyon", country="France")
    (sent,) = [r.body for r in emu.requests if r.path == "/v1/chat/completions"]
    assert sent["response_format"]["type"] == "json_schema" and not sent.get("tools")


async def test_langchain_agent_runs_where_the_live_catalog_gives_tools(emu: Emulator) -> None:
    emu.serve_catalog(CHANGED)
    model = ChatCompactifAI(
        model=NO_TOOLS, api_key=KEY, base_url=emu.base_url, profile_from_api=True
    )
    agent = create_agent(model, tools=[get_weather])
    result = await agent.ainvoke({"messages": [("user", "What is the weather in Paris?")]})
    calls = [c for m in result["messages"] for c in getattr(m, "tool_calls", [])]
    assert [c["name"] for c in calls] == ["get_weather"]


async def test_llama_index_function_agent_on_a_model_without_tools_fails_before_sending(
    emu: Emulator,
) -> None:
    llm = CompactifAI(model=NO_TOOLS, api_key=KEY, base_url=emu.base_url)
    tools = [FunctionTool.from_defaults(fn=multiply)]
    # LlamaIndex's FunctionAgent checks metadata.is_function_calling_model itself, first.
    with pytest.raises(ValueError, match="FunctionCallingLLM"):
        await FunctionAgent(tools=tools, llm=llm).run(user_msg="Multiply 6 by 7.")
    # Every tool-calling entry point of the LLM refuses with the typed error.
    with pytest.raises(ToolCallingNotSupportedError) as caught:
        llm.chat_with_tools(tools, user_msg="Multiply 6 by 7.")
    assert caught.value.models_with_tools == WITH_TOOLS
    with pytest.raises(ToolCallingNotSupportedError):
        await llm.astream_chat_with_tools(tools, user_msg="Multiply 6 by 7.")
    assert _chats(emu) == 0


async def test_llama_index_function_agent_runs_where_the_live_catalog_gives_tools(
    emu: Emulator,
) -> None:
    emu.serve_catalog(CHANGED)
    llm = CompactifAI(model=NO_TOOLS, api_key=KEY, base_url=emu.base_url, profile_from_api=True)
    calls: list[tuple[int, int]] = []

    def recorded_multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        calls.append((a, b))
        return a * b

    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=recorded_multiply)], llm=llm)
    await agent.run(user_msg="Use the recorded_multiply tool to multiply 6 and 7.")
    assert calls == [(6, 7)]


def test_tools_on_a_model_the_table_does_not_know_are_the_servers_call(emu: Emulator) -> None:
    tools = [FunctionTool.from_defaults(fn=multiply)]
    unknown = "qwen-3-6-27b"  # the table leaves its tools open; the emulator serves them
    llm = CompactifAI(model=unknown, api_key=KEY, base_url=emu.base_url)
    assert llm.metadata.is_function_calling_model is False  # agents pick ReAct for it
    response = llm.chat_with_tools(tools, user_msg="Use multiply to multiply 6 and 7.")
    assert [(t.tool_name, t.tool_kwargs) for t in llm.get_tool_calls_from_response(response)] == [
        ("multiply", {"a": 6, "b": 7})
    ]
    assert "tool_calling" not in (ChatCompactifAI(model=unknown, api_key=KEY).profile or {})
    refusing = CompactifAI(
        model="hypernova-60b", api_key=KEY, base_url=emu.base_url, is_function_calling_model=False
    )
    with pytest.raises(ToolCallingNotSupportedError, match="is_function_calling_model"):
        refusing.chat_with_tools(tools, user_msg="Multiply 6 by 7.")
