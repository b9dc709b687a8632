"""The Responses API (POST /v1/responses) with the client: reasoning items, a streamed answer,
a function call answered and read back, and a stored conversation continued by id.

Run: python examples/responses_api.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

import json

from _server import compactifai_or_emulator

from compactifai import CompactifAIClient
from compactifai.responses import ResponseStreamAccumulator, tool_calls_of_response

MODEL = "hypernova-60b"  # a model whose capabilities include supports_responses
FACT = "The Eiffel Tower is in Paris and was completed in 1889."
POPULATION = {
    "type": "function",
    "name": "get_population",
    "description": "The population of a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def get_population(city: str) -> str:
    return {"Lyon": "522,250"}.get(city, "unknown")


def main() -> None:
    with CompactifAIClient() as client:
        # One answer: reasoning and the message are separate output items.
        result = client.create_response(
            model=MODEL, input=f"{FACT} When was the tower completed?", reasoning={"effort": "low"}
        )
        print("thinking:", result.reasoning_text)
        print("answer:", result.output_text)
        assert result.usage is not None
        print("reasoning tokens:", result.usage.reasoning_tokens)

        # Streamed: the accumulator hands out each event's text and reasoning pieces.
        acc = ResponseStreamAccumulator()
        print("stream: ", end="")
        for event in client.stream_response(model=MODEL, input=f"{FACT} Where is the tower?"):
            print(acc.add(event).text, end="", flush=True)
        print(f"\nstream status: {acc.status}")

        # A function call, run here, and its result sent back with the call.
        question = {"role": "user", "content": "What is the population of Lyon?"}
        first = client.create_response(model=MODEL, input=[question], tools=[POPULATION])
        [call] = tool_calls_of_response(first)
        print(f"tool call: {call.name}({call.args})")
        output = get_population(**(call.args or {}))
        final = client.create_response(
            model=MODEL,
            tools=[POPULATION],
            input=[
                question,
                *[item.model_dump(exclude_none=True) for item in first.output],
                {"type": "function_call_output", "call_id": call.id, "output": json.dumps(output)},
            ],
        )
        print("tool answer:", final.output_text)

        # store=True keeps a response (for this key only); previous_response_id continues it.
        turn = client.create_response(model=MODEL, input="My name is Ada Lovelace.", store=True)
        later = client.create_response(
            model=MODEL, input="What is my name?", previous_response_id=turn.id
        )
        print("continued:", later.output_text)
        print("retrieved:", client.retrieve_response(turn.id).id == turn.id)


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
