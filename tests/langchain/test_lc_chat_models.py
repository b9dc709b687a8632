"""ChatCompactifAI against an in-memory transport: exact request bodies and response mapping.

These cover what the standard suites do not: the JSON the adapter sends, message mapping edge
cases, every stream framing the service may use, errors, secrecy of the key and client reuse.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)
from langchain_core.load import dumps
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field

import compactifai
from compactifai import (
    AuthenticationError,
    IncompleteStreamError,
    MissingAPIKeyError,
    RequestValidationError,
)
from compactifai.chat import audio_format, file_part, input_audio_part
from langchain_compactifai import ChatCompactifAI
from langchain_compactifai._messages import messages_to_api

BASE_URL = "https://api.test.invalid/v1"
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def completion(
    content: str | None = "Hello there",
    *,
    model: str = "hypernova-60b",
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = USAGE,
    **message_extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, **message_extra}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    model: str = "hypernova-60b",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


class FakeAPI:
    """Records request bodies; answers with queued JSON bodies or SSE streams."""

    def __init__(self, *responses: dict[str, Any] | bytes) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        return self.bodies[-1]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        headers = {"x-request-id": "req-123"}
        if isinstance(response, bytes):
            headers["content-type"] = "text/event-stream"
            return httpx.Response(200, content=response, headers=headers)
        return httpx.Response(200, json=response, headers=headers)

    def model(self, **kwargs: Any) -> ChatCompactifAI:
        return ChatCompactifAI(
            api_key="sk-secret-value",
            base_url=BASE_URL,
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self)),
            **kwargs,
        )


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI(completion())


# ---------------------------------------------------------------------------- request bodies


def test_body_carries_fields_and_omits_unset(api: FakeAPI) -> None:
    model = api.model(
        model="gpt-oss-120b",
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["END"],
        frequency_penalty=0.5,
        n=1,
        user="u-1",
        model_kwargs={"reasoning_effort": "low"},
    )
    model.invoke("Hi")
    assert api.body == {
        "model": "gpt-oss-120b",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "max_completion_tokens": 50,
        "top_p": 0.9,
        "stop": ["END"],
        "frequency_penalty": 0.5,
        "n": 1,
        "user": "u-1",
        "reasoning_effort": "low",
    }


def test_defaults_send_only_model_and_messages(api: FakeAPI) -> None:
    api.model(stop=[]).invoke("Hi")
    assert api.body == {
        "model": "hypernova-60b",
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_per_call_overrides_win(api: FakeAPI) -> None:
    model = api.model(temperature=0.7, stop=["a"])
    model.invoke("Hi", model="cai-mistral-small-3-1-slim", temperature=0.1, stop=["b"])
    assert api.body["model"] == "cai-mistral-small-3-1-slim"
    assert api.body["temperature"] == 0.1
    assert api.body["stop"] == ["b"]


def test_max_completion_tokens_wins_over_max_tokens(api: FakeAPI) -> None:
    model = api.model(max_tokens=10, max_completion_tokens=20)
    model.invoke("Hi")
    assert api.body["max_completion_tokens"] == 20
    assert "max_tokens" not in api.body
    model.invoke("Hi", max_tokens=5)
    assert api.body["max_completion_tokens"] == 5
    assert "max_tokens" not in api.body


def test_unknown_kwargs_go_to_model_kwargs_with_warning(api: FakeAPI) -> None:
    with pytest.warns(UserWarning, match="ignore_eos"):
        model = api.model(ignore_eos=True)
    assert model.model_kwargs == {"ignore_eos": True}
    model.invoke("Hi")
    assert api.body["ignore_eos"] is True


def test_n_other_than_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="n must be 1"):
        ChatCompactifAI(n=2)


def test_stream_requests_usage_unless_turned_off() -> None:
    api = FakeAPI(sse(chunk({"content": "x"})))
    list(api.model().stream("Hi"))
    assert api.body["stream"] is True
    assert api.body["stream_options"] == {"include_usage": True}
    list(api.model(stream_usage=False).stream("Hi"))
    assert "stream_options" not in api.body
    list(api.model().stream("Hi", stream_usage=False))
    assert "stream_options" not in api.body


# ---------------------------------------------------------------------------- message mapping


def test_roles_names_and_tool_history(api: FakeAPI) -> None:
    messages = [
        SystemMessage("Be brief."),
        SystemMessage("Dev rules.", additional_kwargs={"__openai_role__": "developer"}),
        HumanMessage("What is 2+3?", name="alice"),
        AIMessage(
            "",
            tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call_1"}],
        ),
        ToolMessage("5", tool_call_id="call_1", name="add"),
        AIMessage("It is 5.", name="bot"),
        ChatMessage(role="human", content="Thanks"),
        ChatMessage(role="assistant", content="Welcome"),
        FunctionMessage(name="legacy", content="ok"),
    ]
    api.model().invoke(messages)
    assert api.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Dev rules."},
        {"role": "user", "content": "What is 2+3?", "name": "alice"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                }
            ],
        },
        {"role": "tool", "content": "5", "tool_call_id": "call_1"},
        {"role": "assistant", "content": "It is 5.", "name": "bot"},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": "Welcome"},
        {"role": "function", "content": "ok", "name": "legacy"},
    ]


def test_invalid_tool_calls_are_sent_back_verbatim(api: FakeAPI) -> None:
    ai = AIMessage(
        "",
        invalid_tool_calls=[
            {
                "name": "add",
                "args": "{not json",
                "id": "call_9",
                "error": "bad",
                "type": "invalid_tool_call",
            }
        ],
    )
    api.model().invoke([HumanMessage("x"), ai, ToolMessage("err", tool_call_id="call_9")])
    assert api.body["messages"][1]["tool_calls"][0]["function"] == {
        "name": "add",
        "arguments": "{not json",
    }


def test_text_blocks_are_joined_and_tool_use_blocks_skipped(api: FakeAPI) -> None:
    messages = [
        HumanMessage([{"type": "text", "text": "Hello "}, "world"]),
        AIMessage(
            [
                {"type": "text", "text": "some text"},
                {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}},
                {"type": "reasoning", "reasoning": "hidden"},
            ],
            tool_calls=[{"name": "add", "args": {"a": 1}, "id": "t1"}],
        ),
        ToolMessage([{"type": "text", "text": "1"}], tool_call_id="t1"),
    ]
    api.model().invoke(messages)
    sent = api.body["messages"]
    assert sent[0] == {"role": "user", "content": "Hello world"}
    assert sent[1]["content"] == "some text"
    assert sent[1]["tool_calls"][0]["id"] == "t1"
    assert sent[2]["content"] == "1"


def test_image_blocks_become_image_url_parts_for_a_vision_model(api: FakeAPI) -> None:
    message = HumanMessage(
        [
            {"type": "text", "text": "Describe these."},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
            {"type": "image", "base64": "QUJD", "mime_type": "image/png"},
            {"type": "image", "url": "https://x.test/b.jpg"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
            },
        ]
    )
    api.model(model="cai-mistral-small-3-1-slim").invoke([message])
    assert api.body["messages"][0]["content"] == [
        {"type": "text", "text": "Describe these."},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/b.jpg"}},
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}},
    ]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (
            HumanMessage([{"type": "image", "url": "https://x.test/a.png"}]),
            "does not accept image inputs",
        ),
        (
            HumanMessage([{"type": "video", "base64": "AAAA", "mime_type": "video/mp4"}]),
            "unsupported content block 'video': the API takes text, image, file",
        ),
        (
            SystemMessage([{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]),
            "system message takes text only",
        ),
        (
            ToolMessage([{"type": "image", "url": "https://x.test/a.png"}], tool_call_id="1"),
            "tool message takes text only",
        ),
        (ChatMessage(role="narrator", content="Once upon a time"), "role 'narrator'"),
        (
            HumanMessage([{"type": "image", "base64": "QUJD"}]),
            "mime_type",
        ),
    ],
)
def test_unsupported_input_fails_before_sending(api: FakeAPI, message: Any, match: str) -> None:
    # The default model (hypernova-60b) reads no images; the image checks below
    # that need a vision model use one.
    vision = "base64" in str(message.content) and "mime" not in str(message.content)
    model = api.model(model="cai-mistral-small-3-1-slim") if vision else api.model()
    with pytest.raises(ValueError, match=match):  # RequestValidationError or core's own check
        model.invoke([message])
    assert api.requests == []


PDF_B64 = "JVBERi0xLjQK"  # "%PDF-1.4\n"
WAV_B64 = "UklGRiQAAABXQVZF"  # "RIFF$...WAVE"


def test_file_blocks_become_file_parts(api: FakeAPI) -> None:
    message = HumanMessage(
        [
            {"type": "text", "text": "Summarize these."},
            {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf"},
            {
                "type": "file",
                "base64": PDF_B64,
                "mime_type": "application/pdf",
                "filename": "report.pdf",
            },
            {"type": "file", "file_id": "file-abc"},
            {
                "type": "file",
                "file": {
                    "filename": "old.pdf",
                    "file_data": f"data:application/pdf;base64,{PDF_B64}",
                },
            },
            {"type": "file", "file": {"file_id": "file-def"}},
            {
                "type": "file",
                "source_type": "base64",
                "data": PDF_B64,
                "mime_type": "application/pdf",
            },
        ]
    )
    api.model().invoke([message])  # a text-only model: files are the server's call
    pdf = f"data:application/pdf;base64,{PDF_B64}"
    assert api.body["messages"][0]["content"] == [
        {"type": "text", "text": "Summarize these."},
        {"type": "file", "file": {"file_data": pdf}},
        {"type": "file", "file": {"file_data": pdf, "filename": "report.pdf"}},
        {"type": "file", "file": {"file_id": "file-abc"}},
        {"type": "file", "file": {"file_data": pdf, "filename": "old.pdf"}},
        {"type": "file", "file": {"file_id": "file-def"}},
        {"type": "file", "file": {"file_data": pdf}},
    ]


def test_openai_file_blocks_pass_through_the_mapping_unchanged() -> None:
    # Called directly (not through invoke, where core first turns them into v1 blocks).
    file = {"filename": "a.txt", "file_data": "data:text/plain;base64,aGk=", "vendor_knob": 1}
    sent = messages_to_api([HumanMessage([{"type": "file", "file": file}])])
    assert sent == [{"role": "user", "content": [{"type": "file", "file": file}]}]


def test_audio_blocks_become_input_audio_parts_for_a_model_not_in_the_catalog(
    api: FakeAPI,
) -> None:
    message = HumanMessage(
        [
            {"type": "text", "text": "Transcribe."},
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/wav"},
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/x-wav"},
            {"type": "audio", "base64": "SUQz", "mime_type": "audio/mpeg"},
            {"type": "audio", "base64": "SUQz", "mime_type": "audio/mp3"},
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
            {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
        ]
    )
    # Unknown models are not second-guessed (as for images): the server decides.
    api.model(model="some-new-audio-model").invoke([message])
    wav = {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}}
    mp3 = {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}}
    assert api.body["messages"][0]["content"] == [
        {"type": "text", "text": "Transcribe."},
        wav,
        wav,
        mp3,
        mp3,
        wav,
        mp3,
    ]


def test_direct_mapping_of_openai_audio_blocks() -> None:
    block = {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "WAV"}}
    [sent] = messages_to_api([HumanMessage([block])])
    assert sent["content"] == [
        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}}
    ]
    with pytest.raises(RequestValidationError, match="does not accept audio inputs"):
        messages_to_api([HumanMessage([block])], audio=False)


@pytest.mark.parametrize(
    ("block", "match"),
    [
        (
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/wav"},
            "this model does not accept audio inputs",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
            "this model does not accept audio inputs",
        ),
    ],
)
def test_audio_for_a_catalog_model_without_audio_fails_before_sending(
    api: FakeAPI, block: dict[str, Any], match: str
) -> None:
    with pytest.raises(RequestValidationError, match=match):
        api.model(model="cai-mistral-small-3-1-slim").invoke([HumanMessage([block])])
    assert api.requests == []


@pytest.mark.parametrize(
    ("block", "field", "match"),
    [
        ({"type": "file", "url": "https://x.test/a.pdf"}, "messages[user].content", "no file URLs"),
        (
            {"type": "file", "source_type": "url", "url": "https://x.test/a.pdf"},
            "messages[user].content",
            "no file URLs",
        ),
        ({"type": "file", "base64": PDF_B64}, "file.file_data", "needs a mime_type"),
        ({"type": "file", "file": {"filename": "a.pdf"}}, "file", "file_data.*or.*file_id"),
        (
            {"type": "file", "file": {"file_data": "https://x.test/a.pdf"}},
            "file.file_data",
            "not a URL",
        ),
        ({"type": "file", "mime_type": "application/pdf"}, "messages[user].content", "file_id"),
        (
            {"type": "audio", "url": "https://x.test/a.wav"},
            "messages[user].content",
            "no audio URLs",
        ),
        ({"type": "audio", "file_id": "file-1"}, "messages[user].content", "inline only"),
        (
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/ogg"},
            "input_audio.format",
            "audio/ogg.*wav \\(audio/wav, audio/x-wav\\) or mp3 \\(audio/mpeg, audio/mp3\\)",
        ),
        ({"type": "audio", "base64": WAV_B64}, "input_audio.format", "needs its format"),
        (
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "flac"}},
            "input_audio.format",
            "must be 'wav' or 'mp3'.*'flac'",
        ),
        (
            {"type": "input_audio", "input_audio": {"format": "wav"}},
            "input_audio.data",
            "base64 data",
        ),
    ],
)
def test_invalid_file_and_audio_blocks_name_the_field(
    block: dict[str, Any], field: str, match: str
) -> None:
    # Mapped directly: core's own input normalisation is not what is under test here.
    with pytest.raises(RequestValidationError, match=match) as info:
        messages_to_api([HumanMessage([block])])
    assert info.value.field == field


def test_shared_part_builders() -> None:
    assert audio_format(mime_type="Audio/MPEG; rate=44100") == "mp3"
    assert file_part(file_id="file-1", filename="a.pdf") == {
        "type": "file",
        "file": {"file_id": "file-1", "filename": "a.pdf"},
    }
    with pytest.raises(RequestValidationError, match="not both") as info:
        file_part(data=PDF_B64, mime_type="application/pdf", file_data="data:x/y;base64,AA")
    assert info.value.field == "file.file_data"
    with pytest.raises(RequestValidationError, match="not a URL") as info:
        input_audio_part(data="https://x.test/a.wav", format="wav")
    assert info.value.field == "input_audio.data"


@pytest.mark.parametrize(
    "message",
    [
        SystemMessage([{"type": "file", "file_id": "file-1"}]),
        ToolMessage(
            [{"type": "audio", "base64": WAV_B64, "mime_type": "audio/wav"}], tool_call_id="1"
        ),
        ChatMessage(role="developer", content=[{"type": "file", "file_id": "file-1"}]),
    ],
)
def test_files_and_audio_only_go_in_user_messages(message: Any) -> None:
    with pytest.raises(RequestValidationError, match="takes text only"):
        messages_to_api([message])


# ---------------------------------------------------------------------------- responses


def test_invoke_maps_content_usage_and_metadata(api: FakeAPI) -> None:
    result = api.model().invoke("Hi")
    assert result.content == "Hello there"
    assert result.usage_metadata == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    assert result.id is not None and result.id.startswith("lc_run")
    metadata = result.response_metadata
    assert metadata["model_name"] == "hypernova-60b"
    assert metadata["finish_reason"] == "stop"
    assert metadata["id"] == "chatcmpl-abc"
    assert metadata["model_provider"] == "compactifai"
    assert metadata["request_id"] == "req-123"


def test_usage_details_and_reasoning_content_are_kept() -> None:
    usage = {
        **USAGE,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    api = FakeAPI(completion("Answer", usage=usage, reasoning_content="because"))
    result = api.model().invoke("Hi")
    assert result.usage_metadata is not None
    assert result.usage_metadata["input_token_details"] == {"cache_read": 4}
    assert result.usage_metadata["output_token_details"] == {"reasoning": 3}
    assert result.additional_kwargs["reasoning_content"] == "because"


def test_tool_calls_and_invalid_tool_calls() -> None:
    api = FakeAPI(
        completion(
            None,
            finish_reason="tool_calls",
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1,'},
                },
                {"id": "c3", "type": "function", "function": {"name": "noop", "arguments": ""}},
            ],
        )
    )
    result = api.model().invoke("add")
    assert result.content == ""
    assert [(c["name"], c["args"], c["id"]) for c in result.tool_calls] == [
        ("add", {"a": 1, "b": 2}, "c1"),
        ("noop", {}, "c3"),
    ]
    [invalid] = result.invalid_tool_calls
    assert invalid["id"] == "c2"
    assert invalid["args"] == '{"a": 1,'
    assert invalid["error"] is not None and "not valid JSON" in invalid["error"]
    assert result.response_metadata["finish_reason"] == "tool_calls"


# ---------------------------------------------------------------------------- streaming


def _collect(model: ChatCompactifAI, **kwargs: Any) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    chunks = list(model.stream("Hi", **kwargs))
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return chunks, full


OPENAI_FRAMING = sse(
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, finish_reason="stop"),
    chunk(None, usage=USAGE),
)
MINIMAL_FRAMING = sse(chunk({"content": "Hel"}), chunk({"content": "lo"}))


@pytest.mark.parametrize("body", [OPENAI_FRAMING, MINIMAL_FRAMING], ids=["openai", "minimal"])
def test_stream_framings(body: bytes) -> None:
    chunks, full = _collect(FakeAPI(body).model())
    assert [c.content for c in chunks] == ["Hel", "lo", ""]
    assert full.content == "Hello"
    assert chunks[-1].chunk_position == "last"
    assert sum(1 for c in chunks if c.usage_metadata) == (1 if body is OPENAI_FRAMING else 0)
    assert sum(1 for c in chunks if "model_name" in c.response_metadata) == 1
    assert full.response_metadata["model_name"] == "hypernova-60b"
    assert full.response_metadata["request_id"] == "req-123"
    if body is OPENAI_FRAMING:
        assert full.usage_metadata == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
        assert full.response_metadata["finish_reason"] == "stop"
    else:  # nothing invented when the server says nothing
        assert full.usage_metadata is None
        assert "finish_reason" not in full.response_metadata


def test_usage_in_the_last_content_chunk_is_read() -> None:
    body = sse(chunk({"content": "Hi"}), chunk({"content": "!"}, finish_reason="stop", usage=USAGE))
    chunks, full = _collect(FakeAPI(body).model())
    assert full.usage_metadata == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_streamed_tool_call_chunks() -> None:
    body = sse(
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "add", "arguments": ""},
                    }
                ],
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1, '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"b": 2}'}}]}),
        chunk({}, finish_reason="tool_calls"),
        chunk(None, usage=USAGE),
    )
    chunks, full = _collect(FakeAPI(body).model())
    assert [tc["args"] for c in chunks for tc in c.tool_call_chunks] == ["", '{"a": 1, ', '"b": 2}']
    assert full.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


async def test_astream_matches_stream() -> None:
    model = FakeAPI(OPENAI_FRAMING).model()
    chunks = [c async for c in model.astream("Hi")]
    assert [c.content for c in chunks] == ["Hel", "lo", ""]
    assert chunks[-1].usage_metadata == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}


def test_broken_stream_raises_after_yielding_received_chunks() -> None:
    model = FakeAPI(sse(chunk({"content": "Hel"}), chunk({"content": "lo"}), done=False)).model()
    received: list[Any] = []

    def consume() -> None:
        for c in model.stream("Hi"):
            received.append(c.content)

    with pytest.raises(IncompleteStreamError):
        consume()
    assert received == ["Hel", "lo"]


class _TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_new_token_callback_fires_once_per_chunk() -> None:
    counter = _TokenCounter()
    model = FakeAPI(OPENAI_FRAMING).model()
    list(model.stream("Hi", config={"callbacks": [counter]}))
    assert counter.tokens == ["Hel", "lo", ""]


def test_streaming_true_streams_on_invoke() -> None:
    api = FakeAPI(OPENAI_FRAMING)
    counter = _TokenCounter()
    result = api.model(streaming=True).invoke("Hi", config={"callbacks": [counter]})
    assert api.body["stream"] is True
    assert result.content == "Hello"
    assert result.usage_metadata == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    assert counter.tokens == ["Hel", "lo", ""]


# ---------------------------------------------------------------------------- tools, structured output


class GetWeather(BaseModel):
    """Current weather in a city."""

    city: str = Field(description="City name")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        ("add", {"type": "function", "function": {"name": "add"}}),
        (
            {"type": "function", "function": {"name": "multiply"}},
            {"type": "function", "function": {"name": "multiply"}},
        ),
    ],
)
def test_bind_tools_formats_and_tool_choice(api: FakeAPI, choice: Any, expected: Any) -> None:
    dict_tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    api.model().bind_tools([GetWeather, add, multiply, dict_tool], tool_choice=choice).invoke("x")
    assert [t["function"]["name"] for t in api.body["tools"]] == [
        "GetWeather",
        "add",
        "multiply",
        "lookup",
    ]
    assert api.body["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    assert api.body["tool_choice"] == expected


def test_tool_choice_of_unbound_tool_is_an_error(api: FakeAPI) -> None:
    with pytest.raises(RequestValidationError, match="not one of the bound tools"):
        api.model().bind_tools([add], tool_choice="subtract")


class Address(BaseModel):
    city: str
    country: str


class Person(BaseModel):
    """A person and where they live."""

    name: str
    age: int
    addresses: list[Address]


PERSON = {"name": "Ada", "age": 36, "addresses": [{"city": "London", "country": "UK"}]}


def test_structured_output_json_schema_nested_pydantic() -> None:
    api = FakeAPI(completion(json.dumps(PERSON)))
    result = api.model().with_structured_output(Person, strict=True).invoke("Ada")
    assert result == Person.model_validate(PERSON)
    response_format = api.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Person"
    assert response_format["json_schema"]["strict"] is True
    assert "addresses" in response_format["json_schema"]["schema"]["properties"]


def test_structured_output_function_calling_forces_the_tool() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "Person", "arguments": json.dumps(PERSON)},
    }
    api = FakeAPI(completion(None, tool_calls=[call], finish_reason="tool_calls"))
    result = api.model().with_structured_output(Person, method="function_calling").invoke("Ada")
    assert result == Person.model_validate(PERSON)
    assert api.body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert "response_format" not in api.body


def test_structured_output_json_mode_dict_schema() -> None:
    api = FakeAPI(completion('```json\n{"setup": "a", "punchline": "b"}\n```'))
    schema = {
        "title": "Joke",
        "type": "object",
        "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
    }
    result = api.model().with_structured_output(schema, method="json_mode").invoke("joke")
    assert result == {"setup": "a", "punchline": "b"}
    assert api.body["response_format"] == {"type": "json_object"}


def test_structured_output_include_raw_reports_parsing_error() -> None:
    api = FakeAPI(completion("not json at all"))
    result = api.model().with_structured_output(Person, include_raw=True).invoke("Ada")
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert result["raw"].content == "not json at all"
    assert result["parsed"] is None
    assert result["parsing_error"] is not None


def test_structured_output_unknown_method() -> None:
    with pytest.raises(ValueError, match="Unknown method"):
        ChatCompactifAI().with_structured_output(Person, method="xml")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- errors, secrets, clients


def test_missing_key_fails_at_call_time_with_how_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    model = ChatCompactifAI(base_url=BASE_URL)
    assert model.api_key is None
    with pytest.raises(MissingAPIKeyError, match="COMPACTIFAI_API_KEY"):
        model.invoke("Hi")


def test_api_errors_propagate_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Token is not associated with a valid user"})

    model = ChatCompactifAI(
        api_key="sk-revoked-key",
        base_url=BASE_URL,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(AuthenticationError, match="not associated with a valid user") as info:
        model.invoke("Hi")
    assert "sk-revoked-key" not in str(info.value)


def test_key_never_leaks(api: FakeAPI) -> None:
    model = api.model()
    secret = "sk-secret-value"
    assert api.requests == [] and model.api_key is not None
    assert model.api_key.get_secret_value() == secret
    for text in (
        repr(model),
        str(model),
        str(model.model_dump()),
        dumps(model),
        str(model._get_ls_params()),
        str(model._identifying_params),
    ):
        assert secret not in text
    assert model.lc_secrets == {"api_key": "COMPACTIFAI_API_KEY"}
    model.invoke("Hi")
    assert api.requests[0].headers["authorization"] == f"Bearer {secret}"


def test_ls_params() -> None:
    model = ChatCompactifAI(model="hypernova-60b", temperature=0.3, max_tokens=9, stop="END")
    assert model._get_ls_params() == {
        "ls_provider": "compactifai",
        "ls_model_name": "hypernova-60b",
        "ls_model_type": "chat",
        "ls_temperature": 0.3,
        "ls_max_tokens": 9,
        "ls_stop": ["END"],
    }
    assert model._get_ls_params(model="other", stop=["x"])["ls_model_name"] == "other"
    assert model._get_ls_params(stop=["x"])["ls_stop"] == ["x"]
    assert model._llm_type == "compactifai-chat"


async def test_clients_are_created_once_and_shared(
    api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    for cls in (compactifai.CompactifAIClient, compactifai.AsyncCompactifAIClient):
        original: Callable[..., None] = cls.__init__

        def init(
            self: Any, *args: Any, _original: Callable[..., None] = original, **kwargs: Any
        ) -> None:
            created.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)
    model = api.model()
    bound = model.bind_tools([add])
    for _ in range(3):
        model.invoke("Hi")
        bound.invoke("Hi")
        await model.ainvoke("Hi")
    model.batch(["a", "b", "c"])
    await model.abatch(["a", "b", "c"])
    assert sorted(created) == ["AsyncCompactifAIClient", "CompactifAIClient"]
    assert model.client is model.client
    assert model.async_client.base_url == BASE_URL
    assert model.client.max_retries == 2


def test_client_settings_are_passed_to_the_transport() -> None:
    model = ChatCompactifAI(
        api_key="k",
        base_url="https://api-eu.compactif.ai/v1/",
        timeout=5,
        max_retries=4,
        default_headers={"x-app-id": "my-app"},
    )
    client = model.client
    assert client.base_url == "https://api-eu.compactif.ai/v1"
    assert client.timeout.read == 5
    assert client.max_retries == 4
    assert client.default_headers == {"x-app-id": "my-app"}
    model.close()


def test_default_headers_are_sent() -> None:
    api = FakeAPI(completion())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = api.model(default_headers={"x-app-id": "my-app"})
    model.invoke("Hi")
    assert api.requests[0].headers["x-app-id"] == "my-app"


def test_repeated_completion_ids_do_not_collide(api: FakeAPI) -> None:
    # LangGraph's add_messages replaces a message with the same id: ids must stay unique
    # even if a server repeats its completion id.
    model = api.model()
    first, second = model.invoke("a"), model.invoke("b")
    assert first.id != second.id
    assert first.response_metadata["id"] == second.response_metadata["id"] == "chatcmpl-abc"


def test_profile_comes_from_the_catalog() -> None:
    vision = ChatCompactifAI(model="mistral-small-3-1").profile
    text = ChatCompactifAI(model="hypernova-60b").profile
    assert vision is not None and text is not None
    assert vision["image_inputs"] is True
    assert text["image_inputs"] is False
    assert vision["audio_inputs"] is False and text["audio_inputs"] is False
    assert text["tool_calling"] is True and text["structured_output"] is True
    assert text["reasoning_output"] is True and vision["reasoning_output"] is False
    assert text["reasoning_effort_levels"] == ["low", "medium", "high"]
    assert "reasoning_effort_levels" not in vision
    assert text["max_input_tokens"] == 131_072


def test_profile_leaves_what_the_catalog_does_not_know_to_the_server() -> None:
    unknown = ChatCompactifAI(model="cai-new-model-2027-slim").profile
    assert unknown is not None
    assert not {"image_inputs", "audio_inputs", "tool_calling"} & set(unknown)
    assert unknown["text_inputs"] is True


async def test_broken_async_stream_raises_after_yielding_received_chunks() -> None:
    model = FakeAPI(sse(chunk({"content": "Hel"}), done=False)).model()
    received: list[Any] = []

    async def consume() -> None:
        async for c in model.astream("Hi"):
            received.append(c.content)

    with pytest.raises(IncompleteStreamError):
        await consume()
    assert received == ["Hel"]


async def test_async_structured_output_and_tools() -> None:
    api = FakeAPI(completion(json.dumps(PERSON)))
    person = await api.model().with_structured_output(Person).ainvoke("Ada")
    assert person == Person.model_validate(PERSON)
    assert api.body["response_format"]["json_schema"]["name"] == "Person"


def test_deepcopy_shares_callers_http_client_but_not_transport(api: FakeAPI) -> None:
    import copy

    model = api.model(temperature=0.3)
    model.invoke("Hi")
    clone = copy.deepcopy(model)
    assert clone.http_client is model.http_client
    assert clone.temperature == 0.3
    assert clone.api_key is not None and clone.api_key.get_secret_value() == "sk-secret-value"
    assert clone.client is not model.client
    clone.invoke("Hi again")
    assert api.body["messages"] == [{"role": "user", "content": "Hi again"}]


# ---------------------------------------------------------------------------- LangChain error classes


def _failing(status: int, body: dict[str, Any]) -> ChatCompactifAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers={"x-request-id": "req-err"})

    return ChatCompactifAI(
        api_key="k",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )


@pytest.mark.parametrize(
    ("status", "message", "compactifai_error", "langchain_error", "retryable"),
    [
        (
            401,
            "Token is not associated with a valid user",
            compactifai.AuthenticationError,
            ModelAuthenticationError,
            False,
        ),
        (403, "forbidden", compactifai.PermissionDeniedError, ModelPermissionDeniedError, False),
        (404, "model not found", compactifai.NotFoundError, ModelNotFoundError, False),
        (
            400,
            "temperature out of range",
            compactifai.BadRequestError,
            ModelInvalidRequestError,
            False,
        ),
        (
            400,
            "This model's maximum context length is 131072 tokens",
            compactifai.BadRequestError,
            ContextOverflowError,
            False,
        ),
        (429, "slow down", compactifai.RateLimitError, ModelRateLimitError, True),
        (503, "overloaded", compactifai.InternalServerError, ModelAPIError, True),
    ],
)
async def test_errors_carry_langchain_classification(
    status: int,
    message: str,
    compactifai_error: type[Exception],
    langchain_error: type[ModelError],
    retryable: bool,
) -> None:
    model = _failing(status, {"error": {"type": "x", "message": message}})
    for call in (lambda: model.invoke("Hi"), lambda: list(model.stream("Hi"))):
        with pytest.raises(compactifai_error, match=message) as info:
            call()
        assert isinstance(info.value, langchain_error)
        assert info.value.is_retryable is retryable
        assert info.value.status_code == status  # type: ignore[attr-defined]
        assert info.value.request_id == "req-err"  # type: ignore[attr-defined]
    with pytest.raises(langchain_error):
        await model.ainvoke("Hi")


def test_connection_errors_and_broken_streams_are_retryable_model_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    model = ChatCompactifAI(
        api_key="k", base_url=BASE_URL, max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )  # fmt: skip
    with pytest.raises(compactifai.APIConnectionError) as info:
        model.invoke("Hi")
    assert isinstance(info.value, ModelConnectionError) and info.value.is_retryable
    broken = FakeAPI(sse(chunk({"content": "Hel"}), done=False)).model()
    with pytest.raises(IncompleteStreamError) as stream_info:
        list(broken.stream("Hi"))
    assert isinstance(stream_info.value, ModelConnectionError)


def test_errors_before_sending_pass_through_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError) as info:
        ChatCompactifAI(base_url=BASE_URL).invoke("Hi")
    assert type(info.value) is MissingAPIKeyError


def test_token_counting_needs_no_tokenizer_package() -> None:
    from langchain_core.messages import trim_messages

    model = ChatCompactifAI(api_key="k")
    assert model.get_num_tokens("abcdefgh") == 2
    assert model.get_num_tokens("") == 0
    history = [SystemMessage("Be brief."), *[HumanMessage("word " * 40) for _ in range(5)]]
    trimmed = trim_messages(history, max_tokens=120, token_counter=model, include_system=True)
    assert trimmed[0] == history[0]
    assert 1 < len(trimmed) < len(history)
    assert model.get_num_tokens_from_messages(history[:2]) > model.get_num_tokens_from_messages(
        history[:1]
    )


def test_each_event_loop_gets_its_own_async_client() -> None:
    import asyncio

    model = ChatCompactifAI(api_key="k", base_url=BASE_URL)

    async def clients() -> tuple[Any, Any]:
        return model.async_client, model.async_client

    first_a, first_b = asyncio.run(clients())
    second_a, second_b = asyncio.run(clients())
    assert first_a is first_b and second_a is second_b  # shared within a loop
    assert first_a is not second_a  # connections never cross loops
    caller_owned = httpx.AsyncClient()
    given = ChatCompactifAI(api_key="k", base_url=BASE_URL, http_async_client=caller_owned)
    one = asyncio.run(_async_client_of(given))
    two = asyncio.run(_async_client_of(given))
    assert one is two and one.http_client is caller_owned


async def _async_client_of(model: ChatCompactifAI) -> Any:
    return model.async_client


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_non_positive_token_limits_are_rejected_at_construction(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ChatCompactifAI(**{field: 0})


def test_importing_the_package_leaves_httpx_for_the_first_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, langchain_compactifai\n"
        "assert 'httpx' not in sys.modules, 'httpx imported by the package import'\n"
        "model = langchain_compactifai.ChatCompactifAI(api_key='k')\n"
        "assert 'httpx' not in sys.modules, 'httpx imported by constructing a model'\n"
        "model.client\n"
        "assert 'httpx' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("http_client", httpx.AsyncClient(), "expected an httpx.Client, got AsyncClient"),
        ("http_async_client", httpx.Client(), "expected an httpx.AsyncClient, got Client"),
        ("timeout", "soon", "timeout"),
    ],
)
def test_connection_fields_accept_only_httpx_types(field: str, value: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=field) as info:
        ChatCompactifAI(api_key="k", **{field: value})
    assert expected in str(info.value)
    timeout = httpx.Timeout(3.0, connect=1.0)
    model = ChatCompactifAI(api_key="k", timeout=timeout, http_client=httpx.Client())
    assert model.client.http_client is model.http_client
    assert model.client.timeout == timeout
