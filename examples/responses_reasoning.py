"""A reasoning model over the Responses API, from LangChain and from LlamaIndex.

``use_responses_api=True`` sends calls to ``POST /v1/responses`` (served by hypernova-60b,
gpt-oss-120b and glm-5-1) instead of chat completions; answers look the same either way:
the reasoning trace apart from the answer, tool calls, token usage (reasoning tokens
included). ``use_previous_response_id=True`` (LangChain) and ``track_previous_responses=True``
(LlamaIndex) send only the new turn of a conversation, naming the stored response it follows.

Run: python examples/responses_reasoning.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

from _server import compactifai_or_emulator
from langchain_core.messages import HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

QUESTION = "The Eiffel Tower was completed in 1889. When was the Eiffel Tower completed?"


class GetWeather(BaseModel):
    """Current weather in a city."""

    city: str


def langchain_part() -> None:
    llm = ChatCompactifAI(model="hypernova-60b", use_responses_api=True, reasoning_effort="low")

    message = llm.invoke(QUESTION)
    print("langchain thinking:", message.additional_kwargs["reasoning_content"])
    print("langchain answer:", message.text)
    usage = message.usage_metadata or {}
    print("langchain reasoning tokens:", usage.get("output_token_details", {}).get("reasoning"))

    print("langchain stream: ", end="")
    for chunk in llm.stream(QUESTION):
        if chunk.additional_kwargs.get("reasoning_content"):
            print(".", end="", flush=True)  # a dot per piece of the trace
        print(chunk.text, end="", flush=True)
    print()

    with_tools = llm.bind_tools([GetWeather])
    question = HumanMessage("What is the weather in Paris?")
    call = with_tools.invoke([question])
    [tool_call] = call.tool_calls
    print(f"langchain tool call: {tool_call['name']}({tool_call['args']})")
    result = ToolMessage("18 C and sunny", tool_call_id=tool_call["id"])
    print("langchain after the tool:", with_tools.invoke([question, call, result]).text)

    chat = ChatCompactifAI(model="hypernova-60b", use_previous_response_id=True)
    history: list = [HumanMessage("The secret word is pineapple.")]
    history.append(chat.invoke(history))
    history.append(HumanMessage("What is the secret word?"))
    print("langchain follow-up (only the new turn sent):", chat.invoke(history).text)


def llama_index_part() -> None:
    llm = CompactifAI(model="hypernova-60b", use_responses_api=True, reasoning_effort="low")
    messages = [ChatMessage(role="user", content=QUESTION)]

    response = llm.chat(messages)
    thinking = response.message.blocks[0]
    print("llama-index thinking block:", getattr(thinking, "content", None))
    print("llama-index answer:", response.message.content)
    print("llama-index reasoning tokens:", response.additional_kwargs.get("reasoning_tokens"))

    print("llama-index stream: ", end="")
    for item in llm.stream_chat(messages):
        if item.additional_kwargs.get("thinking_delta"):
            print(".", end="", flush=True)
        print(item.delta or "", end="", flush=True)
    print()

    kept = CompactifAI(model="hypernova-60b", use_responses_api=True, track_previous_responses=True)
    history = [ChatMessage(role="user", content="The secret word is pineapple.")]
    history.append(kept.chat(history).message)
    history.append(ChatMessage(role="user", content="What is the secret word?"))
    print("llama-index follow-up (only the new turn sent):", kept.chat(history).message.content)


if __name__ == "__main__":
    with compactifai_or_emulator():
        langchain_part()
        llama_index_part()
