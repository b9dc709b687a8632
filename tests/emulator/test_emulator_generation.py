"""Unit tests of the emulator's deterministic "model": tokenizer, limits, question splitting
and the JSON-schema value generator shared by tool arguments and structured output."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from compactifai.emulator.answers import AnswerStyle, Generator
from compactifai.emulator.conversation import ToolSpec, Turn
from compactifai.emulator.schema_values import SchemaValueGenerator, ValueSource
from compactifai.emulator.tokenizer import apply_limits, tokenize


@pytest.mark.parametrize(
    "text", ["Hello, world!", "  two  spaces\nnew line ", "naïve café — ok", "", '{"a": [1, 2]}']
)
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_tokens_are_words_with_leading_space() -> None:
    assert tokenize("Hi there, you.") == ["Hi", " there", ",", " you", "."]


def test_apply_limits() -> None:
    assert apply_limits("a b c d", max_tokens=2) == (["a", " b"], "length")
    assert apply_limits("a b c d", max_tokens=10) == (["a", " b", " c", " d"], "stop")
    assert apply_limits("a b STOP c", max_tokens=10, stop=["STOP", "b"]) == (["a", " "], "stop")
    tokens, reason = apply_limits("one two", max_tokens=7, ignore_eos=True)
    assert len(tokens) == 7 and reason == "length" and "".join(tokens).startswith("one two one")


def test_split_question_finds_labelled_query_and_context() -> None:
    question, context = Generator.split_question(
        "Answer from the context.\nThe sky is blue. Grass is green.\nQuestion: What colour is grass?\nAnswer:"
    )
    assert question == "What colour is grass?"
    assert context == ["Answer from the context.", "The sky is blue.", "Grass is green."]
    question, context = Generator.split_question("Ann likes tea. What does Ann like? Be brief.")
    assert question == "What does Ann like?" and context == ["Ann likes tea.", "Be brief."]


def test_earlier_turns_are_context() -> None:
    gen = Generator()
    turns = [
        Turn("user", "My name is Camillo and I live in Bogotá."),
        Turn("assistant", "Nice to meet you, Camillo."),
        Turn("user", "Where do I live?"),
    ]
    assert gen.chat(turns).text == "My name is Camillo and I live in Bogotá."


def test_auto_tool_choice_mention_with_spaces_and_sequence() -> None:
    gen = Generator()
    tools = [
        ToolSpec(
            "add_numbers",
            "Add two numbers",
            {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
        ),
        ToolSpec(
            "multiply", "Multiply", {"type": "object", "properties": {"x": {"type": "integer"}}}
        ),
    ]
    out = gen.chat([Turn("user", "Please add numbers 2.5 and 4")], tools=tools, tool_choice="auto")
    assert out.kind == "tool_calls" and out.tool_calls[0].name == "add_numbers"
    assert out.tool_calls[0].arguments == '{"a": 2.5, "b": 4}'


SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {}},
    {"type": "string", "minLength": 12, "maxLength": 20},
    {"type": "integer", "minimum": 10, "maximum": 20, "multipleOf": 5},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": ["null", "boolean"]},
    {"const": "fixed"},
    {"enum": [1, "two", None]},
    {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 3,
        "maxItems": 4,
        "uniqueItems": True,
    },
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
    {"type": "string", "format": "date-time"},
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
        ]
    },
    {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^x"}]},
    {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                },
                "required": ["name", "children", "parent"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/Node",
    },
    {
        "definitions": {"Color": {"type": "string", "enum": ["red", "green", "blue"]}},
        "type": "object",
        "properties": {
            "colors": {"type": "array", "items": {"$ref": "#/definitions/Color"}},
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
            "size": {"type": "integer", "default": 3},
        },
        "required": ["colors", "meta", "size"],
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_values_validate(schema: dict[str, Any]) -> None:
    source = ValueSource("I want green and blue items, 3 of them, named 'Alpha', about 7 things.")
    value = SchemaValueGenerator(schema, source).generate()
    jsonschema.validate(value, schema)


def test_values_come_from_the_message() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "units": {"type": "string", "enum": ["metric", "imperial"]},
            "colors": {
                "type": "array",
                "items": {"type": "string", "enum": ["red", "green", "blue"]},
            },
            "include_rain": {"type": "boolean"},
            "notify": {"type": "boolean"},
        },
    }
    source = ValueSource(
        "Forecast for Lisbon over 5 days in imperial units, blue and red charts, include rain, don't notify."
    )
    value = SchemaValueGenerator(schema, source).generate()
    assert value == {
        "city": "Lisbon",
        "days": 5,
        "units": "imperial",
        "colors": ["blue", "red"],
        "include_rain": True,
        "notify": False,
    }


def test_auto_calls_a_tool_whose_name_words_are_all_mentioned() -> None:
    gen = Generator()
    weather = ToolSpec(
        "get_weather",
        "Get the weather",
        {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    )
    stock = ToolSpec(
        "getStockPrice",
        "Price of a stock",
        {"type": "object", "properties": {"ticker": {"type": "string"}}},
    )
    out = gen.chat(
        [Turn("user", "What is the weather in San Francisco, CA?")], tools=[stock, weather]
    )
    assert out.kind == "tool_calls" and out.tool_calls[0].name == "get_weather"
    assert out.tool_calls[0].arguments == '{"location": "San Francisco"}'
    # "stock" alone is not "stock price": no call
    assert gen.chat([Turn("user", "Tell me about the stock market")], tools=[stock]).kind == "text"
    assert (
        gen.chat([Turn("user", "What is the stock price of ACME?")], tools=[stock])
        .tool_calls[0]
        .name
        == "getStockPrice"
    )


CONTEXT_QUESTION = (
    "Context: A tensor network factorises a large weight matrix into small tensors. The bond "
    "dimension controls how much information flows between neighbouring tensors. A smaller bond "
    "dimension gives a smaller model, and a tensor network with a small bond dimension is cheap.\n"
    "Question: What does the bond dimension of a tensor network control?"
)


def test_each_model_answers_in_its_own_deterministic_style() -> None:
    generator = Generator()
    turns = [Turn("user", CONTEXT_QUESTION)]
    answers = {
        model: generator.chat(turns, model=model).text
        for model in ("cai-llama-3-3-70b-slim", "llama-3-3-70b", "deepseek-r1-0528")
    }
    assert len(set(answers.values())) > 1  # models differ on the same prompt
    for model, answer in answers.items():
        assert generator.chat(turns, model=model).text == answer  # and repeat themselves
        assert "bond dimension controls" in answer  # every style keeps the best sentence
        assert AnswerStyle.of_model(model) == generator.style(model)
    assert len({Generator(seed=seed).style("llama-3-3-70b") for seed in range(4)}) > 1
    # Without a model (the generator used on its own) the default style applies.
    assert generator.chat(turns).text == generator.extractive_answer(turns)


def test_tool_calls_and_structured_output_do_not_depend_on_the_model() -> None:
    generator = Generator()
    turns = [Turn("user", 'Extract "name" and "year": Multiverse Computing, founded in 2019.')]
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "company",
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "year": {"type": "integer"}},
                "required": ["name", "year"],
            },
        },
    }
    outputs = {
        generator.chat(turns, response_format=schema, model=model).text
        for model in ("cai-llama-3-3-70b-slim", "llama-3-3-70b")
    }
    assert len(outputs) == 1
