"""Checks run INSIDE the fresh venvs by scripts/smoke_dists.py: ``python -I smoke_checks.py WHAT``.

``WHAT`` is ``core``, ``langchain`` or ``llama-index``. Copied out of the repository before it runs,
so that nothing of the checkout can be imported; every module is asserted to come from the venv.
``EXPECTED_VERSION`` is the version all distributions must report; the LangChain and LlamaIndex
checks talk to the emulator named by ``COMPACTIFAI_BASE_URL``, on the library's default model.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
from pathlib import Path
from types import ModuleType

EXPECTED_VERSION = os.environ["EXPECTED_VERSION"]


def from_venv(module: ModuleType) -> Path:
    where = Path(module.__file__ or "").resolve()
    assert Path(sys.prefix).resolve() in where.parents, f"{module.__name__} imported from {where}"
    return where


def versions(*distributions: str) -> None:
    found = {name: md.version(name) for name in distributions}
    assert set(found.values()) == {EXPECTED_VERSION}, f"{found} != {EXPECTED_VERSION}"


def core() -> None:
    import compactifai
    import compactifai.emulator

    from_venv(compactifai.emulator)
    versions("compactifai-integrations")
    assert compactifai.__version__ == EXPECTED_VERSION, compactifai.__version__
    print(f"compactifai {compactifai.__version__} from {from_venv(compactifai).parent}")


def langchain() -> None:
    import langchain_compactifai
    from compactifai.catalog import DEFAULT_CHAT_MODEL
    from langchain_compactifai import ChatCompactifAI, CompactifAI

    from_venv(langchain_compactifai)
    versions("langchain-compactifai", "compactifai-integrations")

    llm = ChatCompactifAI(temperature=0, max_tokens=64)
    assert llm.model_name == DEFAULT_CHAT_MODEL, llm.model_name
    msg = llm.invoke([("system", "Answer briefly."), ("human", "What is CompactifAI?")])
    assert msg.text.strip(), msg
    assert msg.usage_metadata and msg.usage_metadata["total_tokens"] > 0, msg.usage_metadata
    streamed = "".join(chunk.text for chunk in llm.stream("Explain tensor networks briefly."))
    assert streamed.strip(), "empty stream"
    completion = CompactifAI(max_tokens=16).invoke("Tensor networks are")
    assert completion.strip(), "empty completion"
    print(
        f"langchain_compactifai.ChatCompactifAI ({DEFAULT_CHAT_MODEL}) answered "
        f"{len(msg.text)} chars, streamed {len(streamed)}; CompactifAI completed {len(completion)}"
    )


def llama_index() -> None:
    import llama_index.core
    import llama_index.llms  # type: ignore[import-untyped]  # namespace package
    import llama_index.llms.compactifai as shim  # type: ignore[import-untyped]  # not in this venv
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.compactifai import CompactifAI

    import llama_index_compactifai
    from compactifai.catalog import DEFAULT_CHAT_MODEL

    for module in (shim, llama_index_compactifai, llama_index.core):
        from_venv(module)
    for namespace in (llama_index, llama_index.llms):
        # An __init__.py here would hide llama-index-core's and the other integrations' modules.
        assert getattr(namespace, "__file__", None) is None, (
            f"{namespace.__name__} is not a namespace"
        )
    assert CompactifAI is llama_index_compactifai.CompactifAI
    versions("llama-index-llms-compactifai", "compactifai-integrations")

    llm = CompactifAI(temperature=0, max_tokens=64)
    assert llm.model == DEFAULT_CHAT_MODEL, llm.model
    answer = llm.complete("What is tensor-network compression?")
    assert answer.text.strip(), answer
    chat = [ChatMessage(role="user", content="Hi")]
    streamed = "".join(item.delta or "" for item in llm.stream_chat(chat))
    assert streamed.strip(), "empty stream"
    print(
        f"llama_index.llms.compactifai.CompactifAI ({DEFAULT_CHAT_MODEL}) answered "
        f"{len(answer.text)} chars, streamed {len(streamed)}"
    )


CHECKS = {"core": core, "langchain": langchain, "llama-index": llama_index}

if __name__ == "__main__":
    CHECKS[sys.argv[1]]()
