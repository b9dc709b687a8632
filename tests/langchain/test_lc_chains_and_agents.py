"""ChatCompactifAI inside LCEL chains and a LangChain agent, replayed from cassettes.

Recorded against the emulator (``pytest tests/langchain --record-mode=rewrite``), whose
answers are extractive: they quote the input, so the assertions check that what comes back
depends on what went in.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_compactifai import ChatCompactifAI

pytestmark = pytest.mark.vcr

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a concise assistant. Answer from the text given."),
        ("human", "Text: {text}\nQuestion: {question}"),
    ]
)
TEXT = "The Eiffel Tower is in Paris and was completed in 1889."


def _model(**kwargs: Any) -> ChatCompactifAI:
    return ChatCompactifAI(temperature=0, max_tokens=200, max_retries=0, **kwargs)


@pytest.fixture
def chain() -> Any:
    return PROMPT | _model() | StrOutputParser()


INPUT = {"text": TEXT, "question": "When was the Eiffel Tower completed?"}


def test_chain_invoke(chain: Any) -> None:
    answer = chain.invoke(INPUT)
    assert isinstance(answer, str)
    assert "1889" in answer


async def test_chain_ainvoke(chain: Any) -> None:
    answer = await chain.ainvoke(INPUT)
    assert "1889" in answer


def test_chain_stream(chain: Any) -> None:
    pieces = list(chain.stream(INPUT))
    assert len(pieces) > 1
    assert "1889" in "".join(pieces)


async def test_chain_astream(chain: Any) -> None:
    pieces = [p async for p in chain.astream(INPUT)]
    assert len(pieces) > 1
    assert "1889" in "".join(pieces)


def test_chain_batch(chain: Any) -> None:
    answers = chain.batch(
        [
            INPUT,
            {"text": "Mount Fuji is 3776 metres high.", "question": "How high is Mount Fuji?"},
        ],
        config={"max_concurrency": 1},
    )
    assert "1889" in answers[0]
    assert "3776" in answers[1]


async def test_chain_abatch(chain: Any) -> None:
    answers = await chain.abatch(
        [
            INPUT,
            {"text": "Mount Fuji is 3776 metres high.", "question": "How high is Mount Fuji?"},
        ]
    )
    assert "1889" in answers[0]
    assert "3776" in answers[1]


class _Usage(BaseCallbackHandler):
    def __init__(self) -> None:
        self.usage: list[Any] = []

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        message = response.generations[0][0].message
        self.usage.append(message.usage_metadata)


def test_usage_is_the_servers_count_on_invoke_and_stream() -> None:
    model = _model()
    invoked = model.invoke(PROMPT.invoke(INPUT))
    streamed = None
    for chunk in model.stream(PROMPT.invoke(INPUT)):
        streamed = chunk if streamed is None else streamed + chunk
    assert invoked.usage_metadata is not None and streamed is not None
    assert streamed.usage_metadata == invoked.usage_metadata
    assert invoked.usage_metadata["input_tokens"] > 0
    assert invoked.response_metadata["finish_reason"] == "stop"
    assert streamed.content == invoked.content


def test_max_tokens_truncates_with_finish_reason_length() -> None:
    result = ChatCompactifAI(temperature=0, max_tokens=3, max_retries=0).invoke(
        PROMPT.invoke(INPUT)
    )
    assert result.response_metadata["finish_reason"] == "length"
    assert result.usage_metadata is not None
    assert result.usage_metadata["output_tokens"] <= 3


# ---------------------------------------------------------------------------- tools and agents


@tool
def get_population(city: str) -> str:
    """Return the population of a city."""
    populations = {"Paris": "2,102,650", "Lyon": "522,250"}
    return populations.get(city.strip(), "unknown")


def test_manual_tool_loop() -> None:
    model = _model().bind_tools([get_population])
    messages: list[Any] = [
        HumanMessage("Use get_population to find the population of city 'Paris'.")
    ]
    first = model.invoke(messages)
    assert isinstance(first, AIMessage)
    [call] = first.tool_calls
    assert call["name"] == "get_population"
    assert call["args"] == {"city": "Paris"}
    tool_message = get_population.invoke(call)
    assert isinstance(tool_message, ToolMessage)
    final = model.invoke([*messages, first, tool_message])
    assert "2,102,650" in final.text
    assert not final.tool_calls


def test_create_agent_completes_a_tool_loop() -> None:
    agent = create_agent(
        _model(),
        tools=[get_population],
        system_prompt="Use the tools to answer.",
    )
    state = agent.invoke(
        {"messages": [HumanMessage("Use get_population to find the population of city 'Lyon'.")]}
    )
    messages = state["messages"]
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.content for m in tool_messages] == ["522,250"]
    assert isinstance(messages[-1], AIMessage)
    assert "522,250" in messages[-1].text
    assert not messages[-1].tool_calls


async def test_create_agent_async_stream() -> None:
    agent = create_agent(_model(), tools=[get_population])
    updates = [
        update
        async for update in agent.astream(
            {
                "messages": [
                    HumanMessage("Use get_population to find the population of city 'Paris'.")
                ]
            },
            stream_mode="updates",
        )
    ]
    nodes = [next(iter(u)) for u in updates]
    assert nodes == ["model", "tools", "model"]
    final = updates[-1]["model"]["messages"][-1]
    assert "2,102,650" in final.text


# ---------------------------------------------------------------------------- structured output


class Address(BaseModel):
    city: str = Field(description="City name")
    country: str = Field(description="Country name")


class Company(BaseModel):
    """A company and its offices."""

    name: str = Field(description="Company name")
    founded: int = Field(description="Year founded")
    offices: list[Address] = Field(description="Office locations")


COMPANY_PROMPT = (
    "Extract the company: Multiverse Computing was founded in 2019 and has offices in "
    "San Sebastian, Spain and Toronto, Canada."
)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_nested_pydantic_structured_output(method: str) -> None:
    structured = _model().with_structured_output(Company, method=method)  # type: ignore[arg-type]
    company = structured.invoke(COMPANY_PROMPT)
    assert isinstance(company, Company)
    assert all(isinstance(office, Address) for office in company.offices)


async def test_nested_structured_output_async_include_raw() -> None:
    structured = _model().with_structured_output(Company, include_raw=True)
    result = await structured.ainvoke(COMPANY_PROMPT)
    assert isinstance(result, dict)
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Company)
    assert isinstance(result["raw"], AIMessage)
    assert result["raw"].usage_metadata is not None


def test_create_agent_with_structured_response() -> None:
    agent = create_agent(_model(), tools=[], response_format=Company)
    state = agent.invoke({"messages": [HumanMessage(COMPANY_PROMPT)]})
    company = state["structured_response"]
    assert isinstance(company, Company)
    assert all(isinstance(office, Address) for office in company.offices)


# A 1x1 red PNG.
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def test_image_input_on_a_vision_model() -> None:
    model = _model(model="cai-mistral-small-3-1-slim")
    message = HumanMessage(
        [
            {"type": "text", "text": "Describe this picture in one sentence."},
            {"type": "image", "base64": PNG_1PX, "mime_type": "image/png"},
        ]
    )
    result = model.invoke([message])
    assert isinstance(result, AIMessage)
    assert result.text
    assert result.response_metadata["model_name"] == "cai-mistral-small-3-1-slim"


def test_default_model_shows_its_reasoning_on_invoke_and_stream() -> None:
    """A new user's first calls: hypernova-60b's reasoning where LangChain shows it."""
    model = ChatCompactifAI(max_retries=0)
    message = model.invoke("When was the Eiffel Tower completed? " + TEXT)
    assert message.response_metadata["model_name"] == "hypernova-60b"
    assert message.content_blocks[0]["type"] == "reasoning"
    assert message.additional_kwargs["reasoning_content"] not in message.text
    assert "1889" in message.text
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0
    chunks = list(model.stream("When was the Eiffel Tower completed? " + TEXT))
    first_text = next(i for i, c in enumerate(chunks) if c.text)
    assert any(c.additional_kwargs.get("reasoning_content") for c in chunks[:first_text])
    assert not any(c.additional_kwargs.get("reasoning_content") for c in chunks[first_text:])
