"""``CompactifAI``: the completions endpoint as a LangChain ``BaseLLM``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import Field

from compactifai.catalog import DEFAULT_CHAT_MODEL
from compactifai.chat import completion_body, usage_dict
from compactifai.types import Completion
from langchain_compactifai._connection import (
    CompactifAIConnection,
    langsmith_params,
)
from langchain_compactifai._errors import langchain_errors

__all__ = ["CompactifAI"]


class CompactifAI(CompactifAIConnection, BaseLLM):
    """CompactifAI text completion models (``POST /completions``) for LangChain.

    Setup:
        ``pip install "compactifai-integrations[langchain]"`` and
        ``export COMPACTIFAI_API_KEY="..."``.

    Key init args:
        model: model id, default ``hypernova-60b`` (``compactifai.catalog.DEFAULT_CHAT_MODEL``,
        the flagship served today; which models serve ``/completions`` is not published per
        model, so the chat default is the best guess). max_tokens, temperature, top_p,
        stop, user; api_key, base_url, timeout, max_retries, default_headers, http_client,
        http_async_client, model_kwargs (as for ``ChatCompactifAI``).

    Instantiate and invoke:
        .. code-block:: python

            from langchain_compactifai import CompactifAI

            llm = CompactifAI(max_tokens=64)
            llm.invoke("Compressed language models are")
            llm.batch(["Tensor networks", "Quantum-inspired"])  # one request for both

    Stream:
        The endpoint does not stream: ``llm.stream(...)`` yields the whole text as one chunk
        (``on_llm_new_token`` fires once).

    Token usage:
        ``llm.generate([...]).llm_output["token_usage"]`` ->
        ``{"prompt_tokens": ..., "completion_tokens": ..., "total_tokens": ...}``.
    """

    model_name: str = Field(default=DEFAULT_CHAT_MODEL, alias="model")
    """Model id."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Maximum number of tokens to generate per prompt (the API's default is 16)."""
    temperature: float | None = None
    """Sampling temperature, 0 to 2."""
    top_p: float | None = None
    """Nucleus sampling, in (0, 1]."""
    stop: list[str] | str | None = None
    """Stop sequences."""
    user: str | None = None
    """End-user id, forwarded to the API."""
    streaming: bool = False
    """Generate through ``_stream`` so callbacks receive the text as a token."""

    @property
    def _llm_type(self) -> str:
        return "compactifai"

    @property
    def _default_params(self) -> dict[str, Any]:
        return completion_body(self.model_name, None, self._settings(), self.model_kwargs)

    def _settings(self) -> tuple[tuple[str, Any], ...]:
        return (
            ("max_tokens", self.max_tokens),
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("stop", self.stop),
            ("user", self.user),
        )

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return langsmith_params(
            "llm",
            kwargs.get("model", self.model_name),
            kwargs.get("temperature", self.temperature),
            kwargs.get("max_tokens", self.max_tokens),
            stop or kwargs.get("stop") or self.stop,
        )

    def _request_params(
        self, prompts: list[str], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        overrides = {k: v for k, v in kwargs.items() if k != "stream"}
        if stop:
            overrides["stop"] = stop
        return completion_body(
            self.model_name,
            prompts[0] if len(prompts) == 1 else prompts,
            self._settings(),
            self.model_kwargs,
            overrides,
        )

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming and len(prompts) == 1:
            chunk = next(self._stream(prompts[0], stop, run_manager, **kwargs))
            return LLMResult(generations=[[chunk]], llm_output=chunk.generation_info)
        params = self._request_params(prompts, stop, kwargs)
        with langchain_errors():
            completion = self.client.create_completion(**params)
        return _llm_result(completion, len(prompts))

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming and len(prompts) == 1:
            async for chunk in self._astream(prompts[0], stop, run_manager, **kwargs):
                return LLMResult(generations=[[chunk]], llm_output=chunk.generation_info)
        params = self._request_params(prompts, stop, kwargs)
        with langchain_errors():
            completion = await self.async_client.create_completion(**params)
        return _llm_result(completion, len(prompts))

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        params = self._request_params([prompt], stop, kwargs)
        with langchain_errors():
            completion = self.client.create_completion(**params)
        chunk = _single_chunk(completion)
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        params = self._request_params([prompt], stop, kwargs)
        with langchain_errors():
            completion = await self.async_client.create_completion(**params)
        chunk = _single_chunk(completion)
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk


def _llm_output(completion: Completion) -> dict[str, Any]:
    return {
        "token_usage": usage_dict(completion.usage),
        "model_name": completion.model,
        "id": completion.id or None,
        "request_id": completion.request_id,
    }


def _llm_result(completion: Completion, n_prompts: int) -> LLMResult:
    """One generation list per prompt, in prompt order (choices carry the prompt index)."""
    generations: list[list[Generation]] = [[] for _ in range(n_prompts)]
    for choice in sorted(completion.choices, key=lambda c: c.index):
        if choice.index < n_prompts:
            generations[choice.index].append(
                Generation(
                    text=choice.text, generation_info={"finish_reason": choice.finish_reason}
                )
            )
    return LLMResult(generations=generations, llm_output=_llm_output(completion))


def _single_chunk(completion: Completion) -> GenerationChunk:
    choice = completion.choices[0]
    return GenerationChunk(
        text=choice.text,
        generation_info={"finish_reason": choice.finish_reason, **_llm_output(completion)},
    )
