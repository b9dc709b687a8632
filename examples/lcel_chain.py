"""An LCEL chain: prompt | ChatCompactifAI | parser, invoked, streamed and batched.

The default model, hypernova-60b, is a reasoning model: the parser keeps only the answer, and
the message without the parser carries the thinking in ``additional_kwargs["reasoning_content"]``.

Run: python examples/lcel_chain.py   (offline emulator without COMPACTIFAI_API_KEY)
"""

from __future__ import annotations

from _server import compactifai_or_emulator
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from langchain_compactifai import ChatCompactifAI

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a concise assistant. Answer from the text given."),
        ("human", "Answer from this text.\n\n{text}\n\nQuestion: {question}"),
    ]
)


def build_llm(model: str = "hypernova-60b") -> ChatCompactifAI:
    return ChatCompactifAI(model=model, temperature=0, max_tokens=256, reasoning_effort="low")


def build_chain(model: str = "hypernova-60b") -> Runnable[dict[str, str], str]:
    return PROMPT | build_llm(model) | StrOutputParser()


def main() -> None:
    chain = build_chain()
    text = "The Eiffel Tower is in Paris and was completed in 1889."

    message = (PROMPT | build_llm()).invoke({"text": text, "question": "Where is the tower?"})
    print("thinking:", message.additional_kwargs.get("reasoning_content") or "(none)")
    print("answer:", message.text)

    print("invoke:", chain.invoke({"text": text, "question": "When was the tower completed?"}))

    print("stream: ", end="")
    for piece in chain.stream({"text": text, "question": "Where is the Eiffel Tower?"}):
        print(piece, end="", flush=True)
    print()

    answers = chain.batch(
        [
            {"text": "Mount Fuji is 3776 metres high.", "question": "How high is Mount Fuji?"},
            {"text": "The Danube flows into the Black Sea.", "question": "Where does it flow?"},
        ]
    )
    for answer in answers:
        print("batch:", answer)


if __name__ == "__main__":
    with compactifai_or_emulator():
        main()
