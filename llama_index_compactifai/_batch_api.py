"""``CompactifAI.batch_chat``: many conversations as one CompactifAI Batch API job."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast, overload

from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from llama_index_compactifai._host import LLMHost
from llama_index_compactifai._messages import chat_response_from_completion

if TYPE_CHECKING:
    from typing_extensions import Unpack  # annotations only: no runtime dependency

    from compactifai.batches import BatchResults, PollPolicy, WaitOptions
    from compactifai.types import Batch, ChatCompletion

__all__ = ["BatchChatMixin"]


def _responses(results: BatchResults, return_exceptions: bool) -> list[Any]:
    from compactifai.batches import BatchRequestError

    out: list[Any] = []
    for result in results:
        if isinstance(result, BatchRequestError):
            error = result.error or result
            if not return_exceptions:
                raise error
            out.append(error)
        else:
            out.append(chat_response_from_completion(cast("ChatCompletion", result)))
    return out


class _Options(TypedDict, total=False):
    on_progress: Callable[[Batch], None] | None
    """Called with the job's ``Batch`` (status, request counts) at every status check."""
    poll: PollPolicy | None
    """How often to check the job (default: from 1 s, backing off to 30 s)."""
    timeout: float | None
    """Seconds to wait at most; the job keeps running after."""


Conversations = Sequence[Sequence[ChatMessage]]


def _split(options: _Options) -> tuple[PollPolicy | None, WaitOptions]:
    wait: WaitOptions = {}
    if "on_progress" in options:
        wait["on_progress"] = options["on_progress"]
    if "timeout" in options:
        wait["timeout"] = options["timeout"]
    return options.get("poll"), wait


class BatchChatMixin:
    """``batch_chat``/``abatch_chat`` of :class:`~llama_index_compactifai.CompactifAI`.

    One ``ChatResponse`` per conversation, in order, from a single Batch API job. Bodies are
    built as ``chat`` builds them; ``body`` holds per-call body fields (``{"temperature": 0}``).
    A conversation the server rejected raises its error, or with ``return_exceptions=True``
    stands in the list as that exception.
    """

    def _bodies(
        self, conversations: Conversations, body: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        llm = cast(LLMHost, self)
        return [llm._chat_params(messages, dict(body or {})) for messages in conversations]

    @overload
    def batch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: Literal[False] = False, **options: Unpack[_Options],
    ) -> list[ChatResponse]: ...  # fmt: skip
    @overload
    def batch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: Literal[True], **options: Unpack[_Options],
    ) -> list[ChatResponse | Exception]: ...  # fmt: skip
    def batch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: bool = False, **options: Unpack[_Options],
    ) -> list[ChatResponse] | list[ChatResponse | Exception]:  # fmt: skip
        """Many conversations as one Batch API job (see the class documentation)."""
        from compactifai.batches import BatchRunner

        poll, wait = _split(options)
        runner = BatchRunner(cast(LLMHost, self).client, poll)
        results = runner.run(self._bodies(conversations, body), **wait)
        return _responses(results, return_exceptions)

    @overload
    async def abatch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: Literal[False] = False, **options: Unpack[_Options],
    ) -> list[ChatResponse]: ...  # fmt: skip
    @overload
    async def abatch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: Literal[True], **options: Unpack[_Options],
    ) -> list[ChatResponse | Exception]: ...  # fmt: skip
    async def abatch_chat(
        self, conversations: Conversations, body: Mapping[str, Any] | None = None, *,
        return_exceptions: bool = False, **options: Unpack[_Options],
    ) -> list[ChatResponse] | list[ChatResponse | Exception]:  # fmt: skip
        """``batch_chat`` with the async client."""
        from compactifai.batches import AsyncBatchRunner

        poll, wait = _split(options)
        job = AsyncBatchRunner(cast(LLMHost, self).async_client, poll)
        answered = await job.run(self._bodies(conversations, body), **wait)
        return _responses(answered, return_exceptions)
