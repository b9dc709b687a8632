"""``ChatCompactifAI(use_batch_api=True)``: ``.batch()`` as one CompactifAI Batch API job.

How it stays "exactly a normal call": the request bodies are built by the model's own
``_request_params`` (the function ``invoke`` uses), sent as one job, and the results parked in
a context variable keyed by body. Then LangChain's ordinary ``batch`` runs: each ``_generate``
builds its body as always and takes the parked result instead of sending a request, so
callbacks, tracing, ``return_exceptions``, usage metadata and error types are LangChain's
own, per input.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from compactifai.types import Batch, ChatCompletion
from langchain_compactifai._errors import langchain_errors
from langchain_compactifai._host import ChatModelHost
from langchain_compactifai._messages import chat_result_from_completion

if TYPE_CHECKING:
    from compactifai.batches import AsyncBatchRunner, BatchResult, BatchRunner

# compactifai.batches (and its transport imports) loads on the first batch, not with LangChain.

__all__ = ["BatchAPIMixin", "take_batch_result"]

# body key -> results for that body (several inputs may send the same body)
_Parked = dict[str, "deque[BatchResult | Exception]"]
_PARKED: contextvars.ContextVar[_Parked | None] = contextvars.ContextVar(
    "compactifai_batch_results", default=None
)
_PARK_LOCK = threading.Lock()


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@contextlib.contextmanager
def _parked(
    bodies: Sequence[Mapping[str, Any]], results: Sequence[BatchResult | Exception]
) -> Iterator[None]:
    parked: _Parked = {}
    for body, result in zip(bodies, results, strict=True):
        parked.setdefault(_key(body), deque()).append(result)
    token = _PARKED.set(parked)
    try:
        yield
    finally:
        _PARKED.reset(token)


def take_batch_result(params: Mapping[str, Any]) -> ChatResult | None:
    """The Batch API's answer to this body, if a ``use_batch_api`` batch is running (it is
    handed out once); raises that input's error like a normal call would."""
    parked = _PARKED.get()
    if parked is None:
        return None
    with _PARK_LOCK:
        results = parked.get(_key(params))
        result = results.popleft() if results else None
    if result is None:
        return None
    if isinstance(result, Exception):
        raise _error_of(result)
    return chat_result_from_completion(cast("ChatCompletion", result))


def _error_of(result: Exception) -> Exception:
    """The exception a normal call would raise for this input (LangChain's error types)."""
    from compactifai.batches import BatchRequestError

    error = result.error or result if isinstance(result, BatchRequestError) else result
    try:
        with langchain_errors():
            raise error
    except Exception as exc:
        return exc


def _message_or_error(result: BatchResult) -> AIMessage | Exception:
    if isinstance(result, Exception):
        return _error_of(result)
    completion = cast("ChatCompletion", result)
    return cast(AIMessage, chat_result_from_completion(completion).generations[0].message)


_Config = RunnableConfig | list[RunnableConfig] | None


class _Plan:
    """A ``batch`` call's bodies: those to send as a job, and (with ``return_exceptions``)
    those the client refuses, which become their inputs' exceptions instead of failing all."""

    def __init__(self, bodies: list[dict[str, Any]], errors_ok: bool) -> None:
        from compactifai.batches import check_request
        from compactifai.errors import RequestValidationError

        self.bodies = bodies
        self.refused: dict[int, Exception] = {}
        self.answered: Sequence[BatchResult] = []
        for position, body in enumerate(bodies):
            try:
                check_request(body)
            except RequestValidationError as exc:
                if not errors_ok:
                    raise
                self.refused[position] = exc
        self.to_send = [b for i, b in enumerate(bodies) if i not in self.refused]

    def parked(self) -> contextlib.AbstractContextManager[None]:
        """Park each body's outcome for the ``_generate`` call that will build that body."""
        refused = [self.bodies[i] for i in self.refused]
        return _parked(refused + self.to_send, [*self.refused.values(), *self.answered])


class BatchAPIMixin(BaseModel):
    """Fields and methods of ``ChatCompactifAI`` for CompactifAI's Batch API."""

    use_batch_api: bool = False
    """Send ``batch``/``abatch`` as one Batch API job (cheaper, slower: up to 24 h)."""
    # None defaults: LangChain serializes every truthy field value, defaults included.
    batch_poll_interval: float | None = Field(default=None, gt=0)
    """Seconds between the first status checks of a job (default 1; backing off while nothing
    changes)."""
    batch_max_poll_interval: float | None = Field(default=None, gt=0)
    """Longest wait between two status checks (default 30)."""
    batch_timeout: float | None = None
    """Give up waiting after this many seconds (the job keeps running; collect it later)."""
    batch_on_progress: Callable[[Batch], None] | None = Field(default=None, exclude=True)
    """Called with the job's ``Batch`` (status, request counts) on every status check."""

    # -- helpers -------------------------------------------------------------------------------

    def _chat(self) -> ChatModelHost:
        return cast(ChatModelHost, self)

    def _runner(self) -> BatchRunner:
        from compactifai.batches import BatchRunner

        return BatchRunner(self._chat().client, self._poll())

    def _async_runner(self) -> AsyncBatchRunner:
        from compactifai.batches import AsyncBatchRunner

        return AsyncBatchRunner(self._chat().async_client, self._poll())

    def _poll(self) -> Any:
        from compactifai.batches import PollPolicy

        default = PollPolicy()
        initial = self.batch_poll_interval or default.initial
        return PollPolicy(initial, max(initial, self.batch_max_poll_interval or default.maximum))

    def _batch_bodies(
        self, inputs: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Each input's request body, built exactly as ``invoke`` builds it."""
        chat = self._chat()
        call_kwargs = dict(kwargs)
        stop = call_kwargs.pop("stop", None)
        return [
            chat._request_params(chat._convert_input(item).to_messages(), stop, call_kwargs)
            for item in inputs
        ]

    def _plan(self, inputs: list[Any], kwargs: Mapping[str, Any], errors_ok: bool) -> _Plan | None:
        """The job for a ``batch`` call, or None when it is not one for the Batch API."""
        if not self.use_batch_api or not inputs:
            return None
        return _Plan(self._batch_bodies(inputs, kwargs), errors_ok)

    @staticmethod
    def _answers_parked(
        plan: _Plan | None, kwargs: dict[str, Any]
    ) -> contextlib.AbstractContextManager[None]:
        """Where LangChain's own ``batch`` runs: with the job's answers parked, if there is one."""
        if plan is None:
            return contextlib.nullcontext()
        kwargs["stream"] = False  # the answers are parked: no streaming call may bypass them
        return plan.parked()

    def _wait_options(self) -> dict[str, Any]:
        return {"on_progress": self.batch_on_progress, "timeout": self.batch_timeout}

    # -- batch / abatch ------------------------------------------------------------------------

    def batch(
        self,
        inputs: list[Any],
        config: _Config = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        model = cast(BaseChatModel, self)
        plan = self._plan(inputs, kwargs, return_exceptions)
        if plan is not None and plan.to_send:
            with langchain_errors():
                plan.answered = self._runner().run(plan.to_send, **self._wait_options())
        with self._answers_parked(plan, kwargs):
            return BaseChatModel.batch(
                model, inputs, config, return_exceptions=return_exceptions, **kwargs
            )

    async def abatch(
        self,
        inputs: list[Any],
        config: _Config = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        plan = self._plan(inputs, kwargs, return_exceptions)
        if plan is not None and plan.to_send:
            runner = self._async_runner()
            with langchain_errors():
                plan.answered = await runner.run(plan.to_send, **self._wait_options())
        with self._answers_parked(plan, kwargs):
            return await BaseChatModel.abatch(
                cast(BaseChatModel, self),
                inputs,
                config,
                return_exceptions=return_exceptions,
                **kwargs,
            )

    # -- explicit jobs (survive the process) ---------------------------------------------------

    def batch_api_submit(self, inputs: list[Any], **kwargs: Any) -> str:
        """Start a Batch API job for ``inputs``; returns its id (keep it to retrieve later)."""
        with langchain_errors():
            return self._runner().submit(self._batch_bodies(inputs, kwargs)).id

    def batch_api_status(self, batch_id: str) -> Batch:
        """The job now: ``status`` (validating, in_progress, ... completed), request counts."""
        with langchain_errors():
            return self._chat().client.retrieve_batch(batch_id)

    def batch_api_retrieve(self, batch_id: str) -> list[AIMessage | Exception]:
        """Wait for the job, then one message (or that input's exception) per input, in order."""
        with langchain_errors():
            results = self._runner().collect(batch_id, **self._wait_options())
        return [_message_or_error(result) for result in results]

    def batch_api_cancel(self, batch_id: str) -> Batch:
        with langchain_errors():
            return self._chat().client.cancel_batch(batch_id)

    async def abatch_api_submit(self, inputs: list[Any], **kwargs: Any) -> str:
        bodies = self._batch_bodies(inputs, kwargs)
        with langchain_errors():
            return (await self._async_runner().submit(bodies)).id

    async def abatch_api_status(self, batch_id: str) -> Batch:
        client = self._chat().async_client
        with langchain_errors():
            return await client.retrieve_batch(batch_id)

    async def abatch_api_retrieve(self, batch_id: str) -> list[AIMessage | Exception]:
        runner = self._async_runner()
        with langchain_errors():
            results = await runner.collect(batch_id, **self._wait_options())
        return list(map(_message_or_error, results))

    async def abatch_api_cancel(self, batch_id: str) -> Batch:
        client = self._chat().async_client
        with langchain_errors():
            return await client.cancel_batch(batch_id)
