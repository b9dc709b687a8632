"""Swap ChatOpenAI for ChatCompactifAI in a LangChain agent (a LangGraph graph underneath).

The only change to an existing agent is the model line::

    # before
    from langchain_openai import ChatOpenAI
    model = ChatOpenAI(model="gpt-4o-mini", temperature=0)
    # after
    from langchain_compactifai import ChatCompactifAI
    model = ChatCompactifAI(model="hypernova-60b", temperature=0)

Tools, ``create_agent``, streaming and LangGraph checkpointers work unchanged.

Run: python examples/langchain_agent.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

from _server import compactifai_or_emulator
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_compactifai import ChatCompactifAI

POPULATIONS = {"Paris": "2,102,650", "Lyon": "522,250", "Bilbao": "346,405"}


@tool
def get_population(city: str) -> str:
    """Return the population of a city."""
    return POPULATIONS.get(city.strip(), "unknown")


def main() -> None:
    model = ChatCompactifAI(model="hypernova-60b", temperature=0)
    agent = create_agent(
        model,
        tools=[get_population],
        system_prompt="Use the tools to answer.",
        checkpointer=InMemorySaver(),  # LangGraph memory: the thread keeps its history
    )
    config = {"configurable": {"thread_id": "example"}}
    for question in (
        "Use get_population to find the population of city 'Lyon'.",
        "Now use get_population for the city 'Bilbao'.",
    ):
        print(f"user: {question}")
        for update in agent.stream(
            {"messages": [HumanMessage(question)]}, config, stream_mode="updates"
        ):
            for node in update.values():
                for message in (node or {}).get("messages", []):
                    if isinstance(message, AIMessage) and message.tool_calls:
                        for call in message.tool_calls:
                            print(f"  tool call: {call['name']}({call['args']})")
                    elif isinstance(message, ToolMessage):
                        print(f"  tool result: {message.text}")
                    elif isinstance(message, AIMessage):
                        print(f"agent: {message.text}")
    history = agent.get_state(config).values["messages"]
    print(f"({len(history)} messages in the thread)")


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
