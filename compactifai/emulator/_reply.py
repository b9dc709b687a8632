"""Composing a route's reply: the one call into the answer generator for chat and Responses."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from .answers import Generator
from .conversation import Generated, ToolSpec, Turn

__all__ = ["ReplySpec", "compose_reply"]


@dataclass(frozen=True)
class ReplySpec:
    """What a reply follows besides the conversation (each route reads it from its body)."""

    tools: Sequence[ToolSpec]
    tool_choice: str | None
    response_format: dict[str, Any] | None
    temperature: float | None
    model: str
    reasoning_effort: str | None


async def compose_reply(
    generator: Generator, turns: Sequence[Turn], spec: ReplySpec, call_id_prefix: str
) -> Generated:
    """The reply to ``turns``; tool calls get ids ``call_id_prefix`` + a random hex."""
    compose = functools.partial(
        generator.chat,
        turns,
        tools=spec.tools,
        tool_choice=spec.tool_choice,
        response_format=spec.response_format,
        temperature=spec.temperature,
        new_call_id=lambda: call_id_prefix + uuid.uuid4().hex,
        model=spec.model,
        reasoning_effort=spec.reasoning_effort,
    )
    if spec.tools or spec.response_format is not None:
        # Schema-driven generation is bounded but not free: keep it off the event loop so
        # one request cannot stall the others.
        return await anyio.to_thread.run_sync(compose)
    return compose()
