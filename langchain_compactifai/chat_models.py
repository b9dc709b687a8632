"""``ChatCompactifAI``: CompactifAI chat models as a LangChain ``BaseChatModel``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import Field, field_validator

from compactifai.catalog import DEFAULT_CHAT_MODEL, input_kinds
from compactifai.chat import (
    chat_body,
    function_tool,
    json_schema_response_format,
    reasoning_settings,
    settings_body,
    tool_choice_param,
)
from compactifai.profiles import (
    capabilities_for,
    known_capabilities,
    load_capabilities,
    profile,
    tools_refused,
)
from compactifai.types import ReasoningEffort
from langchain_compactifai._batch_api import BatchAPIMixin, take_batch_result
from langchain_compactifai._connection import CompactifAIConnection, langsmith_params
from langchain_compactifai._errors import langchain_errors
from langchain_compactifai._host import ChatModelHost
from langchain_compactifai._messages import (
    StreamMapper,
    chat_result_from_completion,
    messages_to_api,
)
from langchain_compactifai._responses import ResponsesAPIMixin

__all__ = ["ChatCompactifAI"]

# Call-time kwargs that steer LangChain, not the request body.
_NOT_BODY = frozenset(
    {"stream", "stream_usage", "ls_structured_output_format", "structured_output_format"}
)


class ChatCompactifAI(CompactifAIConnection, BatchAPIMixin, ResponsesAPIMixin, BaseChatModel):
    """CompactifAI chat models (compressed "slim" LLMs) for LangChain.

    A drop-in for ``ChatOpenAI``: sync and async invoke/stream/batch, token usage, tool
    calling and structured output, over CompactifAI's OpenAI-compatible API.

    Setup:
        ``pip install "compactifai-integrations[langchain]"`` and
        ``export COMPACTIFAI_API_KEY="..."``.

    Key init args (completion params):
        model: model id, default ``hypernova-60b`` (a reasoning model).
        temperature, top_p, frequency_penalty: sampling.
        max_tokens / max_completion_tokens: output length limit.
        stop: stop sequences.
        n: completions per request (the API supports only 1).
        user: end-user id.
        streaming: stream even on ``invoke`` (callbacks get tokens).
        stream_usage: ask for token usage on streams (default on).
        reasoning_effort: ``none|low|medium|high|xhigh|max`` (a model implements some of them;
            hypernova-60b and gpt-oss-120b: low, medium, high).
        reasoning_enabled: switch reasoning on or off (hybrid-thinking models).
        model_kwargs: extra body fields.

    Key init args (client params):
        api_key: ``COMPACTIFAI_API_KEY`` by default. base_url: ``COMPACTIFAI_BASE_URL``
        or ``https://api.compactif.ai/v1``. timeout, max_retries, default_headers,
        http_client, http_async_client.

    Instantiate:
        .. code-block:: python

            from langchain_compactifai import ChatCompactifAI

            llm = ChatCompactifAI(model="hypernova-60b", temperature=0, max_tokens=256)

    Invoke:
        .. code-block:: python

            llm.invoke([("system", "Answer briefly."), ("human", "What is CompactifAI?")])

    Stream:
        .. code-block:: python

            for chunk in llm.stream("Tell me about tensor networks"):
                print(chunk.text, end="")

    Tool calling:
        .. code-block:: python

            from pydantic import BaseModel

            class GetWeather(BaseModel):
                '''Current weather in a city.'''
                city: str

            ai_msg = llm.bind_tools([GetWeather], tool_choice="any").invoke("Weather in Paris?")
            ai_msg.tool_calls  # [{"name": "GetWeather", "args": {"city": "Paris"}, ...}]

    Structured output:
        .. code-block:: python

            class Joke(BaseModel):
                setup: str
                punchline: str

            llm.with_structured_output(Joke).invoke("A joke about cats")  # Joke(...)
            # method="json_schema" (default) | "function_calling" | "json_mode"

    Reasoning:
        A reasoning model's trace is in ``ai_msg.additional_kwargs["reasoning_content"]``
        (so ``ai_msg.content_blocks`` starts with a ``reasoning`` block; in a stream, the
        reasoning chunks come before the answer's); ``ai_msg.text`` is the answer alone.
        It is never sent back to the server in later turns.

    Responses API:
        ``ChatCompactifAI(use_responses_api=True)`` sends calls to ``POST /responses``
        (hypernova-60b, gpt-oss-120b, glm-5-1) with the same results: text, reasoning,
        tool calls, structured output, usage. ``use_previous_response_id=True`` sends only
        the turn after the latest answer, with ``previous_response_id``. By default
        (``None``) only calls that need it go there (see ``use_responses_api``).

    Batch API (one job for a whole ``batch``; results in hours rather than seconds):
        ``ChatCompactifAI(use_batch_api=True).batch(inputs)``; or ``batch_api_submit(inputs)``
        -> id, later ``batch_api_retrieve(id)`` (also ``batch_api_status``/``batch_api_cancel``
        and async twins).

    Token usage:
        ``ai_msg.usage_metadata`` -> ``{"input_tokens": ..., "output_tokens": ..., "total_tokens": ...}``
        (on invoke, and on exactly one chunk of a stream), with
        ``output_token_details["reasoning"]`` when the server counts reasoning tokens.

    Profile:
        ``llm.profile`` says what the model can do (tool calling, structured output, image
        and audio input, reasoning, token limits), from the bundled model table or, with
        ``profile_from_api=True``, from your account's live catalog. ``bind_tools`` on a model
        whose profile says it has no tools raises ``ToolCallingNotSupportedError`` naming the
        models that do.
    """

    model_name: str = Field(default=DEFAULT_CHAT_MODEL, alias="model")
    """Model id, e.g. ``hypernova-60b``; ``compactifai.catalog.DEFAULT_CHAT_MODEL`` by default."""
    temperature: float | None = None
    """Sampling temperature, 0 to 2."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Maximum number of tokens to generate (sent as ``max_completion_tokens``)."""
    max_completion_tokens: int | None = Field(default=None, ge=1)
    """Maximum number of tokens to generate; wins over ``max_tokens``."""
    top_p: float | None = None
    """Nucleus sampling, in (0, 1]."""
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""
    frequency_penalty: float | None = None
    """Penalty for tokens already frequent in the text so far."""
    n: int | None = None
    """Completions per request; the API supports only 1."""
    streaming: bool = False
    """Stream responses even on ``invoke`` (so callbacks see tokens)."""
    stream_usage: bool = True
    """Request token usage on streams (``stream_options.include_usage``). Off, a stream's
    chunks carry no ``usage_metadata``, on the Responses API too (which always sends it)."""
    user: str | None = None
    """End-user id, forwarded to the API."""
    reasoning_effort: ReasoningEffort | None = None
    """How hard a reasoning model thinks: ``none|low|medium|high|xhigh|max``. A model that
    does not implement the level refuses the request (``BadRequestError`` naming its levels)."""
    reasoning_enabled: bool | None = None
    """Switch reasoning on or off, on models that support reasoning control."""
    profile_from_api: bool = False
    """Fill ``profile`` from the live catalog (``GET /models``) rather than the bundled table.

    The catalog is read when the model is constructed (``profile`` is set then), once per
    process, base URL and API key; a failure falls back to the bundled table with one
    warning. A ``profile=`` passed in wins, as always. Constructing inside a running event
    loop, ``await compactifai.profiles.aload_profiles(client)`` first fills the same cache
    without blocking the loop."""

    @field_validator("n")
    @classmethod
    def _only_one_choice(cls, value: int | None) -> int | None:
        if value is not None and value != 1:
            raise ValueError("CompactifAI returns one completion per request: n must be 1")
        return value

    @property
    def _llm_type(self) -> str:
        return "compactifai-chat"

    def _resolve_model_profile(self) -> ModelProfile | None:
        """Capabilities from the bundled table, or the live catalog with ``profile_from_api``.

        A capability no source states is left out: the server decides.
        """
        catalog = load_capabilities(self.client) if self.profile_from_api else None
        return cast("ModelProfile", profile(capabilities_for(self.model_name, catalog)))

    def _settings(self) -> tuple[tuple[str, Any], ...]:
        return (
            ("temperature", self.temperature),
            ("max_completion_tokens", self.max_completion_tokens),
            ("max_tokens", self.max_tokens),
            ("top_p", self.top_p),
            ("stop", self.stop),
            ("frequency_penalty", self.frequency_penalty),
            ("n", self.n),
            ("user", self.user),
            *reasoning_settings(self.reasoning_effort, self.reasoning_enabled),
        )

    @property
    def _default_params(self) -> dict[str, Any]:
        """Body fields set on this object (None and empty values left out)."""
        return settings_body(self.model_name, self._settings(), self.model_kwargs)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return langsmith_params(
            "chat",
            kwargs.get("model", self.model_name),
            kwargs.get("temperature", self.temperature),
            kwargs.get("max_completion_tokens")
            or kwargs.get("max_tokens")
            or self.max_completion_tokens
            or self.max_tokens,
            stop or kwargs.get("stop") or self.stop,
        )

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Approximate token count of a conversation (for ``trim_messages`` and the like).

        The API publishes no tokenizer; exact counts come back as ``usage_metadata``.
        """
        return count_tokens_approximately(messages, tools=list(tools) if tools else None)

    # ------------------------------------------------------------------ request building

    def _request_params(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool = False,
    ) -> dict[str, Any]:
        """The API body for a call: this object's settings, then per-call overrides."""
        overrides = {k: v for k, v in kwargs.items() if k not in _NOT_BODY}
        if stop:
            overrides["stop"] = stop
        model = overrides.get("model", self.model_name)
        return chat_body(
            self.model_name,
            messages_to_api(messages, **input_kinds(model)),
            self._settings(),
            self.model_kwargs,
            overrides,
            stream=stream,
            stream_usage=kwargs.get("stream_usage", self.stream_usage),
        )

    # ------------------------------------------------------------------ calls

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._uses_responses_api(kwargs):
            return self._generate_with_responses(messages, stop, kwargs)
        params = self._request_params(messages, stop, kwargs)
        if (from_batch_api := take_batch_result(params)) is not None:
            return from_batch_api
        with langchain_errors():
            completion = self.client.create_chat_completion(**params)
        return chat_result_from_completion(completion)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._uses_responses_api(kwargs):
            return await self._agenerate_with_responses(messages, stop, kwargs)
        params = self._request_params(messages, stop, kwargs)
        if (from_batch_api := take_batch_result(params)) is not None:
            return from_batch_api
        with langchain_errors():
            completion = await self.async_client.create_chat_completion(**params)
        return chat_result_from_completion(completion)

    # Core (langchain-core >= 1.x) fires on_llm_new_token for every chunk these yield.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if self._uses_responses_api(kwargs):
            yield from self._stream_with_responses(messages, stop, kwargs)
            return
        params = self._request_params(messages, stop, kwargs, stream=True)
        mapper = StreamMapper()
        with langchain_errors():
            for api_chunk in self.client.stream_chat_completion(**params):
                chunk = mapper.map(api_chunk)
                if chunk is not None:
                    yield chunk
        yield mapper.final()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self._uses_responses_api(kwargs):
            async for from_responses in self._astream_with_responses(messages, stop, kwargs):
                yield from_responses
            return
        params = self._request_params(messages, stop, kwargs, stream=True)
        mapper = StreamMapper()
        with langchain_errors():
            async for api_chunk in self.async_client.stream_chat_completion(**params):
                chunk = mapper.map(api_chunk)
                if chunk is not None:
                    yield chunk
        yield mapper.final()

    # ------------------------------------------------------------------ tools, structured output

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (pydantic models, functions, JSON schema dicts or LangChain tools).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (call some
        tool), a tool name, or an OpenAI-style ``{"type": "function", ...}`` dict.
        ``strict`` asks the server to follow the parameter schemas exactly.
        """
        formatted = [_api_tool(tool, strict) for tool in tools]
        if formatted and (self.profile or {}).get("tool_calling") is False:
            catalog = known_capabilities(self.client if self.profile_from_api else None)
            raise tools_refused(
                self.model_name,
                catalog,
                source=capabilities_for(self.model_name, catalog).source,
                override="profile={..., 'tool_calling': True}",
            )
        if tool_choice is not None and tool_choice is not False:
            names = [tool["function"]["name"] for tool in formatted]
            kwargs["tool_choice"] = tool_choice_param(tool_choice, names)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """A runnable whose output follows ``schema`` (pydantic class, TypedDict or JSON schema).

        ``method``: ``"json_schema"`` (the server constrains output to the schema; default),
        ``"function_calling"`` (the schema is bound as a forced tool) or ``"json_mode"``
        (any JSON object; say in the prompt what keys you want). Pydantic schemas give
        instances, others dicts. ``include_raw=True`` gives
        ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}`` and never raises on a
        parsing failure.
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        parser: OutputParserLike[Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [tool], tool_choice=name, strict=strict, ls_structured_output_format=ls_format
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema":
                function = convert_to_openai_tool(schema, strict=strict)["function"]
                response_format = json_schema_response_format(
                    function["name"],
                    function.get("parameters") or {},
                    description=function.get("description"),
                    strict=strict,
                )
            else:
                response_format = {"type": "json_object"}
            llm = self.bind(response_format=response_format, ls_structured_output_format=ls_format)
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"Unknown method {method!r}: use 'json_schema', 'function_calling' or 'json_mode'"
            )
        if not include_raw:
            return llm | parser
        parser_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
        parser_with_fallback = parser_assign.with_fallbacks(
            [parser_none], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parser_with_fallback


def _api_tool(
    tool: dict[str, Any] | type | Callable[..., Any] | BaseTool, strict: bool | None
) -> dict[str, Any]:
    function = convert_to_openai_tool(tool, strict=strict)["function"]
    return function_tool(
        function["name"],
        function.get("description"),
        function.get("parameters"),
        function.get("strict"),
    )


if TYPE_CHECKING:  # mypy proves the model is the host its mixins expect
    _MIXIN_HOST: type[ChatModelHost] = ChatCompactifAI
