"""``CompactifAI(use_responses_api=True)`` against the bundled emulator's ``/v1/responses``.

What a user relies on: chat and completion answers (sync, async, streamed) carry the
reasoning as a ``ThinkingBlock`` before the answer and the server's token counts, streams
are incremental, and ``FunctionAgent`` runs its tools through the Responses API (tool
results sent back as ``function_call_output`` items).
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from compactifai.emulator import Emulator
from llama_index_compactifai import CompactifAI
from tests.emulator_fixtures import reset_emulator, running_emulator

pytestmark = pytest.mark.emulator

QUESTION = [ChatMessage(role="user", content="Which is larger, 9.11 or 9.9?")]


emulator = running_emulator(api_keys=("test-key",))
emu = reset_emulator()


def _llm(emu: Emulator, **kwargs: Any) -> CompactifAI:
    return CompactifAI(
        base_url=emu.base_url,
        api_key=emu.api_key,
        temperature=0,
        max_retries=0,
        use_responses_api=True,
        **kwargs,
    )


def _paths(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests]


def _check_reasoned(response: ChatResponse) -> None:
    thinking, text = response.message.blocks
    assert isinstance(thinking, ThinkingBlock) and thinking.content
    assert isinstance(text, TextBlock) and text.text
    assert response.message.content == text.text  # the answer alone
    counts = response.additional_kwargs
    assert counts["total_tokens"] == counts["prompt_tokens"] + counts["completion_tokens"]
    assert 0 < counts["reasoning_tokens"] < counts["completion_tokens"]
    usage = response.raw["usage"]  # what TokenCountingHandler reads
    assert (usage["input_tokens"], usage["output_tokens"]) == (
        counts["prompt_tokens"],
        counts["completion_tokens"],
    )


def _check_streamed(items: list[ChatResponse]) -> None:
    kinds = [
        "thinking" if item.additional_kwargs.get("thinking_delta") else "text"
        for item in items
        if item.delta or item.additional_kwargs.get("thinking_delta")
    ]
    assert kinds.count("thinking") > 3 and kinds.count("text") > 3  # one item per delta
    assert kinds == sorted(kinds, key=["thinking", "text"].index)  # the trace first
    last = items[-1]
    assert "".join(item.delta or "" for item in items) == last.message.content
    thinking = "".join(item.additional_kwargs.get("thinking_delta", "") for item in items)
    assert last.message.blocks[0] == ThinkingBlock(content=thinking)
    assert last.additional_kwargs["reasoning_tokens"] > 0
    assert [i for i in items if "usage" in i.raw] == [last]


def test_chat_answers_with_a_thinking_block_and_usage(emu: Emulator) -> None:
    _check_reasoned(_llm(emu).chat(QUESTION))
    assert _paths(emu) == ["/v1/responses"]


async def test_achat_answers_with_a_thinking_block_and_usage(emu: Emulator) -> None:
    _check_reasoned(await _llm(emu).achat(QUESTION))
    assert _paths(emu) == ["/v1/responses"]


def test_stream_chat_is_incremental(emu: Emulator) -> None:
    llm = _llm(emu)
    items = list(llm.stream_chat(QUESTION))
    _check_streamed(items)
    whole = llm.chat(QUESTION)
    assert items[-1].message.content == whole.message.content
    assert _paths(emu) == ["/v1/responses", "/v1/responses"]


async def test_astream_chat_is_incremental(emu: Emulator) -> None:
    _check_streamed([item async for item in await _llm(emu).astream_chat(QUESTION)])
    assert _paths(emu) == ["/v1/responses"]


async def test_completion_methods_go_through_the_responses_api(emu: Emulator) -> None:
    llm = _llm(emu)
    prompt = "Which is larger, 9.11 or 9.9?"
    answer = llm.complete(prompt).text
    assert answer == (await llm.acomplete(prompt)).text
    streamed = list(llm.stream_complete(prompt))
    assert len([i for i in streamed if i.delta]) > 3
    assert streamed[-1].text == answer
    astreamed = [i async for i in await llm.astream_complete(prompt)]
    assert astreamed[-1].text == answer
    assert _paths(emu) == ["/v1/responses"] * 4
    assert all(r.body["input"][0]["content"] == prompt for r in emu.requests)


def test_token_counting_reads_the_servers_counts(emu: Emulator) -> None:
    counter = TokenCountingHandler()
    llm = _llm(emu, callback_manager=CallbackManager([counter]))
    response = llm.chat(QUESTION)
    assert counter.prompt_llm_token_count == response.additional_kwargs["prompt_tokens"]
    assert counter.completion_llm_token_count == response.additional_kwargs["completion_tokens"]


def _multiply_tool(calls: list[tuple[int, int]]) -> FunctionTool:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        calls.append((a, b))
        return a * b

    return FunctionTool.from_defaults(fn=multiply)


def test_chat_with_tools_returns_tool_selections(emu: Emulator) -> None:
    llm = _llm(emu)
    tool = _multiply_tool([])
    response = llm.chat_with_tools([tool], "Multiply 6 and 7.", tool_required=True)
    [selection] = llm.get_tool_calls_from_response(response)
    assert (selection.tool_name, selection.tool_kwargs) == ("multiply", {"a": 6, "b": 7})
    assert any(isinstance(b, ToolCallBlock) for b in response.message.blocks)
    body = emu.requests[0].body
    assert [(t["type"], t["name"]) for t in body["tools"]] == [("function", "multiply")]
    assert body["tool_choice"] == "required"


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "not_streaming"])
async def test_function_agent_runs_tools_through_the_responses_api(
    emu: Emulator, streaming: bool
) -> None:
    calls: list[tuple[int, int]] = []
    agent = FunctionAgent(
        tools=[_multiply_tool(calls)],
        llm=_llm(emu),
        system_prompt="You are a calculator. Use tools for arithmetic.",
        streaming=streaming,
    )
    handler = agent.run(user_msg="Use the multiply tool to multiply 6 and 7.")
    results: list[ToolCallResult] = []
    thinking: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append(event)
        elif isinstance(event, AgentStream) and event.thinking_delta:
            thinking.append(event.thinking_delta)
    output = await handler
    assert calls == [(6, 7)]
    assert [(r.tool_name, r.tool_kwargs) for r in results] == [("multiply", {"a": 6, "b": 7})]
    assert "42" in str(output.response.content)
    if streaming:
        assert thinking  # the agent saw the model think
    assert set(_paths(emu)) == {"/v1/responses"}
    call_id = results[0].tool_id
    history = emu.requests[-1].body["input"]
    [call] = [i for i in history if i["type"] == "function_call"]
    [sent] = [i for i in history if i["type"] == "function_call_output"]
    assert (call["call_id"], call["name"]) == (call_id, "multiply")
    assert (sent["call_id"], sent["output"]) == (call_id, "42")
    assert history.index(call) < history.index(sent)


class Company(BaseModel):
    """A company and the year it was founded."""

    name: str
    founded: int


def test_structured_predict_asks_for_the_schema_as_text_format(emu: Emulator) -> None:
    from llama_index.core.prompts import PromptTemplate

    company = _llm(emu).structured_predict(
        Company,
        PromptTemplate("Extract the company: Multiverse Computing was founded in 2019."),
    )
    assert isinstance(company, Company)
    fmt = emu.requests[0].body["text"]["format"]
    assert (fmt["type"], fmt["name"]) == ("json_schema", "Company")


# ---------------------------------------------------------------- track_previous_responses

OPENING = ChatMessage(role="user", content="The secret word is pineapple.")
ASK = ChatMessage(role="user", content="What is the secret word?")


def _only(message: ChatMessage) -> list[dict[str, Any]]:
    return [{"type": "message", "role": "user", "content": message.content}]


def test_a_tracked_conversation_sends_only_the_new_turn(emu: Emulator) -> None:
    llm = _llm(emu, track_previous_responses=True)
    first = llm.chat([OPENING])
    first_id = first.message.additional_kwargs["response_id"]
    assert first_id == first.raw["id"] and first_id.startswith("resp_")
    assert llm.previous_response_id == first_id
    second = llm.chat([OPENING, first.message, ASK])
    sent_first, sent_second = (r.body for r in emu.requests)
    assert sent_first["store"] is True  # kept by the service, so the next turn can refer to it
    assert "previous_response_id" not in sent_first
    assert (sent_second["previous_response_id"], sent_second["input"]) == (first_id, _only(ASK))
    assert sent_second["store"] is True
    # The service answered from the stored turn: as it does when sent the whole history.
    whole = _llm(emu).chat([OPENING, first.message, ASK])
    assert "pineapple" in second.message.content
    assert second.message.content == whole.message.content
    assert "previous_response_id" not in emu.requests[-1].body  # untracked: the whole history
    assert "store" not in emu.requests[-1].body


async def test_streamed_answers_continue_too(emu: Emulator) -> None:
    llm = _llm(emu, track_previous_responses=True)
    items = list(llm.stream_chat([OPENING]))
    first_id = items[-1].message.additional_kwargs["response_id"]
    assert first_id == llm.previous_response_id
    assert all("response_id" not in i.message.additional_kwargs for i in items[:-1])
    later = [i async for i in await llm.astream_chat([OPENING, items[-1].message, ASK])]
    body = emu.requests[-1].body
    assert (body["previous_response_id"], body["input"]) == (first_id, _only(ASK))
    assert "pineapple" in later[-1].message.content
    later_id = later[-1].message.additional_kwargs["response_id"]
    assert llm.previous_response_id == later_id != first_id
    third = await llm.achat([OPENING, items[-1].message, ASK, later[-1].message, ASK])
    assert emu.requests[-1].body["previous_response_id"] == later_id  # the latest answer
    assert "pineapple" in third.message.content


def test_completions_continue_the_llms_latest_answer(emu: Emulator) -> None:
    # As with llama-index-llms-openai's OpenAIResponses: complete() has no history to carry
    # the answer, so the LLM remembers it.
    llm = _llm(emu, track_previous_responses=True)
    llm.complete("The secret word is pineapple.")
    first_id = llm.previous_response_id
    answer = llm.complete("What is the secret word?")
    assert emu.requests[-1].body["previous_response_id"] == first_id
    assert "pineapple" in answer.text
    streamed = list(llm.stream_complete("What is the secret word?"))
    assert "pineapple" in streamed[-1].text
    llm.previous_response_id = None  # start afresh
    fresh = llm.complete("What is the secret word?")
    assert "previous_response_id" not in emu.requests[-1].body
    assert "pineapple" not in fresh.text
    # A conversation can be resumed by id, by another LLM object with the same key.
    resumed = _llm(emu, track_previous_responses=True, previous_response_id=first_id)
    assert "pineapple" in resumed.complete("What is the secret word?").text


def test_a_history_of_another_api_is_sent_whole(emu: Emulator) -> None:
    llm = _llm(emu, track_previous_responses=True, previous_response_id="resp_elsewhere")
    from_chat = ChatMessage(role="assistant", content="Noted.")  # no response id
    llm.chat([OPENING, from_chat, ASK])
    body = emu.requests[0].body
    assert "previous_response_id" not in body  # not glued onto another conversation
    assert [item["role"] for item in body["input"]] == ["user", "assistant", "user"]


def test_a_call_may_name_the_response_it_continues(emu: Emulator) -> None:
    llm = _llm(emu, track_previous_responses=True)
    first = llm.chat([OPENING])
    llm.chat([OPENING])  # the LLM's latest answer is now another one
    answer = llm.chat([ASK], previous_response_id=first.raw["id"])
    assert emu.requests[-1].body["previous_response_id"] == first.raw["id"]
    assert "pineapple" in answer.message.content


async def test_function_agent_keeps_its_conversation_on_the_service(emu: Emulator) -> None:
    calls: list[tuple[int, int]] = []
    agent = FunctionAgent(
        tools=[_multiply_tool(calls)],
        llm=_llm(emu, track_previous_responses=True),
        system_prompt="You are a calculator. Use tools for arithmetic.",
    )
    output = await agent.run(user_msg="Use the multiply tool to multiply 6 and 7.")
    assert calls == [(6, 7)] and "42" in str(output.response.content)
    asked, answered = (r.body for r in emu.requests)
    assert "previous_response_id" not in asked
    # The tool's result goes alone, after the call the service already holds.
    assert answered["previous_response_id"].startswith("resp_")
    [sent] = answered["input"]
    assert (sent["type"], sent["output"]) == ("function_call_output", "42")


def test_tracking_options_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="track_previous_responses needs the Responses API"):
        CompactifAI(api_key="k", track_previous_responses=True)
    with pytest.raises(ValueError, match="continued with track_previous_responses=True"):
        CompactifAI(api_key="k", use_responses_api=True, previous_response_id="resp_1")
