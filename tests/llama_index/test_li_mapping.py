"""The LlamaIndex adapter against a scripted MockTransport server: request bodies, mapping
of roles, tools and content, streaming shapes, usage, errors and client reuse."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from compactifai import IncompleteStreamError, RequestValidationError
from llama_index_compactifai import CompactifAI
from llama_index_compactifai._messages import messages_to_api

from .conftest import (
    KEY,
    MODEL,
    USAGE,
    FakeServer,
    chat_completion,
    chunk,
    sse_response,
    text_chunks,
    text_completion,
)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


MULTIPLY = FunctionTool.from_defaults(fn=multiply)


# ---------------------------------------------------------------------------- fields, metadata


def test_metadata_of_a_known_model() -> None:
    llm = CompactifAI(model=MODEL, api_key=KEY, max_tokens=300)
    meta = llm.metadata
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is True
    assert meta.model_name == MODEL
    assert meta.context_window == 131_072
    assert meta.num_output == 300
    assert isinstance(llm, FunctionCallingLLM)


def test_metadata_of_an_unknown_model_uses_safe_defaults_and_overrides() -> None:
    meta = CompactifAI(model="cai-new-model-2027-slim", api_key=KEY).metadata
    assert meta.context_window == 8192
    # Not known to call tools: agents pick the ReAct protocol (profile_from_api can tell).
    assert meta.is_function_calling_model is False
    meta = CompactifAI(
        model="x", api_key=KEY, context_window=4096, is_function_calling_model=False
    ).metadata
    assert (meta.context_window, meta.is_function_calling_model) == (4096, False)


def test_api_key_comes_from_env_and_is_never_serialized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "sk-from-env-secret")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "https://api-eu.compactif.ai/v1")
    llm = CompactifAI()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "sk-from-env-secret"
    assert llm.base_url == "https://api-eu.compactif.ai/v1"
    assert "sk-from-env-secret" not in repr(llm)
    assert "sk-from-env-secret" not in json.dumps(llm.to_dict(), default=str)
    assert "sk-from-env-secret" not in llm.to_json()
    assert "sk-from-env-secret" not in str(llm.model_dump())
    assert "api_key" not in llm.to_dict()
    assert llm.to_dict()["model"] == "hypernova-60b"


def test_construction_without_a_key_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    assert CompactifAI().api_key is None


# ---------------------------------------------------------------------------- request bodies


def test_chat_body_maps_every_role_and_tool_history(server: FakeServer) -> None:
    server.answers = [httpx.Response(200, json=chat_completion())]
    llm = server.llm(max_tokens=64, additional_kwargs={"top_p": 0.9})
    history = [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
        ChatMessage(role=MessageRole.DEVELOPER, content="Use metric units."),
        ChatMessage(role=MessageRole.USER, content="What is 6 times 7?"),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[
                ToolCallBlock(
                    tool_call_id="call-1", tool_name="multiply", tool_kwargs={"a": 6, "b": 7}
                )
            ],
        ),
        ChatMessage(
            role=MessageRole.TOOL, content="42", additional_kwargs={"tool_call_id": "call-1"}
        ),
        ChatMessage(role=MessageRole.CHATBOT, content="It is 42."),
    ]
    response = llm.chat(history)
    assert response.message.content == "Hello there."
    (body,) = server.bodies
    assert server.paths == ["/v1/chat/completions"]
    assert body["model"] == MODEL
    assert body["temperature"] == 0
    assert body["max_completion_tokens"] == 64
    assert body["top_p"] == 0.9
    assert "stream" not in body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use metric units."},
        {"role": "user", "content": "What is 6 times 7?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call-1",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'},
                }
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "call-1"},
        {"role": "assistant", "content": "It is 42."},
    ]


def test_legacy_tool_calls_in_additional_kwargs_are_sent(server: FakeServer) -> None:
    server.answers = [httpx.Response(200, json=chat_completion())]
    call = {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    server.llm().chat(
        [
            ChatMessage(role="user", content="go"),
            ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]}),
        ]
    )
    assert server.bodies[0]["messages"][1] == {
        "role": "assistant",
        "tool_calls": [call],
    }


def test_audio_content_is_refused_before_sending(server: FakeServer) -> None:
    # The catalog knows this model and that it does not read audio.
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="listen"), AudioBlock(audio=b"UklGRg==", format="wav")]
    )
    with pytest.raises(RequestValidationError, match=r"does not accept audio"):
        server.llm(model=MODEL).chat([message])
    assert server.requests == []


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PDF_URL = "data:application/pdf;base64," + base64.b64encode(PDF).decode()


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 16)
    return buffer.getvalue()


def test_documents_go_as_file_parts_to_any_model(server: FakeServer, tmp_path: Path) -> None:
    server.answers = [httpx.Response(200, json=chat_completion())]
    (tmp_path / "report.pdf").write_bytes(PDF)
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="Summarize these."),
            DocumentBlock(data=PDF),
            DocumentBlock(path=tmp_path / "report.pdf", title="report.pdf"),
            DocumentBlock(url=PDF_URL, title="inline.pdf"),
            DocumentBlock(data=b"plain notes", document_mimetype="text/plain", title="notes.txt"),
        ],
    )
    server.llm(model=MODEL).chat([message])  # a text-only model: files are the server's call
    assert server.bodies[0]["messages"][0]["content"] == [
        {"type": "text", "text": "Summarize these."},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "input_document"}},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "report.pdf"}},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "inline.pdf"}},
        {
            "type": "file",
            "file": {
                "file_data": "data:text/plain;base64," + base64.b64encode(b"plain notes").decode(),
                "filename": "notes.txt",
            },
        },
    ]


def test_audio_goes_as_input_audio_parts_to_a_model_not_in_the_catalog(
    server: FakeServer, tmp_path: Path
) -> None:
    server.answers = [httpx.Response(200, json=chat_completion())]
    wav = _wav()
    (tmp_path / "clip.wav").write_bytes(wav)
    (tmp_path / "clip.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00")
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="Transcribe."),
            AudioBlock(audio=wav),  # format guessed from the bytes
            AudioBlock(path=tmp_path / "clip.wav"),  # format from the suffix
            AudioBlock(path=tmp_path / "clip.mp3"),
            AudioBlock(audio=b"ID3\x03\x00\x00", format="MP3"),
        ],
    )
    # Unknown models are not second-guessed (as for images): the server decides.
    server.llm(model="some-new-audio-model").chat([message])
    wav_b64 = base64.b64encode(wav).decode()
    content = server.bodies[0]["messages"][0]["content"]
    assert content[:3] == [
        {"type": "text", "text": "Transcribe."},
        {"type": "input_audio", "input_audio": {"data": wav_b64, "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": wav_b64, "format": "wav"}},
    ]
    assert [part["input_audio"]["format"] for part in content[3:]] == ["mp3", "mp3"]
    assert base64.b64decode(content[4]["input_audio"]["data"]) == b"ID3\x03\x00\x00"


@pytest.mark.parametrize(
    ("block", "field", "match"),
    [
        (
            DocumentBlock(url="https://x.test/a.pdf"),
            "messages[user].content",
            "DocumentBlock from a URL.*no document URLs.*data=",
        ),
        (
            AudioBlock(url="https://x.test/a.wav"),
            "messages[user].content",
            "AudioBlock from a URL.*no audio URLs.*audio=",
        ),
        (
            DocumentBlock(data=b"no idea what this is"),
            "messages[user].content",
            "needs its document_mimetype",
        ),
        (AudioBlock(audio=b"\x00\x01 not audio"), "input_audio.format", "needs its format"),
        (
            AudioBlock(audio=b"OggS\x00\x02", format="ogg"),
            "input_audio.format",
            "must be 'wav' or 'mp3'.*'ogg'",
        ),
    ],
)
def test_documents_and_audio_the_api_cannot_take_fail_with_the_field(
    block: Any, field: str, match: str
) -> None:
    with pytest.raises(RequestValidationError, match=match) as info:
        messages_to_api([ChatMessage(role="user", blocks=[TextBlock(text="x"), block])])
    assert info.value.field == field


@pytest.mark.parametrize("role", ["system", "developer", "assistant"])
def test_documents_and_audio_only_go_in_user_messages(role: str) -> None:
    for block in (DocumentBlock(data=PDF), AudioBlock(audio=_wav())):
        with pytest.raises(RequestValidationError, match=f"in {role} messages"):
            messages_to_api([ChatMessage(role=role, blocks=[TextBlock(text="x"), block])])


def test_tool_message_without_call_id_is_refused(server: FakeServer) -> None:
    with pytest.raises(RequestValidationError, match="tool_call_id"):
        server.llm().chat([ChatMessage(role="tool", content="42")])


def test_images_go_as_image_url_parts_only_to_vision_models(server: FakeServer) -> None:
    server.answers = [httpx.Response(200, json=chat_completion())]
    message = ChatMessage(
        role="user",
        blocks=[TextBlock(text="What is this?"), ImageBlock(url="https://x.test/cat.png")],
    )
    with pytest.raises(RequestValidationError, match="does not accept image"):
        server.llm(model=MODEL).chat([message])
    server.llm(model="cai-mistral-small-3-1-slim").chat([message])
    assert server.bodies[0]["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}},
    ]


def test_complete_uses_the_completions_endpoint(server: FakeServer) -> None:
    server.answers = [httpx.Response(200, json=text_completion(" smaller."))]
    response = server.llm(max_tokens=20).complete("Slim models are")
    assert response.text == " smaller."
    assert response.raw["usage"] == USAGE
    assert response.additional_kwargs == USAGE
    assert server.paths == ["/v1/completions"]
    assert server.bodies[0] == {
        "model": MODEL,
        "prompt": "Slim models are",
        "temperature": 0,
        "max_tokens": 20,
    }


# ---------------------------------------------------------------------------- streaming


def test_stream_chat_is_incremental_and_ends_with_usage(server: FakeServer) -> None:
    server.answers = [sse_response(text_chunks("Com", "pact", "ifAI"))]
    items = list(server.llm().stream_chat([ChatMessage(role="user", content="Name?")]))
    body = server.bodies[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    deltas = [item.delta for item in items]
    assert deltas[:3] == ["Com", "pact", "ifAI"]
    assert [item.message.content for item in items[:3]] == ["Com", "Compact", "CompactifAI"]
    assert items[-1].message.content == "CompactifAI"
    assert items[-1].raw["usage"] == USAGE
    assert items[-1].additional_kwargs == USAGE


def test_stream_items_raw_is_each_chunk_as_the_server_sent_it(server: FakeServer) -> None:
    thinking = chunk("Hi")
    thinking["choices"][0]["delta"]["reasoning_content"] = "greet"  # vLLM's older key
    thinking["system_fingerprint"] = "fp-1"
    chunks = [thinking, *text_chunks("!")]
    server.answers = [sse_response(chunks)]
    items = list(server.llm().stream_chat([ChatMessage(role="user", content="Hi")]))
    assert items[0].raw == thinking
    assert items[0].additional_kwargs["thinking_delta"] == "greet"
    assert [item.raw for item in items[1:-1]] == chunks[1:-1]
    assert items[-1].raw == {**chunks[-1], "usage": USAGE}


async def test_astream_chat_and_astream_complete(server: FakeServer) -> None:
    server.answers = [sse_response(text_chunks("a", "b"))]
    llm = server.llm()
    items = [item async for item in await llm.astream_chat([ChatMessage(role="user", content="x")])]
    assert [i.message.content for i in items][-1] == "ab"
    completions = [item async for item in await llm.astream_complete("x")]
    assert [c.delta for c in completions][:2] == ["a", "b"]
    assert completions[-1].text == "ab"
    assert completions[-1].raw["usage"] == USAGE
    assert server.paths == ["/v1/chat/completions"] * 2
    assert not llm._clients.has_sync_client  # async methods never touch the blocking client


def test_stream_complete_is_served_by_the_chat_stream(server: FakeServer) -> None:
    server.answers = [sse_response(text_chunks("tensor ", "networks"))]
    items = list(server.llm().stream_complete("Compression uses"))
    assert server.paths == ["/v1/chat/completions"]
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Compression uses"}]
    assert [i.delta for i in items][:2] == ["tensor ", "networks"]
    assert items[-1].text == "tensor networks"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_broken_stream_raises_after_yielding_what_arrived(
    server: FakeServer, kind: str
) -> None:
    server.answers = [sse_response([chunk("Hel"), chunk("lo")], done=False)]
    llm = server.llm()
    received: list[str] = []
    messages = [ChatMessage(role="user", content="hi")]

    async def collect() -> None:
        if kind == "sync":
            for item in llm.stream_chat(messages):
                received.append(item.message.content or "")
        else:
            async for item in await llm.astream_chat(messages):
                received.append(item.message.content or "")

    with pytest.raises(IncompleteStreamError):
        await collect()
    assert received == ["Hel", "Hello"]


# ---------------------------------------------------------------------------- usage counting


@pytest.mark.parametrize("method", ["chat", "stream_chat", "complete", "stream_complete"])
def test_token_counting_handler_reports_the_servers_usage(server: FakeServer, method: str) -> None:
    if method == "complete":
        server.answers = [httpx.Response(200, json=text_completion())]
    elif method == "chat":
        server.answers = [httpx.Response(200, json=chat_completion())]
    else:
        server.answers = [sse_response(text_chunks("one ", "two"))]
    counter = TokenCountingHandler()
    llm = server.llm(callback_manager=CallbackManager([counter]))
    messages = [ChatMessage(role="user", content="hi")]
    if method == "chat":
        llm.chat(messages)
    elif method == "stream_chat":
        list(llm.stream_chat(messages))
    elif method == "complete":
        llm.complete("hi")
    else:
        list(llm.stream_complete("hi"))
    assert counter.prompt_llm_token_count == USAGE["prompt_tokens"]
    assert counter.completion_llm_token_count == USAGE["completion_tokens"]
    assert counter.total_llm_token_count == USAGE["total_tokens"]


# ---------------------------------------------------------------------------- tools


def test_chat_with_tools_sends_tools_and_reads_the_call(server: FakeServer) -> None:
    call = {
        "id": "chatcmpl-tool-1",
        "type": "function",
        "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'},
    }
    server.answers = [httpx.Response(200, json=chat_completion(None, [call, {**call, "id": "t2"}]))]
    llm = server.llm()
    response = llm.chat_with_tools([MULTIPLY], user_msg="What is 6 times 7?", tool_required=True)
    body = server.bodies[0]
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["name"] == "multiply"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    assert "parallel_tool_calls" not in body
    (selection,) = llm.get_tool_calls_from_response(response)  # parallel calls not allowed
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "chatcmpl-tool-1",
        "multiply",
        {"a": 6, "b": 7},
    )


def test_named_tool_choice_and_no_tool_call(server: FakeServer) -> None:
    server.answers = [httpx.Response(200, json=chat_completion("no tool"))]
    llm = server.llm()
    response = llm.chat_with_tools([MULTIPLY], user_msg="hi", tool_choice="multiply")
    assert server.bodies[0]["tool_choice"] == {"type": "function", "function": {"name": "multiply"}}
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        llm.get_tool_calls_from_response(response)


async def test_streamed_tool_call_fragments_are_reassembled(server: FakeServer) -> None:
    fragments = [
        chunk(
            tool_calls=[
                {
                    "index": 0,
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": ""},
                }
            ]
        ),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 6, '}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"b": 7}'}}]),
        chunk(finish="tool_calls"),
        chunk(usage=USAGE, choices=False),
    ]
    server.answers = [sse_response(fragments)]
    llm = server.llm()
    stream = await llm.astream_chat_with_tools([MULTIPLY], user_msg="6 times 7?")
    items = [item async for item in stream]
    partial = llm.get_tool_calls_from_response(items[1], error_on_no_tool_call=False)
    assert partial[0].tool_kwargs == {"a": 6}
    (selection,) = llm.get_tool_calls_from_response(items[-1])
    assert (selection.tool_name, selection.tool_kwargs) == ("multiply", {"a": 6, "b": 7})
    assert server.bodies[0]["stream_options"] == {"include_usage": True}


# ---------------------------------------------------------------------------- structured output


class City(BaseModel):
    name: str
    population: int


def test_structured_predict_uses_json_schema(server: FakeServer) -> None:
    server.answers = [
        httpx.Response(
            200, json=chat_completion(json.dumps({"name": "Bilbao", "population": 345000}))
        )
    ]
    city = server.llm().structured_predict(City, PromptTemplate("Describe {city}."), city="Bilbao")
    assert city == City(name="Bilbao", population=345000)
    body = server.bodies[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "City"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["name", "population"]
    assert body["messages"] == [{"role": "user", "content": "Describe Bilbao."}]


# ---------------------------------------------------------------------------- clients


def test_clients_are_created_once_and_reused() -> None:
    llm = CompactifAI(api_key=KEY)
    assert llm.client is llm.client

    async def both() -> tuple[Any, Any]:
        return llm.async_client, llm.async_client

    first, second = asyncio.run(both())
    assert first is second
    third, _ = asyncio.run(both())
    assert third is not first  # a new event loop gets its own connection pool


# ---------------------------------------------------------------------------- agents (scripted)

CALL = {
    "id": "chatcmpl-tool-7",
    "type": "function",
    "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'},
}


def _function_calling_server(body: dict[str, Any]) -> httpx.Response:
    """Calls ``multiply`` first; after the tool result, answers with it."""
    last = body["messages"][-1]
    streaming = body.get("stream", False)
    if last["role"] == "tool":
        text = f"The product is {last['content']}."
        if streaming:
            return sse_response(text_chunks("The product ", f"is {last['content']}."))
        return httpx.Response(200, json=chat_completion(text))
    if streaming:
        return sse_response(
            [
                chunk(tool_calls=[{"index": 0, **CALL}]),
                chunk(finish="tool_calls"),
                chunk(usage=USAGE, choices=False),
            ]
        )
    return httpx.Response(200, json=chat_completion(None, [CALL]))


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_round_trips_native_tool_calls(
    server: FakeServer, streaming: bool
) -> None:

    server.answers = [_function_calling_server]
    agent = FunctionAgent(tools=[MULTIPLY], llm=server.llm(), streaming=streaming)
    output = await agent.run(user_msg="Multiply 6 and 7.")
    assert output.response.content == "The product is 42."
    assert [(c.tool_name, c.tool_kwargs) for c in output.tool_calls] == [
        ("multiply", {"a": 6, "b": 7})
    ]
    # The second request carries the assistant's call and the tool's answer back.
    assert server.bodies[-1]["messages"][-2:] == [
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "content": "42", "tool_call_id": "chatcmpl-tool-7"},
    ]
    assert all(("tools" in body) for body in server.bodies)


async def test_react_agent_runs_on_plain_chat(server: FakeServer) -> None:

    def react(body: dict[str, Any]) -> httpx.Response:
        if body["messages"][-1]["content"].startswith("Observation: 42"):
            text = "Thought: I can answer without using any more tools.\nAnswer: It is 42."
        else:
            text = 'Thought: I need a tool.\nAction: multiply\nAction Input: {"a": 6, "b": 7}'
        return sse_response(text_chunks(text))

    server.answers = [react]
    output = await ReActAgent(tools=[MULTIPLY], llm=server.llm()).run(user_msg="6 times 7?")
    assert output.response.content == "It is 42."
    assert all("tools" not in body for body in server.bodies)


def test_reasoning_content_becomes_a_thinking_block(server: FakeServer) -> None:
    reasoning_chunk = chunk()
    reasoning_chunk["choices"][0]["delta"]["reasoning_content"] = "Think first."
    server.answers = [sse_response([reasoning_chunk, *text_chunks("Done.")])]
    items = list(server.llm().stream_chat([ChatMessage(role="user", content="hi")]))
    assert items[0].additional_kwargs["thinking_delta"] == "Think first."
    thinking = [b for b in items[-1].message.blocks if b.block_type == "thinking"]
    assert [b.content for b in thinking] == ["Think first."]
    assert items[-1].message.content == "Done."


def test_structured_predict_in_function_mode_forces_a_tool_call(server: FakeServer) -> None:
    call = {
        "id": "t1",
        "type": "function",
        "function": {"name": "City", "arguments": '{"name": "Bilbao", "population": 345000}'},
    }
    server.answers = [httpx.Response(200, json=chat_completion(None, [call]))]
    llm = server.llm(pydantic_program_mode=PydanticProgramMode.FUNCTION)
    city = llm.structured_predict(City, PromptTemplate("Describe {city}."), city="Bilbao")
    assert city == City(name="Bilbao", population=345000)
    body = server.bodies[0]
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["City"]
    assert "response_format" not in body


def test_copies_and_changed_settings_get_their_own_clients() -> None:
    llm = CompactifAI(api_key=KEY, base_url="https://a.test.invalid/v1")
    client = llm.client
    assert llm.model_copy().client is client  # same settings: the pool is shared
    moved = llm.model_copy(update={"base_url": "https://b.test.invalid/v1"})
    assert moved.client.base_url == "https://b.test.invalid/v1"
    assert llm.client is client
    clone = copy.deepcopy(llm)
    assert clone.client is not client
    assert clone.api_key is not None
    assert clone.api_key.get_secret_value() == KEY
    llm.timeout = 5
    assert llm.client is not client
    assert llm.client.timeout.read == 5
