"""The emulator through the official ``openai`` SDK: models, chat, streaming, tools, JSON output,
completions and the error classes the SDK raises."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest
from pydantic import BaseModel

from compactifai.emulator import Emulator
from compactifai.emulator.tokenizer import tokenize

MODEL = "cai-mistral-small-3-1-slim"
VISION_MODEL = "mistral-small-3-1"
# The Mistral models take no tools (service-2026.md): the tool tests use one that does.
TOOLS_MODEL = "gpt-oss-120b"

RAG_PROMPT = (
    "Context information is below.\n---------------------\n"
    "The Eiffel Tower was completed in 1889. It is located in Paris.\n"
    "CompactifAI compresses large language models with tensor networks. "
    "The slim models are smaller and faster.\n"
    "Bananas are yellow.\n---------------------\n"
    "Given the context information and not prior knowledge, answer the query.\n"
    "Query: How does CompactifAI compress language models?\nAnswer: "
)

MAGIC = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Applies a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
NO_ARGS = {"type": "function", "function": {"name": "get_time", "description": "Current time."}}


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# -- models ---------------------------------------------------------------------------------


def test_list_models_is_todays_catalog_with_capability_flags(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {
        "hypernova-60b",
        "carina-60b",
        "cai-mistral-small-3-1-slim",
        "mistral-small-3-1",
        "gpt-oss-120b",
        "glm-5-1",
        "cai-glm-5-1",
        "glm-5-2",
        "quasar-438b",
        "qwen-3-6-27b",
        "nemotron-3-nano-omni",
        "cai-whisper-large-v3-turbo-slim",
    }
    flagship = models["hypernova-60b"].model_extra
    assert flagship is not None and flagship["parameters_number"] == "60B"
    assert flagship["capabilities"] == {
        "supports_audio": False,
        "supports_image": False,
        "supports_function_calling": True,
        "support_chat_completion": True,
        "supports_responses": True,
    }
    whisper = models["cai-whisper-large-v3-turbo-slim"].model_extra
    assert whisper is not None and whisper["capabilities"]["support_chat_completion"] is False
    # Emulator-only facts stay out of the listing.
    assert all("emulator" not in (m.model_extra or {}) for m in models.values())


def test_reference_catalog_lists_the_reference_page() -> None:
    with (
        Emulator(catalog="reference") as emu,
        openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key) as client,
    ):
        models = {m.id: m for m in client.models.list()}
    assert set(models) == {
        "deepseek-r1-0528",
        "llama-4-scout",
        "cai-llama-4-scout-slim",
        "cai-llama-3-1-8b-slim",
        "llama-3-1-8b",
        "cai-llama-3-3-70b-slim",
        "llama-3-3-70b",
        "mistral-small-3-1",
        "cai-mistral-small-3-1-slim",
    }
    slim = models["cai-llama-3-1-8b-slim"]
    assert slim.owned_by == "multiverse_computing"
    assert slim.model_extra == {"parameters_number": "3.28B"}
    assert models["deepseek-r1-0528"].created == 1751363276


def test_retrieve_model_and_unknown(client: openai.OpenAI) -> None:
    model = client.models.retrieve("mistral-small-3-1")
    assert (model.id, model.owned_by) == ("mistral-small-3-1", "mistralai")
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-5")
    assert info.value.body == {"detail": "Not Found"}


# -- chat -----------------------------------------------------------------------------------


def test_chat_answers_from_context_with_consistent_usage(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Paris is the capital of France. Berlin is in Germany."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )
    assert r.id.startswith("chatcmpl-") and r.object == "chat.completion" and r.model == MODEL
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Paris is the capital of France."
    assert choice.finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.completion_tokens == len(tokenize(choice.message.content))
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.prompt_tokens > r.usage.completion_tokens


def test_reply_without_context_refers_to_question_but_is_no_echo(client: openai.OpenAI) -> None:
    question = "What is quantum entanglement?"
    content = (
        client.chat.completions.create(model=MODEL, messages=user(question))
        .choices[0]
        .message.content
    )
    assert content and content != question
    assert "quantum entanglement" in content


def test_rag_prompt_quotes_most_relevant_sentence(client: openai.OpenAI) -> None:
    content = (
        client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT))
        .choices[0]
        .message.content
    )
    assert content is not None
    assert content.startswith("CompactifAI compresses large language models with tensor networks.")
    assert "Bananas" not in content and "Eiffel" not in content


def test_output_depends_on_input(client: openai.OpenAI) -> None:
    system = {"role": "system", "content": "Cats purr when happy. Dogs bark at strangers."}
    cats = client.chat.completions.create(
        model=MODEL, messages=[system, *user("Why do cats purr?")]
    )
    dogs = client.chat.completions.create(
        model=MODEL, messages=[system, *user("When do dogs bark?")]
    )
    assert cats.choices[0].message.content == "Cats purr when happy."
    assert dogs.choices[0].message.content == "Dogs bark at strangers."


def test_max_tokens_cuts_with_length(client: openai.OpenAI) -> None:
    for kwargs in ({"max_tokens": 3}, {"max_completion_tokens": 3}):
        r = client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT), **kwargs)  # type: ignore[call-overload]
        assert r.choices[0].finish_reason == "length"
        assert r.usage is not None and r.usage.completion_tokens == 3
        assert r.choices[0].message.content == "CompactifAI compresses large"


def test_stop_sequence_cuts_before_it(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL, messages=user(RAG_PROMPT), stop=[" tensor", "zzz"]
    )
    assert r.choices[0].message.content == "CompactifAI compresses large language models with"
    assert r.choices[0].finish_reason == "stop"
    r = client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT), stop="language")
    assert r.choices[0].message.content == "CompactifAI compresses large "


def test_temperature_is_deterministic(client: openai.OpenAI) -> None:
    def ask(**kw: Any) -> str | None:
        return (
            client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT), **kw)
            .choices[0]
            .message.content
        )

    assert ask() == ask(temperature=0) == ask(temperature=0)
    warm = {ask(temperature=t) for t in (0.3, 0.7, 1.1, 1.5, 1.9)}
    assert ask(temperature=0.7) == ask(temperature=0.7)
    assert all(w and "tensor networks" in w for w in warm)
    assert len(warm | {ask()}) > 1  # some temperature varies the wording


def test_extra_fields_are_accepted(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "developer", "content": "Be brief."}, *user("hi")],
        seed=3,
        presence_penalty=0.5,
        logit_bias={},
        parallel_tool_calls=False,
        reasoning_effort="none",
        extra_body={"top_k": 5, "unknown_knob": True},
    )
    assert r.choices[0].finish_reason == "stop"


def test_image_input_needs_a_vision_model(client: openai.OpenAI) -> None:
    content: list[Any] = [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    msg: list[Any] = [{"role": "user", "content": content}]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="hypernova-60b", messages=msg)
    assert "hypernova-60b" in str(info.value)
    ok = client.chat.completions.create(model=VISION_MODEL, messages=msg)
    assert ok.choices[0].message.content


# -- streaming ------------------------------------------------------------------------------


def test_stream_matches_non_stream_and_reports_usage(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT))
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=user(RAG_PROMPT),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == len(tokenize(text))
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump() == full.usage.model_dump() if full.usage else False
    plain = list(
        client.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT), stream=True)
    )
    assert all(c.usage is None for c in plain)
    assert "".join(c.choices[0].delta.content or "" for c in plain) == text


def test_ignore_eos_streams_exactly_max_tokens(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=user("Tell me about compression."),
        stream=True,
        max_tokens=2000,
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 2000
    assert chunks[-1].choices[0].finish_reason == "length"


async def test_async_client_chat_and_stream(emu: Emulator) -> None:
    async with openai.AsyncOpenAI(
        base_url=emu.base_url, api_key=emu.api_key, max_retries=0
    ) as aclient:
        r = await aclient.chat.completions.create(model=MODEL, messages=user(RAG_PROMPT))
        stream = await aclient.chat.completions.create(
            model=MODEL, messages=user(RAG_PROMPT), stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == r.choices[0].message.content


# -- tools ----------------------------------------------------------------------------------


def test_tool_call_from_the_message(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=TOOLS_MODEL, messages=user("What is magic_function(3)?"), tools=[WEATHER, MAGIC]
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert not choice.message.content
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.id.startswith("chatcmpl-tool-") and call.type == "function"
    assert call.function.name == "magic_function"
    assert json.loads(call.function.arguments) == {"input": 3}


def test_tool_result_is_used_and_not_called_again(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model=TOOLS_MODEL, messages=user("What is magic_function(3)?"), tools=[MAGIC]
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages: list[Any] = [
        *user("What is magic_function(3)?"),
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "5"},
    ]
    r = client.chat.completions.create(model=TOOLS_MODEL, messages=messages, tools=[MAGIC])
    assert r.choices[0].finish_reason == "stop"
    assert not r.choices[0].message.tool_calls
    assert r.choices[0].message.content == "The result of magic_function is 5."


def test_tool_choice_modes(client: openai.OpenAI) -> None:
    weather_q = user("What's the weather in San Francisco in fahrenheit?")
    # auto without a mention answers in text
    r = client.chat.completions.create(
        model=TOOLS_MODEL, messages=user("Hello there"), tools=[MAGIC, WEATHER]
    )
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.content
    # none never calls, even when the tool is named
    r = client.chat.completions.create(
        model=TOOLS_MODEL,
        messages=user("What is magic_function(3)?"),
        tools=[MAGIC],
        tool_choice="none",
    )
    assert not r.choices[0].message.tool_calls
    # required picks the most relevant tool and fills the schema from the message
    r = client.chat.completions.create(
        model=TOOLS_MODEL, messages=weather_q, tools=[MAGIC, WEATHER], tool_choice="required"
    )
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {
        "location": "San Francisco",
        "unit": "fahrenheit",
    }
    # a named function is called even when the message does not mention it
    r = client.chat.completions.create(
        model=TOOLS_MODEL,
        messages=weather_q,
        tools=[MAGIC, WEATHER, NO_ARGS],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_time", {})
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=TOOLS_MODEL,
            messages=weather_q,
            tools=[MAGIC],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "tool_choice"


def test_streamed_tool_call_fragments_reassemble(client: openai.OpenAI) -> None:
    kwargs: dict[str, Any] = {
        "model": TOOLS_MODEL,
        "messages": user("What's the weather in Madrid in celsius?"),
        "tools": [WEATHER],
        "tool_choice": "required",
    }
    full = client.chat.completions.create(**kwargs).choices[0].message.tool_calls[0]  # type: ignore[index]
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    deltas = [
        c.choices[0].delta.tool_calls[0]
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    ]
    assert len(deltas) > 2
    head = deltas[0]
    assert (
        head.index == 0
        and head.id
        and head.id.startswith("chatcmpl-tool-")
        and head.type == "function"
    )
    assert (
        head.function is not None
        and head.function.name == "get_weather"
        and head.function.arguments == ""
    )
    for frag in deltas[1:]:
        assert (
            frag.index == 0
            and frag.id is None
            and frag.function is not None
            and frag.function.name is None
        )
    args = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert args == full.function.arguments
    assert json.loads(args) == {"location": "Madrid", "unit": "celsius"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# -- structured output ----------------------------------------------------------------------

PERSON_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["city", "zip"],
            "additionalProperties": False,
        }
    },
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "height": {"type": "number"},
        "mood": {"type": "string", "enum": ["happy", "sad", "bored"]},
        "hobbies": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "address": {"$ref": "#/$defs/Address"},
        "employed": {"type": "boolean"},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "age", "height", "mood", "hobbies", "address", "employed", "nickname"],
    "additionalProperties": False,
}


def test_json_schema_output_is_valid_and_uses_the_message(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL,
        messages=user("Anna is 29 years old, 1.7 m tall, lives in Madrid and is bored."),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Person", "schema": PERSON_SCHEMA, "strict": True},
        },
    )
    assert r.choices[0].finish_reason == "stop"
    data = json.loads(r.choices[0].message.content or "")
    jsonschema.validate(data, PERSON_SCHEMA)
    assert (data["name"], data["age"], data["height"], data["mood"]) == ("Anna", 29, 1.7, "bored")
    assert data["address"]["city"] == "Madrid"
    stream = client.chat.completions.create(
        model=MODEL,
        messages=user("Anna is 29 years old, 1.7 m tall, lives in Madrid and is bored."),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Person", "schema": PERSON_SCHEMA},
        },
        stream=True,
    )
    parts = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in parts if p]) > 5
    assert json.loads("".join(parts)) == data


class Joke(BaseModel):
    setup: str
    punchline: str
    rating: int | None = None


def test_sdk_parse_with_pydantic_model(client: openai.OpenAI) -> None:
    r = client.chat.completions.parse(
        model=MODEL, messages=user("Tell me a joke about cats, rate it 7"), response_format=Joke
    )
    joke = r.choices[0].message.parsed
    assert isinstance(joke, Joke) and joke.rating == 7 and joke.setup


def test_json_object_output(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL,
        messages=user(
            "Tell me a joke about cats. Respond in JSON with `setup` and `punchline` keys."
        ),
        response_format={"type": "json_object"},
    )
    data = json.loads(r.choices[0].message.content or "")
    assert set(data) == {"setup", "punchline"} and all(
        isinstance(v, str) and v for v in data.values()
    )
    r = client.chat.completions.create(
        model=MODEL, messages=user(RAG_PROMPT), response_format={"type": "json_object"}
    )
    assert "tensor networks" in json.loads(r.choices[0].message.content or "")["answer"]


# -- completions ----------------------------------------------------------------------------


def test_completions_string_and_list_prompts(client: openai.OpenAI) -> None:
    r = client.completions.create(
        model=MODEL, prompt="Write a poem about artificial intelligence and its dreams"
    )
    assert r.id.startswith("cmpl-") and r.object == "text_completion"
    assert r.choices[0].finish_reason == "length"  # the default cap is 16 tokens
    assert r.usage is not None and r.usage.completion_tokens == 16 == len(
        tokenize(r.choices[0].text)
    )
    r = client.completions.create(
        model=MODEL, prompt=["Explain photosynthesis", "Describe volcanoes"], max_tokens=200
    )
    assert [c.index for c in r.choices] == [0, 1]
    assert "photosynthesis" in r.choices[0].text and "volcanoes" in r.choices[1].text
    assert all(c.finish_reason == "stop" and c.logprobs is None for c in r.choices)
    assert r.usage is not None
    assert r.usage.completion_tokens == sum(len(tokenize(c.text)) for c in r.choices)


def test_completions_refuse_streaming(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model=MODEL, prompt="hi", stream=True)
    assert "stream" in str(info.value).lower()


# -- errors ---------------------------------------------------------------------------------


def test_wrong_key_is_authentication_error(emu: Emulator) -> None:
    bad = openai.OpenAI(base_url=emu.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.models.list()
    assert info.value.status_code == 401
    assert info.value.body == {"detail": "Token is not associated with a valid user"} or (
        "Token is not associated with a valid user" in str(info.value)
    )


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"model": "gpt-4o"}, None),
        ({"n": 2}, "n"),
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
    ],
)
def test_bad_values_are_400(
    client: openai.OpenAI, kwargs: dict[str, Any], param: str | None
) -> None:
    request: dict[str, Any] = {"model": MODEL, "messages": user("hi"), **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**request)
    body = info.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error" and body["param"] == param and body["message"]
