"""Running one workload on several models with bounded concurrency, measuring each request.

A workload is a list of :class:`~compactifai.compare.report.WorkItem` and, per model, a
*subject*: an async function that runs one item on that model and reports what it sees on a
:class:`Meter` (first token, token usage). :func:`run_matrix` runs every (model, item) under one
semaphore, items interleaved across models so that all models see the same load, and turns
each run into an :class:`~compactifai.compare.report.Observation` (an exception becomes the
observation's ``error``: failures are part of the comparison).

Three subjects are provided: prompts over :class:`~compactifai.AsyncCompactifAIClient`
streaming (:func:`prompt_subject`); LangChain runnables and LlamaIndex query engines live in
:mod:`._langchain` and :mod:`._llama_index` (imported only when used).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from compactifai._client import AsyncCompactifAIClient
from compactifai.chat import StreamAccumulator
from compactifai.compare.metrics import as_structure
from compactifai.compare.report import Observation, WorkItem
from compactifai.errors import APIStatusError

__all__ = [
    "Meter",
    "ProgressCallback",
    "PromptItem",
    "Subject",
    "default_prompts_path",
    "describe_exception",
    "load_prompts",
    "prompt_answer",
    "prompt_items",
    "prompt_params",
    "prompt_subject",
    "run_matrix",
    "work_items",
]

ProgressCallback = Callable[[int, int], None]  # (done, total)


@dataclass
class Meter:
    """What one run reports about itself: the first token's time and token usage.

    Times are :func:`time.perf_counter` values; the harness turns them into durations.
    Usage adds up over several LLM calls (an agent or a multi-step chain).
    """

    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    llm_calls: int = 0

    def first_token(self, at: float | None = None) -> None:
        """Mark the first generated token (later calls are ignored)."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter() if at is None else at

    def add_usage(self, input_tokens: int | None, output_tokens: int | None) -> None:
        self.llm_calls += 1
        if input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + int(input_tokens)
        if output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + int(output_tokens)


# A subject runs one item on one model, reports on the meter, and returns the answer.
Subject = Callable[[WorkItem, Meter], Awaitable[Any]]


def describe_exception(exc: BaseException) -> str:
    """One line for an error in the report: the type and the message."""
    if isinstance(exc, APIStatusError):
        text = f"{type(exc).__name__} ({exc.status_code}): {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split())


def observe(model: str, item: WorkItem, answer: Any, meter: Meter, ended: float) -> Observation:
    """An observation from a run's answer (text, message, pydantic model, dict...)."""
    structured = as_structure(answer)
    if structured is not None:
        text = json.dumps(structured, ensure_ascii=False, indent=2, default=str)
    else:
        content = getattr(answer, "content", None)  # a LangChain message
        if isinstance(content, str):
            text = content
        else:
            response = getattr(answer, "response", None)  # a LlamaIndex Response
            text = response if isinstance(response, str) else str(answer)
    return Observation(
        model=model,
        item_id=item.id,
        text=text,
        structured=structured,
        ttft=None if meter.first_token_at is None else meter.first_token_at - meter.started,
        latency=ended - meter.started,
        input_tokens=meter.input_tokens,
        output_tokens=meter.output_tokens,
    )


async def run_matrix(
    subjects: Mapping[str, Subject],
    items: Sequence[WorkItem],
    *,
    concurrency: int = 4,
    on_progress: ProgressCallback | None = None,
) -> list[Observation]:
    """Run every item on every model, at most ``concurrency`` requests at a time.

    Runs are started item by item, each item on all models in turn, so the models share
    the same load. Exceptions become observations with an ``error``; cancellation and
    ``KeyboardInterrupt`` propagate.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    semaphore = asyncio.Semaphore(concurrency)
    total = len(items) * len(subjects)
    done = 0

    async def one(model: str, subject: Subject, item: WorkItem) -> Observation:
        nonlocal done
        async with semaphore:
            meter = Meter()
            try:
                answer = await subject(item, meter)
            except Exception as exc:
                observation = Observation(
                    model=model,
                    item_id=item.id,
                    latency=time.perf_counter() - meter.started,
                    error=describe_exception(exc),
                )
            else:
                observation = observe(model, item, answer, meter, time.perf_counter())
        done += 1
        if on_progress is not None:
            on_progress(done, total)
        return observation

    tasks = [one(model, subject, item) for item in items for model, subject in subjects.items()]
    return list(await asyncio.gather(*tasks))


# ---------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class PromptItem:
    """One prompt of a dataset: a user message (or full ``messages``) and options.

    JSONL lines are either a JSON string (the prompt) or an object with ``prompt`` or
    ``messages``, and optionally ``id``, ``system``, ``max_tokens`` and ``response_format``
    (``"json"`` is short for ``{"type": "json_object"}``; the answer is then compared field by
    field).
    """

    id: str
    messages: tuple[Mapping[str, Any], ...]
    response_format: Mapping[str, Any] | None = None
    max_tokens: int | None = None

    @property
    def label(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        content = (users or list(self.messages))[-1].get("content", "")
        return content if isinstance(content, str) else json.dumps(content)

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | PromptItem, index: int) -> PromptItem:
        if isinstance(value, PromptItem):
            return value
        if isinstance(value, str):
            return cls(str(index + 1), ({"role": "user", "content": value},))
        if not isinstance(value, Mapping):
            raise ValueError(f"prompt {index + 1}: expected a string or an object, not {value!r}")
        if "messages" in value:
            messages = tuple(dict(m) for m in value["messages"])
        elif isinstance(value.get("prompt"), str):
            messages = ({"role": "user", "content": value["prompt"]},)
        else:
            raise ValueError(f"prompt {index + 1}: needs 'prompt' (a string) or 'messages'")
        if value.get("system"):
            messages = ({"role": "system", "content": str(value["system"])}, *messages)
        response_format = value.get("response_format")
        if response_format == "json":
            response_format = {"type": "json_object"}
        max_tokens = value.get("max_tokens")
        return cls(
            id=str(value.get("id", index + 1)),
            messages=messages,
            response_format=response_format,
            max_tokens=int(max_tokens) if max_tokens is not None else None,
        )


def default_prompts_path() -> Path:
    """The bundled demo dataset (``compactifai/data/prompts.jsonl``)."""
    return Path(str(files("compactifai") / "data" / "prompts.jsonl"))


def load_prompts(path: str | Path | None = None) -> list[PromptItem]:
    """Prompts from a JSONL file (blank and ``#`` lines skipped); the bundled set by default."""
    source = Path(path) if path is not None else default_prompts_path()
    prompts: list[PromptItem] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: not JSON ({exc})") from None
        try:
            prompts.append(PromptItem.parse(value, len(prompts)))
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
    if not prompts:
        raise ValueError(f"{source}: no prompts")
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{source}: prompt ids must be unique")
    return prompts


def prompt_items(
    prompts: Iterable[str | Mapping[str, Any] | PromptItem] | str | Path,
    system: str | None = None,
) -> list[tuple[WorkItem, PromptItem]]:
    """Work items from prompts (a JSONL path, or strings/objects), with an optional system
    message added to those that have none."""
    if isinstance(prompts, (str, Path)) and (isinstance(prompts, Path) or Path(prompts).is_file()):
        parsed = load_prompts(prompts)
    elif isinstance(prompts, str):
        raise ValueError(f"{prompts!r} is not a file; pass a list of prompts")
    else:
        parsed = [PromptItem.parse(p, i) for i, p in enumerate(prompts)]
    if not parsed:
        raise ValueError("no prompts to run")
    if len({p.id for p in parsed}) != len(parsed):
        raise ValueError("prompt ids must be unique")
    out = []
    for prompt in parsed:
        if system and not any(m.get("role") == "system" for m in prompt.messages):
            prompt = PromptItem(
                prompt.id,
                ({"role": "system", "content": system}, *prompt.messages),
                prompt.response_format,
                prompt.max_tokens,
            )
        out.append((WorkItem(prompt.id, prompt, prompt.label), prompt))
    return out


def prompt_params(
    prompt: PromptItem,
    model: str,
    max_tokens: int | None = None,
    temperature: float | None = 0.0,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The chat completion body for one prompt on ``model`` (streamed or sent in a batch)."""
    params: dict[str, Any] = {
        "model": model,
        "messages": [dict(m) for m in prompt.messages],
        **(extra or {}),
    }
    if temperature is not None:
        params["temperature"] = temperature
    limit = prompt.max_tokens if prompt.max_tokens is not None else max_tokens
    if limit is not None:
        params["max_tokens"] = limit
    if prompt.response_format is not None:
        params["response_format"] = dict(prompt.response_format)
    return params


def prompt_answer(prompt: PromptItem, text: str, tool_calls: list[dict[str, Any]]) -> Any:
    """What the report compares: parsed JSON for JSON prompts, tool calls, else the text."""
    if prompt.response_format is not None:
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, (dict, list)) else text
    if tool_calls and not text:
        return tool_calls
    return text


def prompt_subject(
    client: AsyncCompactifAIClient,
    model: str,
    *,
    max_tokens: int | None = None,
    temperature: float | None = 0.0,
    extra: Mapping[str, Any] | None = None,
) -> Subject:
    """Stream each prompt's chat completion on ``model``: TTFT at the first content or tool
    call delta, tokens from the stream's final usage chunk."""

    async def run(item: WorkItem, meter: Meter) -> Any:
        prompt: PromptItem = item.input
        params = prompt_params(prompt, model, max_tokens, temperature, extra)
        params["stream_options"] = {"include_usage": True}
        acc = StreamAccumulator()
        async for chunk in client.stream_chat_completion(**params):
            added = acc.add(chunk)
            if added or (chunk.choices and chunk.choices[0].delta.tool_calls):
                meter.first_token()
        if acc.usage is not None:
            meter.add_usage(acc.usage.prompt_tokens, acc.usage.completion_tokens)
        calls = [{"name": c.name, "arguments": c.args or c.arguments} for c in acc.tool_calls]
        return prompt_answer(prompt, acc.text, calls)

    return run


def work_items(inputs: Iterable[Any]) -> list[WorkItem]:
    """Work items for runnable inputs or queries: ids ``1..n``, labels as text or JSON."""
    out = []
    for i, value in enumerate(inputs):
        label = value if isinstance(value, str) else _label(value)
        out.append(WorkItem(str(i + 1), value, label))
    if not out:
        raise ValueError("no inputs to run")
    return out


def _label(value: Any) -> str:
    structured = as_structure(value)
    if structured is None:
        return str(value)
    if isinstance(structured, dict) and len(structured) == 1:
        only = next(iter(structured.values()))
        if isinstance(only, str):
            return only
    return json.dumps(structured, ensure_ascii=False, default=str)
