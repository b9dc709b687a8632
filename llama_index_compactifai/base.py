"""``CompactifAI``: CompactifAI's chat models as a LlamaIndex function-calling LLM."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, cast

from llama_index.core.base.llms.generic_utils import chat_response_to_completion_response
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, model_validator
from llama_index.core.constants import DEFAULT_NUM_OUTPUTS, DEFAULT_TEMPERATURE
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.types import Model, PydanticProgramMode
from llama_index_instrumentation import get_dispatcher

from compactifai._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from compactifai._holder import ClientHolder
from compactifai._httpx_fields import HttpxAsyncClient, HttpxClient, HttpxTimeout
from compactifai.catalog import DEFAULT_CHAT_MODEL, DEFAULT_CONTEXT_WINDOW, input_kinds
from compactifai.chat import (
    StreamAccumulator,
    chat_body,
    completion_body,
    function_tool,
    json_schema_response_format,
    reasoning_settings,
    tool_choice_param,
)
from compactifai.profiles import (
    Capabilities,
    capabilities_for,
    known_capabilities,
    load_capabilities,
    tools_refused,
)
from compactifai.types import ReasoningEffort
from llama_index_compactifai._batch_api import BatchChatMixin
from llama_index_compactifai._connection import ConnectionFields
from llama_index_compactifai._host import LLMHost
from llama_index_compactifai._messages import (
    chat_response_from_completion,
    chat_stream_item,
    completion_response_from_completion,
    completion_stream_item,
    messages_to_api,
    tool_selections,
)
from llama_index_compactifai._responses import ResponsesChatMixin, ResponsesStream

if TYPE_CHECKING:
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.prompts import PromptTemplate
    from llama_index.core.tools.types import BaseTool

    from compactifai._lazy_clients import LazyClients

__all__ = ["CompactifAI"]

dispatcher = get_dispatcher(__name__)


class CompactifAI(
    ClientHolder, BatchChatMixin, ResponsesChatMixin, ConnectionFields, FunctionCallingLLM
):
    """CompactifAI's compressed ("slim") chat models for LlamaIndex.

    Every method (``complete``, ``chat``, their streaming and async twins, and the
    function-calling ones agents use) talks to the CompactifAI API through one reusable
    connection pool per object. Responses carry the server's token usage in ``raw`` so that
    ``TokenCountingHandler`` reports real counts, streamed calls included.

    Example:
        .. code-block:: python

            from llama_index.core import Settings
            from llama_index.core.llms import ChatMessage
            from llama_index_compactifai import CompactifAI

            Settings.llm = CompactifAI(model="hypernova-60b", temperature=0)
            print(Settings.llm.complete("What is tensor-network compression?"))
            for item in Settings.llm.stream_chat([ChatMessage(role="user", content="Hi")]):
                print(item.delta, end="")

    ``batch_chat(conversations)`` sends many conversations as one Batch API job.

    ``api_key`` defaults to ``COMPACTIFAI_API_KEY`` and ``base_url`` to ``COMPACTIFAI_BASE_URL``
    (else ``https://api.compactif.ai/v1``). The key is a secret: never serialized (``to_dict``,
    ``model_dump``) nor shown in ``repr``. Replacing a connection field (key, base URL,
    timeout...) closes the connection pool it drops; the next call opens a new one.

    Reasoning models (the default, ``hypernova-60b``): the trace is a ``ThinkingBlock`` before
    the answer in ``response.message.blocks``, streamed items carry its new text in
    ``additional_kwargs["thinking_delta"]``, and ``raw["usage"]["reasoning_tokens"]`` counts it.
    ``response.message.content`` is the answer alone; the trace is never sent back.

    ``use_responses_api=True`` sends every call to the Responses API (``POST /responses``;
    hypernova-60b, gpt-oss-120b, glm-5-1) with the same results, tools and agents included.
    With ``track_previous_responses=True`` too, the service keeps the conversation: a call
    sends only the messages after the latest answer (its id is in the answer's
    ``message.additional_kwargs["response_id"]``) with ``previous_response_id``; a call whose
    messages hold no answer (``complete``) continues the LLM's latest one.
    """

    model: str = Field(default=DEFAULT_CHAT_MODEL, description="The CompactifAI model id.")
    temperature: float | None = Field(
        default=DEFAULT_TEMPERATURE, ge=0.0, le=2.0, description="Sampling temperature."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="Maximum number of tokens to generate."
    )
    reasoning_effort: ReasoningEffort | None = Field(
        default=None,
        description="How hard a reasoning model thinks: none|low|medium|high|xhigh|max "
        "(a model refuses a level it does not implement, naming the ones it does).",
    )
    reasoning_enabled: bool | None = Field(
        default=None, description="Switch reasoning on or off (models with reasoning control)."
    )
    timeout: float | HttpxTimeout | None = Field(
        default=DEFAULT_TIMEOUT,
        description="Request timeout in seconds (or an httpx.Timeout); None waits forever.",
    )
    max_retries: int = Field(
        default=DEFAULT_MAX_RETRIES,
        ge=0,
        description="Retries of connection failures, 429 and 5xx answers.",
    )
    context_window: int | None = Field(
        default=None,
        gt=0,
        description="Context window in tokens; by default what is known of the model, "
        f"else {DEFAULT_CONTEXT_WINDOW} (CompactifAI publishes no context windows).",
    )
    is_function_calling_model: bool | None = Field(
        default=None,
        description="Whether the model calls tools; by default true only where the model "
        "catalog says it does.",
    )
    profile_from_api: bool = Field(
        default=False,
        description="Describe the model (metadata) from the live catalog (GET /models, read "
        "at construction, once per process, base URL and key) rather than the bundled table.",
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Headers sent with every request."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra body fields sent with every chat request."
    )
    use_responses_api: bool = Field(
        default=False,
        description="Send chat (and completion) calls to the Responses API (POST /responses) "
        "instead of chat completions; served by hypernova-60b, gpt-oss-120b and glm-5-1.",
    )
    track_previous_responses: bool = Field(
        default=False,
        description="Let the service keep the conversation (Responses API only): each call "
        "is stored (store: true) and continues the latest answer, sending only the messages "
        "after it, with previous_response_id. As llama-index-llms-openai's OpenAIResponses.",
    )
    previous_response_id: str | None = Field(
        default=None,
        description="The response the next call continues when its messages hold no answer "
        "(complete(), a first turn): with track_previous_responses, the latest answer's id; "
        "set it to resume a conversation, None to start afresh.",
    )
    http_client: HttpxClient | None = Field(
        default=None, exclude=True, description="An httpx.Client to send sync requests with."
    )
    async_http_client: HttpxAsyncClient | None = Field(
        default=None, exclude=True, description="An httpx.AsyncClient to send async requests with."
    )

    _lazy_clients: LazyClients | None = PrivateAttr(default=None)
    # The live catalog read for profile_from_api; None: the bundled table.
    _catalog: dict[str, Capabilities] | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "CompactifAI"

    @model_validator(mode="after")
    def _tracking_needs_the_responses_api(self) -> CompactifAI:
        if self.track_previous_responses and not self.use_responses_api:
            raise ValueError(
                "track_previous_responses needs the Responses API: set use_responses_api=True"
            )
        if self.previous_response_id is not None and not self.track_previous_responses:
            # Else it would be silently ignored; a single call continues a response with
            # chat(..., previous_response_id=...).
            raise ValueError(
                "previous_response_id is continued with track_previous_responses=True "
                "(or pass previous_response_id=... to one call)"
            )
        return self

    @model_validator(mode="after")
    def _read_catalog(self) -> CompactifAI:
        if self.profile_from_api:
            self._catalog = load_capabilities(self.client)
        return self

    @property
    def capabilities(self) -> Capabilities:
        """What the model can do, from the live catalog (``profile_from_api``) or the table."""
        return capabilities_for(self.model, self._catalog)

    def _check_takes_tools(self) -> None:
        """Refuse tools before sending when this object or the catalog says the model has
        none (a model the catalog does not know is the server's call)."""
        if self.is_function_calling_model is not None:
            refused, source = not self.is_function_calling_model, "is_function_calling_model"
        else:
            refused, source = self.capabilities.tool_calling is False, self.capabilities.source
        if refused:
            catalog = self._catalog if self._catalog is not None else known_capabilities()
            raise tools_refused(
                self.model, catalog, source=source, override="is_function_calling_model=True"
            )

    @property
    def metadata(self) -> LLMMetadata:
        """From the model catalog; the fields set on this object win.

        ``context_window`` is the model's where known, else a conservative
        ``DEFAULT_CONTEXT_WINDOW`` (8192). ``num_output`` is what prompt packing keeps free for
        the answer: ``max_tokens``, else LlamaIndex's default (the API's 150000-token cap
        would leave no room for the prompt). ``is_function_calling_model`` is true only where
        the catalog says the model calls tools (FunctionAgent refuses the others; AgentWorkflow
        picks a ReActAgent for them).
        """
        capabilities = self.capabilities
        return LLMMetadata(
            context_window=(
                self.context_window or capabilities.context_window or DEFAULT_CONTEXT_WINDOW
            ),
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=capabilities.chat_completion is not False,
            is_function_calling_model=(
                self.is_function_calling_model
                if self.is_function_calling_model is not None
                else capabilities.tool_calling is True
            ),
            model_name=self.model,
        )

    # ------------------------------------------------------------------------ request params

    def _settings(self) -> tuple[tuple[str, Any], ...]:
        return (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            *reasoning_settings(self.reasoning_effort, self.reasoning_enabled),
        )

    def _chat_params(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        api_messages = messages_to_api(messages, **input_kinds(kwargs.get("model", self.model)))
        return chat_body(
            self.model,
            api_messages,
            self._settings(),
            self.additional_kwargs,
            kwargs,
            stream=stream,
        )

    def _completion_params(
        self, prompt: str, formatted: bool, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if not formatted and self.completion_to_prompt is not None:
            prompt = self.completion_to_prompt(prompt)
        settings = (("temperature", self.temperature), ("max_tokens", self.max_tokens))
        return completion_body(self.model, prompt, settings, None, kwargs)

    def _prompt_as_chat(self, prompt: str, formatted: bool) -> list[ChatMessage]:
        if not formatted and self.completion_to_prompt is not None:
            prompt = self.completion_to_prompt(prompt)
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    # ------------------------------------------------------------------------ chat

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self.use_responses_api:
            return self._chat_with_responses(messages, kwargs)
        completion = self.client.create_chat_completion(**self._chat_params(messages, kwargs))
        return chat_response_from_completion(completion)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self.use_responses_api:
            return await self._achat_with_responses(messages, kwargs)
        completion = await self.async_client.create_chat_completion(
            **self._chat_params(messages, kwargs)
        )
        return chat_response_from_completion(completion)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Items carry the text so far (``message``), the new text (``delta``) and, on the last
        one, the server's token usage (``raw["usage"]``)."""
        if self.use_responses_api:
            return self._stream_with_responses(messages, kwargs, ResponsesStream.chat_item)
        chunks = self.client.stream_chat_completion(
            **self._chat_params(messages, kwargs, stream=True)
        )

        def gen() -> ChatResponseGen:
            acc = StreamAccumulator()
            for chunk in chunks:
                yield chat_stream_item(acc, chunk)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        if self.use_responses_api:
            return self._astream_with_responses(messages, kwargs, ResponsesStream.chat_item)
        chunks = self.async_client.stream_chat_completion(
            **self._chat_params(messages, kwargs, stream=True)
        )

        async def gen() -> ChatResponseAsyncGen:
            acc = StreamAccumulator()
            async for chunk in chunks:
                yield chat_stream_item(acc, chunk)

        return gen()

    # ------------------------------------------------------------------------ completion

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """A text completion from the ``/completions`` endpoint (the prompt is sent as is).

        With ``use_responses_api``, the prompt is a user message to the Responses API."""
        if self.use_responses_api:
            return chat_response_to_completion_response(
                self._chat_with_responses(self._prompt_as_chat(prompt, formatted), kwargs)
            )
        completion = self.client.create_completion(
            **self._completion_params(prompt, formatted, kwargs)
        )
        return completion_response_from_completion(completion)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        if self.use_responses_api:
            return chat_response_to_completion_response(
                await self._achat_with_responses(self._prompt_as_chat(prompt, formatted), kwargs)
            )
        completion = await self.async_client.create_completion(
            **self._completion_params(prompt, formatted, kwargs)
        )
        return completion_response_from_completion(completion)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion, token by token.

        CompactifAI streams only chat completions, so a streamed completion is served by the
        chat endpoint with the prompt as a single user message (the ``/completions`` endpoint
        would answer in one piece). Items carry the text so far, the ``delta`` and, on the last
        one, the server's token usage.
        """
        if self.use_responses_api:
            messages = self._prompt_as_chat(prompt, formatted)
            return self._stream_with_responses(messages, kwargs, ResponsesStream.completion_item)
        chunks = self.client.stream_chat_completion(
            **self._chat_params(self._prompt_as_chat(prompt, formatted), kwargs, stream=True)
        )

        def gen() -> CompletionResponseGen:
            acc = StreamAccumulator()
            for chunk in chunks:
                yield completion_stream_item(acc, chunk)

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete` (served by the chat endpoint's stream, too)."""
        if self.use_responses_api:
            messages = self._prompt_as_chat(prompt, formatted)
            return self._astream_with_responses(messages, kwargs, ResponsesStream.completion_item)
        chunks = self.async_client.stream_chat_completion(
            **self._chat_params(self._prompt_as_chat(prompt, formatted), kwargs, stream=True)
        )

        async def gen() -> CompletionResponseAsyncGen:
            acc = StreamAccumulator()
            async for chunk in chunks:
                yield completion_stream_item(acc, chunk)

        return gen()

    # ------------------------------------------------------------------------ tools

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``chat`` arguments offering ``tools`` (the API's native tool calling)."""
        specs = [
            function_tool(
                tool.metadata.get_name(),
                tool.metadata.description,
                tool.metadata.get_parameters_dict(),
                strict,
            )
            for tool in tools
        ]
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        params: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            self._check_takes_tools()
            params["tools"] = specs
            names = [spec["function"]["name"] for spec in specs]
            choice = tool_choice_param(tool_choice, names)
            if choice is None and tool_required:
                choice = "required"
            if choice is not None:
                params["tool_choice"] = choice
        return params

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel calls were allowed."""
        if not allow_parallel_tool_calls:
            blocks, seen = [], False
            for block in response.message.blocks:
                if block.block_type == "tool_call":
                    if seen:
                        continue
                    seen = True
                blocks.append(block)
            response.message.blocks = blocks
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        selections = tool_selections(response.message)
        if not selections and error_on_no_tool_call:
            raise ValueError(
                f"Expected at least one tool call from {self.model}, got none: "
                f"{response.message.content!r}"
            )
        return selections

    # ------------------------------------------------------------------------ structured output

    def _uses_json_schema(self) -> bool:
        return self.pydantic_program_mode == PydanticProgramMode.DEFAULT

    def _schema_kwargs(
        self, output_cls: type[Model], llm_kwargs: dict[str, Any] | None
    ) -> dict[str, Any]:
        kwargs = dict(llm_kwargs or {})
        kwargs.pop("tool_choice", None)
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", output_cls.__name__)[:64]
        kwargs["response_format"] = json_schema_response_format(
            name, output_cls.model_json_schema()
        )
        return kwargs

    @dispatcher.span  # type: ignore[misc]
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """A pydantic object, produced with the API's ``json_schema`` structured output.

        ``pydantic_program_mode=PydanticProgramMode.FUNCTION`` uses a tool call instead.
        """
        if not self._uses_json_schema():
            return cast(
                "Model", super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
            )
        messages = self._extend_messages(prompt.format_messages(**prompt_args))
        response = self.chat(messages, **self._schema_kwargs(output_cls, llm_kwargs))
        return output_cls.model_validate_json(response.message.content or "")

    @dispatcher.span  # type: ignore[misc]
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._uses_json_schema():
            return cast(
                "Model",
                await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args),
            )
        messages = self._extend_messages(prompt.format_messages(**prompt_args))
        response = await self.achat(messages, **self._schema_kwargs(output_cls, llm_kwargs))
        return output_cls.model_validate_json(response.message.content or "")

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        if not self._uses_json_schema():
            yield from super()._structured_stream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return
        from llama_index.core.program.streaming_utils import (
            process_streaming_content_incremental,
        )

        messages = self._extend_messages(prompt.format_messages(**prompt_args))
        current: Any = None
        for response in self.stream_chat(messages, **self._schema_kwargs(output_cls, llm_kwargs)):
            current = process_streaming_content_incremental(response, output_cls, current)
            yield current

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        if not self._uses_json_schema():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        from llama_index.core.program.streaming_utils import (
            process_streaming_content_incremental,
        )

        messages = self._extend_messages(prompt.format_messages(**prompt_args))
        stream = await self.astream_chat(messages, **self._schema_kwargs(output_cls, llm_kwargs))

        async def gen() -> AsyncGenerator[
            Model | list[Model] | FlexibleModel | list[FlexibleModel], None
        ]:
            current: Any = None
            async for response in stream:
                current = process_streaming_content_incremental(response, output_cls, current)
                yield current

        return gen()


if TYPE_CHECKING:  # mypy proves the LLM is the host its mixins expect
    _MIXIN_HOST: type[LLMHost] = CompactifAI
