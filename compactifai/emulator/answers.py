"""Deterministic "model" behind the emulator: extractive answers, tool calls and JSON output.

Nothing here is a language model. Answers are *extractive*: the sentences of the conversation
most related to the last question (word overlap weighted by rarity, ties broken by order), so a
RAG prompt gets back its most relevant context sentence(s) and a test can tell an answer from an
echo. Tool arguments and structured output come from one JSON-schema-driven value generator fed
by the numbers, quoted strings, names and keywords of the last user message.

Everything is a pure function of the request (plus the emulator's seed), so identical requests
give identical output; ``temperature > 0`` varies the output with an RNG seeded by a hash of the
request and the temperature.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .conversation import Generated, ToolCall, ToolSpec, Turn
from .schema_values import QUOTED_RE, SchemaValueGenerator, ValueSource
from .tokenizer import WORD_RE, content_words, count_tokens, split_sentences, stem_of
from .words import NO_CONTEXT_TEMPLATES, OPENERS

__all__ = ["AnswerStyle", "Generator"]

_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_LINE_RE = re.compile(r"^\s*(?:query|question|q|user question)\s*:\s*(.+)$", re.IGNORECASE)
_ANSWER_LINE_RE = re.compile(r"^\s*(?:answer|a|response|helpful answer)\s*:\s*$", re.IGNORECASE)

# ReAct agents (LlamaIndex's ReActAgent, LangChain's create_react_agent) describe their tools in
# the system prompt and expect "Thought/Action/Action Input" text instead of native tool calls.
_REACT_TOOL_RE = re.compile(r"^> Tool Name: (\S+)[ \t]*$", re.MULTILINE)
_REACT_ARGS_RE = re.compile(r"^Tool Args: (\{.*\})[ \t]*$", re.MULTILINE)
_REACT_OBSERVATION_RE = re.compile(r"^\s*Observation:\s*(.*)$", re.DOTALL)


def _react_tools(system_text: str) -> list[ToolSpec]:
    """The tools a ReAct system prompt lists (``> Tool Name:`` blocks with ``Tool Args:``)."""
    if "Action Input:" not in system_text:
        return []
    starts = list(_REACT_TOOL_RE.finditer(system_text))
    tools: list[ToolSpec] = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(system_text)
        block = system_text[match.end() : end]
        args = _REACT_ARGS_RE.search(block)
        try:
            parameters = json.loads(args.group(1)) if args else None
        except ValueError:
            parameters = None
        tools.append(ToolSpec(match.group(1), block.strip()[:500], parameters))
    return tools


@dataclass(frozen=True)
class AnswerStyle:
    """How a model picks the sentences of an extractive answer.

    Real models answer the same prompt differently; the emulator's stand-in is that each model
    id gets its own style (a pure function of the id and the seed), so a side-by-side
    comparison of two models on the emulator shows answers that agree on some prompts and not
    on others. Tool calls and structured output do not depend on it.
    """

    threshold: float = 0.5
    """A sentence joins the best one when it scores at least this share of the best score."""
    max_sentences: int = 3

    @classmethod
    def of_model(cls, model: str, seed: int = 0) -> AnswerStyle:
        digest = hashlib.sha256(f"{seed}|{model}".encode()).digest()
        return cls(threshold=0.35 + digest[0] / 255 * 0.5, max_sentences=1 + digest[1] % 3)


class Generator:
    """Turns a conversation into the emulator's deterministic reply."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # -- randomness ---------------------------------------------------------------------------
    def _rng(self, turns: Sequence[Turn], temperature: float | None) -> random.Random | None:
        if not temperature:
            return None
        h = hashlib.sha256(f"{self.seed}|{temperature!r}".encode())
        for t in turns:
            h.update(f"\x00{t.role}\x00{t.text}".encode())
        return random.Random(int.from_bytes(h.digest()[:8], "big"))

    # -- question / context -------------------------------------------------------------------
    @staticmethod
    def _last_user_index(turns: Sequence[Turn]) -> int:
        for i in range(len(turns) - 1, -1, -1):
            if turns[i].role == "user":
                return i
        return -1

    @staticmethod
    def split_question(text: str) -> tuple[str, list[str]]:
        """(question, other sentences) of a user message that may embed retrieved context."""
        lines = text.splitlines()
        while lines and (not lines[-1].strip() or _ANSWER_LINE_RE.match(lines[-1])):
            lines.pop()
        for i in range(len(lines) - 1, -1, -1):
            m = _LABEL_LINE_RE.match(lines[i])
            if m:
                rest = lines[:i] + lines[i + 1 :]
                return m.group(1).strip(), split_sentences("\n".join(rest))
        sentences = split_sentences("\n".join(lines))
        if len(sentences) <= 1:
            return (sentences[0] if sentences else text.strip()), []
        q_index = len(sentences) - 1
        for i in range(len(sentences) - 1, -1, -1):
            if sentences[i].endswith("?"):
                q_index = i
                break
        return sentences[q_index], sentences[:q_index] + sentences[q_index + 1 :]

    def _question_and_context(self, turns: Sequence[Turn]) -> tuple[str, list[str]]:
        last_user = self._last_user_index(turns)
        context: list[str] = []
        question = ""
        for i, turn in enumerate(turns):
            if i == last_user:
                question, rest = self.split_question(turn.text)
                context.extend(rest)
            elif turn.text:
                context.extend(split_sentences(turn.text))
        return question, context

    def style(self, model: str | None) -> AnswerStyle:
        """The answer style of ``model`` (the default style when no model is named)."""
        return AnswerStyle() if model is None else AnswerStyle.of_model(model, self.seed)

    def extractive_answer(
        self,
        turns: Sequence[Turn],
        rng: random.Random | None = None,
        budget: int = 200,
        style: AnswerStyle = AnswerStyle(),
    ) -> str:
        question, context = self._question_and_context(turns)
        keywords = content_words(question)
        stems = {stem_of(k) for k in keywords}
        if not question.strip() and not context:
            return "Hello! How can I help you today?"
        q_norm = question.strip().lower()
        candidates: list[tuple[str, set[str]]] = []
        seen: set[str] = set()
        for sentence in context:
            low = sentence.lower()
            if low == q_norm or low in seen:
                continue
            seen.add(low)
            candidates.append((sentence, {stem_of(w) for w in WORD_RE.findall(sentence)}))
        scored: list[tuple[float, int, str]] = []
        if stems and candidates:
            n = len(candidates)
            df = {s: sum(1 for _, words in candidates if s in words) for s in stems}
            for order, (sentence, words) in enumerate(candidates):
                score = sum(1.0 + math.log(1 + n / df[s]) for s in stems if s in words)
                if score > 0:
                    scored.append((score, order, sentence))
        if not scored:
            if not keywords:
                return "Hello! How can I help you today?"
            kw = " ".join(keywords[:5])
            template = NO_CONTEXT_TEMPLATES[0 if rng is None else rng.randrange(3)]
            return template.format(kw=kw)
        scored.sort(key=lambda x: (-x[0], x[1]))
        best = scored[0][0]
        chosen = [s for score, _, s in scored if score >= best * style.threshold]
        chosen = chosen[: style.max_sentences]
        if rng is not None and len(chosen) > 1:
            tail = chosen[1:]
            rng.shuffle(tail)
            chosen = [chosen[0], *tail[: rng.randint(0, len(tail))]]
        out: list[str] = []
        used = 0
        for sentence in chosen:
            size = count_tokens(sentence)
            if out and used + size > budget:
                break
            out.append(sentence)
            used += size
        opener = "" if rng is None else OPENERS[rng.randrange(len(OPENERS))]
        return opener + " ".join(out)

    # -- tools --------------------------------------------------------------------------------
    @staticmethod
    def _tool_results_since(turns: Sequence[Turn], start: int) -> list[tuple[str, str]]:
        names: dict[str, str] = {}
        results: list[tuple[str, str]] = []
        for turn in turns[start + 1 :]:
            for call in turn.tool_calls:
                names[call.id] = call.name
            if turn.role == "tool":
                results.append((names.get(turn.tool_call_id or "", "") or "the tool", turn.text))
            elif turn.role == "function":
                results.append((turn.name or "the function", turn.text))
        return results

    def _called_since(self, turns: Sequence[Turn], start: int) -> set[str]:
        called: set[str] = set()
        for turn in turns[start + 1 :]:
            for call in turn.tool_calls:
                called.add(call.name)
            if turn.role == "function" and turn.name:
                called.add(turn.name)
        return called

    def tool_arguments(
        self, tool: ToolSpec, turns: Sequence[Turn], tools: Sequence[ToolSpec]
    ) -> str:
        last_user = self._last_user_index(turns)
        text = turns[last_user].text if last_user >= 0 else ""
        source = ValueSource(
            text,
            answer=lambda: self.extractive_answer(turns),
            exclude=[t.name for t in tools],
        )
        schema = tool.parameters or {}
        if not schema or not (
            schema.get("properties") or schema.get("$ref") or schema.get("anyOf")
        ):
            value: Any = (
                {}
                if not schema.get("required")
                else SchemaValueGenerator(schema, source).generate()
            )
        else:
            value = SchemaValueGenerator(schema, source).generate()
        if not isinstance(value, dict):
            value = {}
        return json.dumps(value, ensure_ascii=False)

    @staticmethod
    def _most_relevant(tools: Sequence[ToolSpec], text: str) -> ToolSpec:
        lower = text.lower()
        words = {stem_of(w) for w in WORD_RE.findall(text)}
        best: tuple[float, int] = (-1.0, 0)
        for i, tool in enumerate(tools):
            score = len(tool.words() & words) + (5.0 if tool.mentioned_at(lower) >= 0 else 0.0)
            if score > best[0]:
                best = (score, i)
        return tools[best[1]]

    def react_reply(self, turns: Sequence[Turn]) -> str | None:
        """ReAct-format text when the system prompt asks for it; ``None`` otherwise.

        Calls a tool the task names (arguments from values in the task); after an
        ``Observation:`` answers with it; otherwise answers extractively.
        """
        system = "\n".join(t.text for t in turns if t.role in ("system", "developer"))
        tools = _react_tools(system)
        if not tools:
            return None
        observations: list[str] = []
        task = -1
        for i in range(len(turns) - 1, -1, -1):
            if turns[i].role != "user":
                continue
            observation = _REACT_OBSERVATION_RE.match(turns[i].text)
            if observation is None:
                task = i
                break
            observations.append(" ".join(observation.group(1).split()))
        if observations:
            return (
                "Thought: I can answer without using any more tools.\n"
                f"Answer: The result is {observations[0]}."
            )
        text = turns[task].text.lower() if task >= 0 else ""
        mentioned = sorted(
            (pos, i) for i, t in enumerate(tools) if (pos := t.mentioned_at(text)) >= 0
        )
        if mentioned:
            tool = tools[mentioned[0][1]]
            arguments = self.tool_arguments(tool, turns[: task + 1], tools)
            return (
                "Thought: I need to use a tool to help me answer the question.\n"
                f"Action: {tool.name}\nAction Input: {arguments}"
            )
        conversation = [t for t in turns if t.role not in ("system", "developer")]
        return (
            "Thought: I can answer without using any more tools.\n"
            f"Answer: {self.extractive_answer(conversation)}"
        )

    # -- entry points -------------------------------------------------------------------------
    def chat(
        self,
        turns: Sequence[Turn],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        new_call_id: Callable[[], str] = lambda: "chatcmpl-tool-0",
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Generated:
        """The reply to a conversation. ``tool_choice`` is ``none``/``auto``/``required`` or
        the name of the function to call; ``model`` picks the style of free-text answers;
        with a ``reasoning_effort`` the reply also carries the reasoning that led to it."""
        rng = self._rng(turns, temperature)
        reply = self._reply(turns, tools, tool_choice, response_format, rng, new_call_id, model)
        if reasoning_effort is not None:
            reply.reasoning = self.reasoning(turns, reply, reasoning_effort)
        return reply

    def _reply(
        self,
        turns: Sequence[Turn],
        tools: Sequence[ToolSpec],
        tool_choice: str | None,
        response_format: dict[str, Any] | None,
        rng: random.Random | None,
        new_call_id: Callable[[], str],
        model: str | None,
    ) -> Generated:
        last_user = self._last_user_index(turns)
        user_text = turns[last_user].text if last_user >= 0 else ""
        if tools and tool_choice != "none":
            chosen: ToolSpec | None = None
            if tool_choice in (None, "auto"):
                called = self._called_since(turns, last_user)
                lower = user_text.lower()
                mentioned = sorted(
                    (pos, i)
                    for i, t in enumerate(tools)
                    if t.name not in called and (pos := t.mentioned_at(lower)) >= 0
                )
                if mentioned:
                    chosen = tools[mentioned[0][1]]
            elif tool_choice == "required":
                chosen = self._most_relevant(tools, user_text)
            else:
                chosen = next((t for t in tools if t.name == tool_choice), None)
            if chosen is not None:
                call = ToolCall(
                    new_call_id(), chosen.name, self.tool_arguments(chosen, turns, tools)
                )
                return Generated("tool_calls", tool_calls=[call])
        if not tools:
            react = self.react_reply(turns)
            if react is not None:
                return Generated("text", text=react)
        rf_type = (response_format or {}).get("type")
        if rf_type in ("json_object", "json_schema"):
            return Generated("json", text=self.json_output(turns, response_format or {}, rng))
        if turns and turns[-1].role in ("tool", "function"):
            results = self._tool_results_since(turns, last_user)
            parts = []
            for name, content in results:
                content = " ".join(content.split())
                if len(content) > 400:
                    content = content[:400] + "..."
                parts.append(
                    f"The result of {name} is {content}."
                    if content
                    else f"{name} returned nothing."
                )
            return Generated("text", text=" ".join(parts))
        return Generated("text", text=self.extractive_answer(turns, rng, style=self.style(model)))

    def reasoning(self, turns: Sequence[Turn], reply: Generated, effort: str) -> str:
        """The thinking a reasoning model shows before ``reply``: what was asked, how the
        reply answers it; longer at higher efforts."""
        question, context = self._question_and_context(turns)
        question = " ".join(question.split())
        if len(question) > 200:
            question = question[:200] + "..."
        steps = [f'The user asks: "{question}".' if question else "There is no question yet."]
        if reply.kind == "tool_calls":
            for call in reply.tool_calls:
                steps.append(
                    f"The {call.name} tool can answer this, so I will call it with "
                    f"{call.arguments}."
                )
        elif reply.kind == "json":
            steps.append("The answer has to be a JSON value that follows the requested format.")
        elif turns and turns[-1].role in ("tool", "function"):
            steps.append("The tool results are in; I will report them.")
        elif context:
            steps.append(f"The conversation holds {len(context)} sentences of context to use.")
        else:
            steps.append("Nothing in the conversation covers it, so I will say so.")
        if effort in ("medium", "high", "xhigh", "max"):
            words = content_words(question)[:5]
            if words:
                steps.append(f"Key words: {', '.join(words)}.")
        if effort in ("high", "xhigh", "max"):
            steps.append("Let me check that the answer addresses the question before replying.")
        return " ".join(steps)

    def json_output(
        self,
        turns: Sequence[Turn],
        response_format: dict[str, Any],
        rng: random.Random | None = None,
    ) -> str:
        last_user = self._last_user_index(turns)
        text = turns[last_user].text if last_user >= 0 else ""
        results = self._tool_results_since(turns, last_user)
        if results:
            text = text + "\n" + "\n".join(content for _, content in results)
        source = ValueSource(text, answer=lambda: self.extractive_answer(turns, rng))
        if response_format.get("type") == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema") or {}
            value = SchemaValueGenerator(schema, source).generate()
        else:
            value = self._json_object(turns, source)
        return json.dumps(value, ensure_ascii=False)

    def _json_object(self, turns: Sequence[Turn], source: ValueSource) -> dict[str, Any]:
        keys: list[str] = []
        for turn in turns:
            if turn.role in ("system", "developer", "user"):
                for m in QUOTED_RE.finditer(turn.text):
                    value = next(g for g in m.groups() if g)
                    if _IDENTIFIER_RE.match(value) and value not in keys:
                        keys.append(value)
        if not keys:
            return {"answer": source.answer()}
        keys = keys[:12]
        keyed = ValueSource(source.text, answer=source.answer)
        keyed.quoted = [q for q in keyed.quoted if q.strip() and q not in keys]
        gen = SchemaValueGenerator({"type": "string"}, keyed)
        return {k: gen._string({}, k) for k in keys}

    def completion(
        self, prompt: str, temperature: float | None = None, model: str | None = None
    ) -> str:
        turns = [Turn("user", prompt)]
        return self.extractive_answer(turns, self._rng(turns, temperature), style=self.style(model))
