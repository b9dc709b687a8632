"""``CompactifAI.batch_chat``: many conversations as one CompactifAI Batch API job."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from llama_index_compactifai._messages import chat_response_from_completion

if TYPE_CHECKING:
    from compactifai.batches import BatchResults, PollPolicy
    from compactifai.types import Batch, ChatCompletion
    from llama_index_compactifai.base import CompactifAI

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


class BatchChatMixin:
    """``batch_chat``/``abatch_chat`` of :class:`~llama_index_compactifai.CompactifAI`."""

    def _batch_bodies(
        self, conversations: Sequence[Sequence[ChatMessage]], kwargs: dict[str, Any]
    ) -> list[dict[str, Any]]:
        llm = cast("CompactifAI", self)
        return [llm._chat_params(messages, kwargs) for messages in conversations]

    @overload
    def batch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: Literal[False] = False,
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]: ...
    @overload
    def batch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: Literal[True],
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse | Exception]: ...
    def batch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse] | list[ChatResponse | Exception]:
        """One ``ChatResponse`` per conversation, in order, from a single Batch API job.

        Bodies are built as ``chat`` builds them (``kwargs`` are per-call body fields). A
        conversation the server rejected raises its error, or with ``return_exceptions=True``
        stands in the list as that exception.
        """
        from compactifai.batches import BatchRunner

        runner = BatchRunner(cast("CompactifAI", self).client, poll)
        bodies = self._batch_bodies(conversations, kwargs)
        results = runner.run(bodies, on_progress=on_progress, timeout=timeout)
        return _responses(results, return_exceptions)

    @overload
    async def abatch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: Literal[False] = False,
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]: ...
    @overload
    async def abatch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: Literal[True],
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse | Exception]: ...
    async def abatch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        on_progress: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse] | list[ChatResponse | Exception]:
        """``batch_chat`` with the async client."""
        from compactifai.batches import AsyncBatchRunner

        runner = AsyncBatchRunner(cast("CompactifAI", self).async_client, poll)
        bodies = self._batch_bodies(conversations, kwargs)
        results = await runner.run(bodies, on_progress=on_progress, timeout=timeout)
        return _responses(results, return_exceptions)
