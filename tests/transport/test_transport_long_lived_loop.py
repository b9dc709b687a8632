"""Models used the way a web server uses them: one event loop, a new model object per request.

Issue 18: against a uvicorn (httptools) server that sends every server-sent event as its own
``http.response.body`` message and ends the chunked body a little after ``data: [DONE]`` (as
proxies do), an async stream of a second model failed with a raw ``RuntimeError: Connection
closed.``, because the first model's per-loop pool closer, a pending task nothing held, was
garbage-collected and closed the pool a stream was still reading; and every async stream
opened a new connection. All tests of this module share one event loop (and one server);
connections are counted on the server side (distinct client ports).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

uvicorn = pytest.importorskip("uvicorn")

WORDS = [f"word{i}" for i in range(60)]
MODEL = "hypernova-60b"
TERMINATOR_DELAY = 0.05


class EventPerMessageServer:
    """A tiny OpenAI-shaped ASGI app on uvicorn (httptools) in a thread of its own."""

    def __init__(self) -> None:
        self.client_ports: set[int] = set()
        self.requests = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        config = uvicorn.Config(
            self.app,
            http="httptools",
            interface="asgi3",
            loop="asyncio",
            lifespan="off",
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> EventPerMessageServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.client_ports.add(scope["client"][1])
        self.requests += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        text = " ".join(WORDS[: len(str(request).split())][:60]) or "ok"
        headers = [(b"x-request-id", b"req-%d" % self.requests)]
        if not request.get("stream"):
            answer = json.dumps(_completion(request, text)).encode()
            headers.append((b"content-type", b"application/json"))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        headers.append((b"content-type", b"text/event-stream"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for word in text.split():
            event = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": MODEL,
                "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
            }
            data = f"data: {json.dumps(event)}\n\n".encode()
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": True})
        await asyncio.sleep(TERMINATOR_DELAY)
        await send({"type": "http.response.body", "body": b""})


def _completion(request: dict[str, Any], text: str) -> dict[str, Any]:
    usage = {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    if "messages" in request:
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {"id": "c", "object": "chat.completion", "created": 1, "model": MODEL,
                "choices": [choice], "usage": usage}  # fmt: skip
    choice = {"index": 0, "text": text, "finish_reason": "stop"}
    return {"id": "c", "object": "text_completion", "created": 1, "model": MODEL,
            "choices": [choice], "usage": usage}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[EventPerMessageServer]:
    with EventPerMessageServer() as running:
        yield running


@pytest.fixture
def connections(server: EventPerMessageServer) -> set[int]:
    """The connections the test opens (server-side), from a clean start."""
    server.client_ports.clear()
    return server.client_ports


LONG_MESSAGE = " ".join(f"w{i}" for i in range(60))


def _llama(server: EventPerMessageServer) -> Any:
    from llama_index_compactifai import CompactifAI

    return CompactifAI(model=MODEL, api_key="k", base_url=server.url, max_retries=0)


def _langchain(server: EventPerMessageServer) -> Any:
    from langchain_compactifai import ChatCompactifAI

    return ChatCompactifAI(model=MODEL, api_key="k", base_url=server.url, max_retries=0)


async def test_llama_index_astream_complete(server: EventPerMessageServer) -> None:
    text = ""
    async for item in await _llama(server).astream_complete("alpha beta gamma"):
        text += item.delta or ""
    assert text.strip()
    gc.collect()


async def test_llama_index_astream_chat_of_another_model(server: EventPerMessageServer) -> None:
    from llama_index.core.llms import ChatMessage

    text = ""
    messages = [ChatMessage(role="user", content=LONG_MESSAGE)]
    async for item in await _llama(server).astream_chat(messages):
        if not text:
            gc.collect()  # the model object is gone: its pool must outlive the stream
        text += item.delta or ""
    assert len(text.split()) >= 20


async def test_many_models_of_both_integrations_streamed_and_dropped(
    server: EventPerMessageServer, connections: set[int]
) -> None:
    from llama_index.core.llms import ChatMessage

    errors: list[BaseException] = []
    messages = [ChatMessage(role="user", content=LONG_MESSAGE)]
    for round_ in range(6):
        try:
            async for _ in await _llama(server).astream_chat(messages):
                pass
            gc.collect()
            async for _ in await _llama(server).astream_complete("alpha beta gamma"):
                pass
            gc.collect()
            async for _ in _langchain(server).astream(LONG_MESSAGE):
                pass
            gc.collect()
            llm = _llama(server)
            assert (await llm.achat(messages)).message.content
            del llm
            gc.collect()
        except Exception as exc:  # every error counts, typed or not
            errors.append(exc)
        await asyncio.sleep(0)
        assert not errors, f"round {round_}: {errors!r}"
    # Each model object has a pool of its own; what matters is that none is closed under a
    # stream and that none opens a connection per stream.
    assert len(connections) <= 6 * 4


async def test_one_model_reuses_one_connection_for_every_stream(
    server: EventPerMessageServer, connections: set[int]
) -> None:
    from llama_index.core.llms import ChatMessage

    llm = _llama(server)
    chat = _langchain(server)
    messages = [ChatMessage(role="user", content=LONG_MESSAGE)]
    for _ in range(10):
        async for _ in await llm.astream_chat(messages):
            pass
        async for _ in chat.astream("hello there"):
            pass
        gc.collect()
    assert len(connections) <= 2  # one per model, not one per stream
    connections.clear()
    for _ in range(5):  # the sync path alike (from a thread: the loop keeps running)
        await asyncio.to_thread(lambda: list(llm.stream_chat(messages)))
        await asyncio.to_thread(lambda: list(chat.stream("hello there")))
    assert len(connections) <= 2
    await llm.aclose()
    await chat.aclose()


async def test_sync_streams_of_dropped_models_in_a_running_loop(
    server: EventPerMessageServer, connections: set[int]
) -> None:
    def run() -> list[str]:
        from llama_index.core.llms import ChatMessage

        texts = []
        messages = [ChatMessage(role="user", content=LONG_MESSAGE)]
        for _ in range(5):
            for index, item in enumerate(_llama(server).stream_chat(messages)):
                if index == 1:
                    gc.collect()  # the model is gone mid-stream
                texts.append(item.delta or "")
            for item in _llama(server).stream_complete("alpha beta gamma"):
                texts.append(item.delta or "")
            texts += [str(c.content) for c in _langchain(server).stream(LONG_MESSAGE)]
        return texts

    assert "".join(await asyncio.to_thread(run)).strip()
