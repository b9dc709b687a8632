"""``compactifai demo``: CompactifAI models at work in LangChain and LlamaIndex, in five steps.

Without ``COMPACTIFAI_API_KEY`` the demo starts the bundled emulator (offline, no account);
with it, the same steps run against the real service. A reasoning model's thinking is shown
dimmed before its answer; the last step adds up the tokens the responses reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from compactifai.commands._common import (
    add_connection_arguments,
    bar_chart,
    console,
    guarded,
    models_table,
    one_line,
    print_table,
    print_untrusted,
    safe_text,
    service_or_emulator,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from compactifai import CompactifAIClient
    from compactifai.types import Model


__all__ = ["EXAMPLE", "HELP", "RAG_QUESTION", "add_arguments", "pick_model", "run"]

HELP = "Watch CompactifAI models work in LangChain and LlamaIndex (offline without a key)"
EXAMPLE = """examples:
  compactifai demo                      # no key: runs on the bundled offline emulator
  COMPACTIFAI_API_KEY=... compactifai demo --model gpt-oss-120b

Steps: the model catalog, a streaming LangChain LCEL chain (a reasoning model's thinking
dimmed before its answer), a LangChain agent calling a tool, a LlamaIndex RAG query (BM25)
with its sources, and the session's tokens per model from the responses (plus the usage
statistics endpoint where the server has one; the live service removed it on 2026-03-24).
"""

STEPS = 5
CHAIN_TEXT = (
    "CompactifAI compresses large language models with tensor networks. The slim models keep "
    "most of the original accuracy while using far less memory, so they run faster and cost "
    "less to serve."
)
CHAIN_QUESTION = "Why do slim models cost less to serve?"
RAG_QUESTION = "How many parameters does HyperNova 60B have?"
T = TypeVar("T")


class DemoFailure(Exception):
    """A demo step cannot go on (a bad --model, say); the message is the one line shown."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compactifai.catalog import DEFAULT_CHAT_MODEL

    parser.add_argument(
        "--model",
        "-m",
        default=None,
        help="chat model to use (default: picked from the live catalog, preferring "
        f"{DEFAULT_CHAT_MODEL})",
    )
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.02,
        metavar="S",
        help="emulator only: seconds between streamed tokens, so streaming is visible "
        "(default 0.02; 0 for instant)",
    )
    add_connection_arguments(parser)


def pick_model(models: list[Model], wanted: str | None) -> str:
    """``wanted`` if the catalog has it; else the default model, a slim tool-calling one, any."""
    from compactifai.catalog import DEFAULT_CHAT_MODEL, is_slim, model_info

    ids = [m.id for m in models]
    if wanted is not None:
        if wanted not in ids:
            raise DemoFailure(
                f"model {wanted!r} is not in the catalog; available: {', '.join(ids) or 'none'}"
            )
        return wanted
    if not ids:
        raise DemoFailure("the catalog is empty: no model to run the demo with")
    if DEFAULT_CHAT_MODEL in ids:
        return DEFAULT_CHAT_MODEL
    chat = [m for m in models if _flags(m).get("supports_chat_completion") is not False]
    # The agent step needs tools: skip models known not to call them (unknown may).
    slim = [
        m.id
        for m in chat
        if is_slim(m.id, m.owned_by)
        and _flags(m).get("supports_function_calling", model_info(m.id).supports_function_calling)
        is not False
    ]
    return slim[0] if slim else (chat or models)[0].id


def _flags(model: Model) -> dict[str, bool | None]:
    """The flags the server reported (``None`` values dropped: not reported is not "no")."""
    from compactifai.commands._common import capabilities_json

    return {k: v for k, v in (capabilities_json(model) or {}).items() if v is not None}


def reasoning_of(message: Any) -> str:
    """A LangChain message's (or chunk's) reasoning text, where the integration puts it."""
    value = (getattr(message, "additional_kwargs", None) or {}).get("reasoning_content")
    return value if isinstance(value, str) else ""


@dataclass
class _Session:
    out: Console
    base_url: str
    api_key: str
    timeout: float
    model: str = ""
    models: list[Model] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Tokens per model as the responses reported them (LangChain callbacks, LlamaIndex events).
    counted: dict[str, list[int]] = field(default_factory=dict)
    thinking: bool = False  # reasoning being streamed, the answer not started

    def count(self, model: str, input_tokens: int, output_tokens: int) -> None:
        acc = self.counted.setdefault(model, [0, 0])
        acc[0] += input_tokens
        acc[1] += output_tokens

    # -- presentation ---------------------------------------------------------------------
    def step(self, number: int, title: str, body: Callable[[], T]) -> T:
        self.out.print()
        self.out.rule(f"[bold]Step {number}/{STEPS} · {title}", align="left")
        started = time.perf_counter()
        result = body()
        elapsed = time.perf_counter() - started
        self.out.print(f"[green]✓[/] {title} [dim]· {elapsed:.2f} s[/]")
        return result

    @contextmanager
    def spinner(self, text: str) -> Iterator[Callable[[], None]]:
        """A spinner on terminals until the returned ``stop()`` is called (first token)."""
        status: Status | None = None
        if self.out.is_terminal:
            status = self.out.status(text, spinner="dots")
            status.start()

        def stop() -> None:
            nonlocal status
            if status is not None:
                status.stop()
                status = None

        try:
            yield stop
        finally:
            stop()

    def write(self, text: str, style: str | None = None) -> None:
        print_untrusted(self.out, text, style=style)
        self.out.file.flush()

    def think(self, text: str) -> None:
        """Stream a reasoning model's thinking, dimmed, before its answer."""
        if not self.thinking:
            self.thinking = True
            self.write("Thinking: ", style="dim italic")
        self.write(text, style="dim")

    # -- step 1 ----------------------------------------------------------------------------
    def catalog(self, client: CompactifAIClient, wanted: str | None) -> None:
        from compactifai.catalog import is_slim, model_info

        self.models = client.list_models()
        print_table(self.out, models_table(self.models))
        self.model = pick_model(self.models, wanted)
        info = model_info(self.model)
        entry = next(m for m in self.models if m.id == self.model)
        facts = "slim" if is_slim(entry.id, entry.owned_by) else "original"
        if entry.parameters_number:
            facts += f", {entry.parameters_number} parameters"
        if info.original:
            facts += f", compressed from {info.original}"
        self.out.print(f"The demo uses [bold]{safe_text(self.model)}[/] ({safe_text(facts)}).")

    # -- step 2 ----------------------------------------------------------------------------
    def _chat_model(self, **kwargs: Any) -> Any:
        from compactifai.catalog import model_info
        from langchain_compactifai import ChatCompactifAI

        # Brief thinking where the model has levels: the demo is about the answer's arrival.
        efforts = getattr(model_info(self.model), "reasoning_efforts", None) or ()
        if "low" in efforts:
            kwargs.setdefault("reasoning_effort", "low")
        return ChatCompactifAI(
            model=self.model,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            temperature=0,
            max_tokens=1024,  # room for a reasoning model's thinking and its answer
            **kwargs,
        )

    def _usage_callback(self) -> Any:
        from langchain_core.callbacks import BaseCallbackHandler

        session = self

        class UsageCallback(BaseCallbackHandler):
            def __init__(self) -> None:
                self.calls: list[dict[str, int]] = []

            def on_llm_end(self, response: Any, **kwargs: Any) -> None:
                for generations in response.generations:
                    for generation in generations:
                        usage = getattr(
                            getattr(generation, "message", None), "usage_metadata", None
                        )
                        if usage:
                            self.calls.append(dict(usage))
                            session.count(
                                session.model, usage["input_tokens"], usage["output_tokens"]
                            )

        return UsageCallback()

    def lcel_chain(self) -> None:
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", "You are a concise assistant. Answer from the text given."),
                ("human", "Text: {text}\nQuestion: {question}"),
            ]
        )
        chain = prompt | self._chat_model()
        self.out.print(
            f"[dim]chain = prompt | ChatCompactifAI(model={safe_text(repr(self.model))})[/]"
        )
        self.out.print(f"[bold]Q:[/] {safe_text(CHAIN_QUESTION)}")
        usage = self._usage_callback()
        answering = False
        with self.spinner("Waiting for the first token…") as first_token:
            for chunk in chain.stream(
                {"text": CHAIN_TEXT, "question": CHAIN_QUESTION}, config={"callbacks": [usage]}
            ):
                thought, piece = reasoning_of(chunk), chunk.text
                if thought and not answering:
                    first_token()
                    self.think(thought)
                if piece:
                    first_token()
                    if not answering:
                        answering = True
                        self.write(("\n" if self.thinking else "") + "A: ")
                    self.write(piece)
        self.thinking = False
        self.out.print()
        if usage.calls:
            call = usage.calls[-1]
            self.out.print(
                f"[dim]Token usage: {call['input_tokens']} in, {call['output_tokens']} out, "
                f"{call['total_tokens']} total[/]"
            )
        else:
            self.out.print("[dim]Token usage: not reported by the server for this stream[/]")

    # -- step 3 ----------------------------------------------------------------------------
    def agent(self) -> None:
        from langchain.agents import create_agent
        from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        from langchain_core.tools import tool

        from compactifai.catalog import is_slim, model_info

        catalog = {m.id: m for m in self.models}

        @tool
        def get_model_facts(model: str) -> str:
            """Return the parameter count and original model of a CompactifAI model."""
            model = model.strip().strip("'\"")
            entry = catalog.get(model)
            if entry is None:
                return f"{model} is not in the catalog"
            info = model_info(model)
            kind = "a slim model" if is_slim(entry.id, entry.owned_by) else "an original model"
            text = f"{model} is {kind} with {entry.parameters_number or 'unknown'} parameters"
            return text + (f", compressed from {info.original}" if info.original else "")

        subject = next(
            (m.id for m in self.models if is_slim(m.id, m.owned_by) and m.id != self.model),
            self.model,
        )
        question = (
            f"How many parameters does the model '{subject}' have, and what was it "
            "compressed from? Use the get_model_facts tool."
        )
        agent = create_agent(
            self._chat_model(),
            tools=[get_model_facts],
            system_prompt="You answer questions about models. Use the tools to look facts up.",
        )
        self.out.print(
            "[dim]agent = create_agent(ChatCompactifAI(...), tools=\\[get_model_facts])[/]"
        )
        self.out.print(f"[bold]Q:[/] {safe_text(question)}")
        usage = self._usage_callback()
        final: AIMessage | None = None
        tool_calls = 0
        with self.spinner("The agent is working…"):
            for update in agent.stream(
                {"messages": [HumanMessage(question)]},
                stream_mode="updates",
                config={"callbacks": [usage]},
            ):
                for node in update.values():
                    for message in (node or {}).get("messages", []):
                        thought = reasoning_of(message)
                        if thought:
                            self.out.print(f"[dim]Thinking: {safe_text(one_line(thought))}[/]")
                        if isinstance(message, AIMessage) and message.tool_calls:
                            for call in message.tool_calls:
                                tool_calls += 1
                                args = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
                                self.out.print(
                                    f"[cyan]→ tool call[/] {safe_text(call['name'])}({safe_text(args)})"
                                )
                        elif isinstance(message, ToolMessage):
                            self.out.print(f"[cyan]← tool result[/] {safe_text(message.text)}")
                        elif isinstance(message, AIMessage):
                            final = message
        if tool_calls == 0:
            self.out.print("[yellow]The model answered without calling the tool.[/]")
        answer = one_line(final.text) if final is not None else "(no answer)"
        self.out.print(f"[bold]A:[/] {safe_text(answer)}")
        spent = [sum(c[k] for c in usage.calls) for k in ("input_tokens", "output_tokens")]
        self.out.print(
            f"[dim]{len(usage.calls)} model calls, {spent[0]} tokens in, {spent[1]} out[/]"
        )

    # -- step 4 ----------------------------------------------------------------------------
    def rag(self) -> None:
        from importlib.resources import files

        from llama_index.core import Document
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.query_engine import RetrieverQueryEngine
        from llama_index.retrievers.bm25 import BM25Retriever  # type: ignore[import-untyped]

        from compactifai.compare._llama_index import metered
        from llama_index_compactifai import CompactifAI

        docs_dir = files("compactifai") / "data" / "docs"
        documents = [
            Document(text=path.read_text(encoding="utf-8"), metadata={"file_name": path.name})
            for path in sorted(docs_dir.iterdir(), key=lambda p: p.name)
            if path.name.endswith(".md")
        ]
        nodes = SentenceSplitter(chunk_size=256, chunk_overlap=0).get_nodes_from_documents(
            documents
        )
        self.out.print(
            f"[dim]{len(documents)} bundled documents, {len(nodes)} chunks, BM25 retrieval "
            "(top 2) → RetrieverQueryEngine(llm=CompactifAI(...), streaming=True)[/]"
        )
        retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=2)
        llm = CompactifAI(
            model=self.model,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            temperature=0,
            max_tokens=256,
        )
        engine = RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=True)
        self.out.print(f"[bold]Q:[/] {safe_text(RAG_QUESTION)}")
        with (
            self.spinner("Retrieving and waiting for the first token…") as first_token,
            metered() as meter,
        ):
            response = engine.query(RAG_QUESTION)
            self.write("A: ")
            for piece in response.response_gen:  # type: ignore[union-attr]
                if piece:
                    first_token()
                    self.write(piece)
        self.out.print()
        if meter.input_tokens is not None or meter.output_tokens is not None:
            self.count(self.model, meter.input_tokens or 0, meter.output_tokens or 0)
        self.out.print("[bold]Sources:[/]")
        for source in response.source_nodes:
            name = source.node.metadata.get("file_name", "?")
            score = f"{source.score:.2f}" if source.score is not None else "-"
            self.out.print(f"  • {safe_text(str(name))} [dim](BM25 score {score})[/]")

    # -- step 5 ----------------------------------------------------------------------------
    def usage(self, client: CompactifAIClient) -> None:
        from compactifai.errors import NotFoundError

        if self.counted:
            self.out.print("Tokens this session, per model, as the responses reported them:")
            print_table(self.out, bar_chart([(m, i, o) for m, (i, o) in self.counted.items()]))
            self.out.print("[dim]█ input  ▒ output[/]")
        else:
            self.out.print("The responses reported no token usage this session.")
        start = self.started.replace(second=0, microsecond=0) - timedelta(minutes=1)
        try:
            report = client.get_usage(start, window_size="MINUTE", group_by=["model"])
        except NotFoundError:
            self.out.print(
                "[dim]This server has no usage statistics endpoint (POST /usage/completions "
                "answers 404; the live service removed it on 2026-03-24: usage is on the "
                "CompactifAI Dashboard).[/]"
            )
            return
        per_model: dict[str, list[int]] = {}
        for row in report.data:
            model = str(row.group_by.get("model", "?"))
            acc = per_model.setdefault(model, [0, 0])
            acc[0] += row.input_token
            acc[1] += row.output_token
        if not per_model:
            self.out.print("The usage statistics endpoint has nothing yet for this session.")
            return
        self.out.print(
            f"The server's usage statistics since {start.strftime('%H:%M')} UTC, per model:"
        )
        print_table(self.out, bar_chart([(m, i, o) for m, (i, o) in per_model.items()]))


def _run(args: argparse.Namespace) -> int:
    from compactifai import CompactifAIClient

    out = console()
    with ExitStack() as stack:
        connection = stack.enter_context(service_or_emulator(args, args.chunk_delay))
        out.print(connection.notice, highlight=False, soft_wrap=True)
        base_url, api_key = connection.base_url, connection.api_key
        session = _Session(out, base_url, api_key, args.timeout)
        client = stack.enter_context(
            CompactifAIClient(api_key=api_key, base_url=base_url, timeout=args.timeout)
        )
        started = time.perf_counter()
        try:
            session.step(1, "Model catalog", lambda: session.catalog(client, args.model))
        except DemoFailure as exc:
            print(f"error: {safe_text(exc, markup=False)}", file=sys.stderr)
            return 1
        session.step(2, "LangChain LCEL chain, streaming", session.lcel_chain)
        session.step(3, "LangChain agent calling a tool", session.agent)
        session.step(4, "LlamaIndex RAG over the bundled docs (BM25)", session.rag)
        session.step(5, "Token usage this session", lambda: session.usage(client))
        out.print()
        out.print(f"[bold green]Demo complete[/] in {time.perf_counter() - started:.1f} s.")
    return 0


run = guarded(_run, extra="all")
