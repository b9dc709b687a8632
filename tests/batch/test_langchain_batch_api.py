"""``ChatCompactifAI(use_batch_api=True)``: one job per ``batch``, answers as a normal call's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore
from compactifai.errors import RequestValidationError
from langchain_compactifai import ChatCompactifAI
from langchain_compactifai._errors import CompactifAIInvalidRequestError

from .conftest import MODEL

TOOLS_MODEL = "hypernova-60b"

pytestmark = pytest.mark.emulator


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


def _llm(emulator: Emulator, model: str = MODEL, **kwargs: Any) -> ChatCompactifAI:
    return ChatCompactifAI(
        model=model,
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_poll_interval=0.01,
        batch_max_poll_interval=0.05,
        **kwargs,
    )


def _essence(output: Any) -> Any:
    """What a caller reads from an answer (ids and request ids differ between two calls)."""
    if isinstance(output, AIMessage):
        calls = [(c["name"], c["args"]) for c in output.tool_calls]
        return (output.content, calls, output.usage_metadata)
    return output


def _jobs(store: BatchStore) -> list[dict[str, Any]]:
    return store.batches()


def _uploaded_bodies(store: BatchStore) -> list[dict[str, Any]]:
    (job,) = store.jobs.values()
    content = store.files[job.record["input_file_id"]].content
    return [json.loads(line)["body"] for line in content.splitlines()]


def test_2000_inputs_one_job_same_answers_in_order(emulator: Emulator, store: BatchStore) -> None:
    inputs = [f"What is {i} plus one?" for i in range(2000)]
    progress: list[str] = []
    via_batch = _llm(
        emulator, use_batch_api=True, batch_on_progress=lambda b: progress.append(b.status)
    )
    messages = via_batch.batch(inputs)
    (job,) = _jobs(store)
    batch_id = job["id"]
    calls = [(r.method, r.path) for r in store.requests if r.method == "POST"]
    assert calls == [("POST", "/v1/files"), ("POST", "/v1/batches")]
    # Every chat completion the emulator saw was sent by the job, none by the client.
    chats = [r for r in emulator.requests if r.path == "/v1/chat/completions"]
    assert chats and all(r.headers.get("x-emulator-batch-id") == batch_id for r in chats)
    normal = _llm(emulator).batch(inputs)
    assert len(_jobs(store)) == 1  # the normal batch made no job
    assert len(messages) == 2000
    assert all(isinstance(m, AIMessage) for m in messages)
    assert [m.content for m in messages] == [m.content for m in normal]
    assert [m.usage_metadata for m in messages] == [m.usage_metadata for m in normal]
    assert progress[-1] == "completed"
    assert store.jobs[batch_id].record["request_counts"]["total"] == 2000


def test_bodies_are_mapped_exactly_as_a_normal_call(emulator: Emulator, store: BatchStore) -> None:
    # A model with tools (the Mistral models have none).
    llm = _llm(emulator, TOOLS_MODEL, use_batch_api=True, temperature=0, max_tokens=64)
    inputs = [[("system", "Answer briefly."), ("human", "Where is Lyon?")]]
    for runnable in (
        llm.bind_tools([City], tool_choice="City"),
        llm.with_structured_output(City),
        llm.with_structured_output(City, method="function_calling"),
        llm.bind(stop=["\n\n"]),
    ):
        store.reset()
        emulator.reset()
        batched = runnable.batch(inputs)
        sent_in_batch = _uploaded_bodies(store)
        emulator.reset()
        normal = runnable.invoke(inputs[0])
        (direct,) = [r.body for r in emulator.requests if r.path == "/v1/chat/completions"]
        assert sent_in_batch == [direct]
        assert [_essence(b) for b in batched] == [_essence(normal)]
    parsed = llm.with_structured_output(City).batch(["Lyon is a city in France."])
    assert isinstance(parsed[0], City)


def test_a_rejected_line_is_that_inputs_exception(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator, use_batch_api=True)
    inputs = ["Hello", "Hi", "Hey"]
    bad = llm.bind(model="no-such-model")
    results = bad.batch(inputs, return_exceptions=True)
    assert all(isinstance(r, CompactifAIInvalidRequestError) for r in results)
    mixed = llm.batch(["ok", "also ok"], return_exceptions=True)
    assert all(isinstance(r, AIMessage) for r in mixed)
    with pytest.raises(CompactifAIInvalidRequestError, match="no-such-model"):
        bad.batch(inputs)
    # A body the client itself refuses is that input's exception too, and is not uploaded.
    store.reset()
    refused = llm.batch(["fine", "too hot"], return_exceptions=True, temperature=9)
    assert all(isinstance(r, RequestValidationError) for r in refused)
    assert store.jobs == {}


def test_callbacks_fire_per_input(emulator: Emulator, store: BatchStore) -> None:
    class Count(BaseCallbackHandler):
        starts = 0
        ends = 0

        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            Count.starts += 1

        def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
            Count.ends += 1

    _llm(emulator, use_batch_api=True).batch(["a", "b", "c"], config={"callbacks": [Count()]})
    assert (Count.starts, Count.ends) == (3, 3)


async def test_abatch_through_one_job(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator, use_batch_api=True)
    inputs = [f"Name {i}" for i in range(50)]
    messages = await llm.abatch(inputs)
    assert len(_jobs(store)) == 1
    normal = await _llm(emulator).abatch(inputs)
    assert [m.content for m in messages] == [m.content for m in normal]


def test_explicit_jobs_survive_the_model_object(emulator: Emulator, store: BatchStore) -> None:
    batch_id = _llm(emulator).batch_api_submit(["one", "two"], temperature=0)
    status = _llm(emulator).batch_api_status(batch_id)
    assert status.id == batch_id
    retrieved = _llm(emulator).batch_api_retrieve(batch_id)
    normal = _llm(emulator).batch(["one", "two"], temperature=0)
    assert [m.content for m in retrieved] == [m.content for m in normal]  # type: ignore[union-attr]
    assert retrieved[0].usage_metadata is not None  # type: ignore[union-attr]
    store.configure(pace=1.0)
    slow = _llm(emulator).batch_api_submit(["three"])
    assert _llm(emulator).batch_api_cancel(slow).status == "cancelling"


async def test_explicit_jobs_async(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator)
    batch_id = await llm.abatch_api_submit(["one"])
    assert (await llm.abatch_api_status(batch_id)).id == batch_id
    (message,) = await llm.abatch_api_retrieve(batch_id)
    assert isinstance(message, AIMessage) and message.content
    store.configure(pace=1.0)
    slow = await llm.abatch_api_submit(["two"])
    assert (await llm.abatch_api_cancel(slow)).status == "cancelling"


def test_a_streaming_model_still_batches_through_the_job(
    emulator: Emulator, store: BatchStore
) -> None:
    llm = _llm(emulator, use_batch_api=True, streaming=True)
    messages = llm.batch(["one", "two"])
    (job,) = _jobs(store)
    chats = [r for r in emulator.requests if r.path == "/v1/chat/completions"]
    assert all(r.headers.get("x-emulator-batch-id") == job["id"] for r in chats)
    assert [m.content for m in messages] == [
        m.content for m in _llm(emulator).batch(["one", "two"])
    ]


def test_without_use_batch_api_nothing_changes(emulator: Emulator, store: BatchStore) -> None:
    _llm(emulator).batch(["a", "b"])
    assert store.jobs == {}
    assert _llm(emulator, use_batch_api=True).batch([]) == []
    assert store.jobs == {}
