"""What the benchmark measures: our integrations, the alternatives users pick, raw httpx.

Each subject builds its objects lazily, so a worker process imports only the packages of the
subject it measures. ``call`` makes one non-streaming call, ``stream`` consumes one streamed
chat completion and returns the number of chunks it yielded, ``acall`` is the async call (the
object is built inside the running loop by ``amake``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BASELINE_IMPORTS", "SUBJECTS", "Subject", "Target"]

MODEL = "cai-mistral-small-3-1-slim"  # a model of today's catalog without reasoning
PROMPT = "Hi"
CALL_MAX_TOKENS = 16


@dataclass(frozen=True)
class Target:
    """Where one measured integration is built and how it is used."""

    base_url: str
    api_key: str
    stream_chunks: int


@dataclass(frozen=True)
class Subject:
    name: str
    group: str  # "ours", "alternative", "httpx" or "aiohttp" (the floors)
    kind: str  # "chat", "completion" or "raw"
    module: str  # imported for the cold-import figure
    counterpart: str | None  # for ours: the alternative it replaces
    make_sync: Callable[[Target], Callable[[], Any]] | None
    make_stream: Callable[[Target], Callable[[], int]] | None
    make_async: Callable[[Target], Callable[[], Awaitable[Any]]]


# Modules that the integrations' import overhead is measured against.
BASELINE_IMPORTS = {
    "langchain_core chat models": "langchain_core.language_models.chat_models",
    "llama_index.core.llms": "llama_index.core.llms",
}


# ---------------------------------------------------------------------------- ours


def _lc_chat(target: Target, stream: bool = False) -> Any:
    from langchain_compactifai import ChatCompactifAI

    if stream:
        return ChatCompactifAI(
            model=MODEL,
            api_key=target.api_key,
            base_url=target.base_url,
            max_tokens=target.stream_chunks,
            model_kwargs={"ignore_eos": True},
        )
    return ChatCompactifAI(
        model=MODEL, api_key=target.api_key, base_url=target.base_url, max_tokens=CALL_MAX_TOKENS
    )


def _lc_chat_sync(target: Target) -> Callable[[], Any]:
    llm = _lc_chat(target)
    return lambda: llm.invoke(PROMPT)


def _lc_chat_stream(target: Target) -> Callable[[], int]:
    llm = _lc_chat(target, stream=True)
    return lambda: sum(1 for _ in llm.stream(PROMPT))


def _lc_chat_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm = _lc_chat(target)
    return lambda: llm.ainvoke(PROMPT)


def _lc_llm(target: Target) -> Any:
    from langchain_compactifai import CompactifAI

    return CompactifAI(
        model=MODEL, api_key=target.api_key, base_url=target.base_url, max_tokens=CALL_MAX_TOKENS
    )


def _lc_llm_sync(target: Target) -> Callable[[], Any]:
    llm = _lc_llm(target)
    return lambda: llm.invoke(PROMPT)


def _lc_llm_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm = _lc_llm(target)
    return lambda: llm.ainvoke(PROMPT)


def _li(target: Target, stream: bool = False) -> Any:
    from llama_index_compactifai import CompactifAI

    if stream:
        return CompactifAI(
            model=MODEL,
            api_key=target.api_key,
            base_url=target.base_url,
            max_tokens=target.stream_chunks,
            additional_kwargs={"ignore_eos": True},
        )
    return CompactifAI(
        model=MODEL, api_key=target.api_key, base_url=target.base_url, max_tokens=CALL_MAX_TOKENS
    )


def _li_messages() -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=PROMPT)]


def _li_sync(target: Target) -> Callable[[], Any]:
    llm, messages = _li(target), _li_messages()
    return lambda: llm.chat(messages)


def _li_stream(target: Target) -> Callable[[], int]:
    llm, messages = _li(target, stream=True), _li_messages()
    return lambda: sum(1 for _ in llm.stream_chat(messages))


def _li_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm, messages = _li(target), _li_messages()
    return lambda: llm.achat(messages)


# ---------------------------------------------------------------------------- alternatives


def _chat_openai(target: Target, stream: bool = False) -> Any:
    from langchain_openai import ChatOpenAI

    if stream:
        return ChatOpenAI(
            model=MODEL,
            api_key=target.api_key,  # type: ignore[arg-type]
            base_url=target.base_url,
            max_tokens=target.stream_chunks,  # type: ignore[call-arg]
            extra_body={"ignore_eos": True},
            stream_usage=True,
        )
    return ChatOpenAI(
        model=MODEL,
        api_key=target.api_key,  # type: ignore[arg-type]
        base_url=target.base_url,
        max_tokens=CALL_MAX_TOKENS,  # type: ignore[call-arg]
    )


def _chat_openai_sync(target: Target) -> Callable[[], Any]:
    llm = _chat_openai(target)
    return lambda: llm.invoke(PROMPT)


def _chat_openai_stream(target: Target) -> Callable[[], int]:
    llm = _chat_openai(target, stream=True)
    return lambda: sum(1 for _ in llm.stream(PROMPT))


def _chat_openai_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm = _chat_openai(target)
    return lambda: llm.ainvoke(PROMPT)


def _openai_llm(target: Target) -> Any:
    from langchain_openai import OpenAI

    return OpenAI(
        model=MODEL,
        api_key=target.api_key,  # type: ignore[arg-type]
        base_url=target.base_url,
        max_tokens=CALL_MAX_TOKENS,
    )


def _openai_llm_sync(target: Target) -> Callable[[], Any]:
    llm = _openai_llm(target)
    return lambda: llm.invoke(PROMPT)


def _openai_llm_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm = _openai_llm(target)
    return lambda: llm.ainvoke(PROMPT)


def _openai_like(target: Target, stream: bool = False) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=MODEL,
        api_key=target.api_key,
        api_base=target.base_url,
        is_chat_model=True,
        context_window=128_000,
        max_tokens=target.stream_chunks if stream else CALL_MAX_TOKENS,
        additional_kwargs={"extra_body": {"ignore_eos": True}} if stream else {},
    )


def _openai_like_sync(target: Target) -> Callable[[], Any]:
    llm, messages = _openai_like(target), _li_messages()
    return lambda: llm.chat(messages)


def _openai_like_stream(target: Target) -> Callable[[], int]:
    llm, messages = _openai_like(target, stream=True), _li_messages()
    return lambda: sum(1 for _ in llm.stream_chat(messages))


def _openai_like_async(target: Target) -> Callable[[], Awaitable[Any]]:
    llm, messages = _openai_like(target), _li_messages()
    return lambda: llm.achat(messages)


# ---------------------------------------------------------------------------- raw httpx (the floor)


def _raw_request(target: Target, stream: bool) -> tuple[str, dict[str, str], bytes]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": target.stream_chunks if stream else CALL_MAX_TOKENS,
    }
    if stream:
        body.update(stream=True, ignore_eos=True)
    headers = {"authorization": f"Bearer {target.api_key}", "content-type": "application/json"}
    return target.base_url + "/chat/completions", headers, json.dumps(body).encode()


def _httpx_sync(target: Target) -> Callable[[], Any]:
    import httpx

    client = httpx.Client()
    url, headers, body = _raw_request(target, stream=False)

    def call() -> Any:
        response = client.post(url, content=body, headers=headers)
        response.raise_for_status()
        return json.loads(response.content)["choices"][0]["message"]["content"]

    return call


def _httpx_stream(target: Target) -> Callable[[], int]:
    import httpx

    client = httpx.Client()
    url, headers, body = _raw_request(target, stream=True)

    def stream() -> int:
        count = 0
        with client.stream("POST", url, content=body, headers=headers) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    count += 1
        return count

    return stream


def _httpx_async(target: Target) -> Callable[[], Awaitable[Any]]:
    import httpx

    client = httpx.AsyncClient()
    url, headers, body = _raw_request(target, stream=False)

    async def call() -> Any:
        response = await client.post(url, content=body, headers=headers)
        response.raise_for_status()
        return json.loads(response.content)["choices"][0]["message"]["content"]

    return call


class _AiohttpCall:
    """One raw aiohttp call per ``await call()``; ``aclose()`` closes the session."""

    def __init__(self, target: Target) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        self._url, self._headers, self._body = _raw_request(target, stream=False)

    async def __call__(self) -> Any:
        async with self._session.post(self._url, data=self._body, headers=self._headers) as r:
            r.raise_for_status()
            return json.loads(await r.read())["choices"][0]["message"]["content"]

    async def aclose(self) -> None:
        await self._session.close()


def _aiohttp_async(target: Target) -> Callable[[], Awaitable[Any]]:
    return _AiohttpCall(target)


SUBJECTS: dict[str, Subject] = {
    subject.name: subject
    for subject in (
        Subject(
            "ChatCompactifAI",
            "ours",
            "chat",
            "langchain_compactifai",
            "ChatOpenAI",
            _lc_chat_sync,
            _lc_chat_stream,
            _lc_chat_async,
        ),
        Subject(
            "CompactifAI (LangChain)",
            "ours",
            "completion",
            "langchain_compactifai",
            "OpenAI (langchain-openai)",
            _lc_llm_sync,
            None,  # the completions endpoint does not stream
            _lc_llm_async,
        ),
        Subject(
            "CompactifAI (LlamaIndex)",
            "ours",
            "chat",
            "llama_index_compactifai",
            "OpenAILike",
            _li_sync,
            _li_stream,
            _li_async,
        ),
        Subject(
            "ChatOpenAI",
            "alternative",
            "chat",
            "langchain_openai",
            None,
            _chat_openai_sync,
            _chat_openai_stream,
            _chat_openai_async,
        ),
        Subject(
            "OpenAI (langchain-openai)",
            "alternative",
            "completion",
            "langchain_openai",
            None,
            _openai_llm_sync,
            None,
            _openai_llm_async,
        ),
        Subject(
            "OpenAILike",
            "alternative",
            "chat",
            "llama_index.llms.openai_like",
            None,
            _openai_like_sync,
            _openai_like_stream,
            _openai_like_async,
        ),
        Subject(
            "httpx (raw)",
            "httpx",
            "raw",
            "httpx",
            None,
            _httpx_sync,
            _httpx_stream,
            _httpx_async,
        ),
        Subject(
            "aiohttp (raw, async only)",
            "aiohttp",
            "raw",
            "aiohttp",
            None,
            None,
            None,
            _aiohttp_async,
        ),
    )
}
