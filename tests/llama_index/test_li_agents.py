"""Agents and structured output on ``CompactifAI``: ``FunctionAgent`` (native tool calls,
streaming and not), ``ReActAgent`` (text protocol), ``structured_predict`` and
``as_structured_llm``."""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import (
    AgentStream,
    FunctionAgent,
    ReActAgent,
    ToolCallResult,
)
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_compactifai import CompactifAI

pytestmark = pytest.mark.vcr

TASK = "Use the multiply tool to multiply 6 and 7."


def _multiply_tool(calls: list[tuple[int, int]]) -> FunctionTool:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        calls.append((a, b))
        return a * b

    return FunctionTool.from_defaults(fn=multiply)


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "not_streaming"])
async def test_function_agent_completes_a_one_tool_task(
    live_llm: CompactifAI, streaming: bool
) -> None:
    calls: list[tuple[int, int]] = []
    agent = FunctionAgent(
        tools=[_multiply_tool(calls)],
        llm=live_llm,
        system_prompt="You are a calculator. Use tools for arithmetic.",
        streaming=streaming,
    )
    handler = agent.run(user_msg=TASK)
    results: list[ToolCallResult] = []
    deltas: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append(event)
        elif isinstance(event, AgentStream):
            deltas.append(event.delta)
    output = await handler
    assert calls == [(6, 7)]
    assert [(r.tool_name, r.tool_kwargs) for r in results] == [("multiply", {"a": 6, "b": 7})]
    assert "42" in str(output.response.content)
    if streaming:
        assert "42" in "".join(deltas)


async def test_react_agent_completes_a_one_tool_task(live_llm: CompactifAI) -> None:
    calls: list[tuple[int, int]] = []
    agent = ReActAgent(tools=[_multiply_tool(calls)], llm=live_llm)
    output = await agent.run(user_msg=TASK)
    assert calls == [(6, 7)]
    assert "42" in str(output.response.content)


class Company(BaseModel):
    """A company and the year it was founded."""

    name: str
    founded: int


COMPANY_PROMPT = PromptTemplate(
    "Extract the company from this text: Multiverse Computing was founded in 2019 in San "
    "Sebastián. {extra}"
)
EXPECTED = Company(name="Multiverse Computing", founded=2019)


def test_structured_predict_returns_a_pydantic_object(live_llm: CompactifAI) -> None:
    company = live_llm.structured_predict(Company, COMPANY_PROMPT, extra="")
    assert company == EXPECTED


async def test_astructured_predict_returns_a_pydantic_object(live_llm: CompactifAI) -> None:
    company = await live_llm.astructured_predict(Company, COMPANY_PROMPT, extra="")
    assert company == EXPECTED


def test_as_structured_llm_returns_a_pydantic_object(live_llm: CompactifAI) -> None:
    structured = live_llm.as_structured_llm(Company)
    message = ChatMessage(
        role="user",
        content="Extract the company: Multiverse Computing was founded in 2019 in San Sebastián.",
    )
    response = structured.chat([message])
    assert response.raw == EXPECTED
    streamed = list(structured.stream_chat([message]))
    assert streamed[-1].raw == EXPECTED
