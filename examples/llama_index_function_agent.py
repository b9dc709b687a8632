"""A LlamaIndex FunctionAgent on CompactifAI: native tool calls, streamed events.

Run: python examples/llama_index_function_agent.py   (offline emulator without a key)
"""

from __future__ import annotations

import asyncio

from _server import compactifai_or_emulator
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCall, ToolCallResult
from llama_index.core.tools import FunctionTool

from llama_index_compactifai import CompactifAI


def multiply(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


async def main() -> None:
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=multiply)],
        llm=CompactifAI(model="hypernova-60b", temperature=0),
        system_prompt="You are a calculator. Use tools for arithmetic.",
    )
    handler = agent.run(user_msg="Use the multiply tool to multiply 6 and 7.")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print(f"tool result: {event.tool_name}({event.tool_kwargs}) = {event.tool_output}")
        elif isinstance(event, ToolCall):
            print(f"tool call: {event.tool_name}({event.tool_kwargs})")
        elif isinstance(event, AgentStream) and event.delta:
            print(event.delta, end="", flush=True)
    output = await handler
    print(f"\nfinal answer: {output.response.content}")


if __name__ == "__main__":
    with compactifai_or_emulator():
        asyncio.run(main())
