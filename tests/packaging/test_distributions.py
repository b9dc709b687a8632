"""The three distributions agree: one version, exact pins, the same metadata, no code copied.

Fast and offline: these read the ``pyproject.toml`` files and the build script's version handling.
Building and installing every wheel is ``scripts/build_dists.py`` + ``scripts/smoke_dists.py``
(run by ``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import compactifai
import llama_index_compactifai

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
MAIN_PYPROJECT = ROOT / "pyproject.toml"
LANGCHAIN_DIR = ROOT / "distributions" / "langchain-compactifai"
LLAMA_INDEX_DIR = ROOT / "distributions" / "llama-index-llms-compactifai"
SHIM_DIRS = {"langchain": LANGCHAIN_DIR, "llama-index": LLAMA_INDEX_DIR}
ALL_PYPROJECTS = [MAIN_PYPROJECT, *(d / "pyproject.toml" for d in SHIM_DIRS.values())]


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build_dists() -> ModuleType:
    """scripts/build_dists.py, the one command that builds the release."""
    return _load_module(ROOT / "scripts" / "build_dists.py", "_build_dists_under_test")


def _project(pyproject: Path) -> dict[str, Any]:
    with pyproject.open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def _toml(pyproject: Path) -> dict[str, Any]:
    with pyproject.open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


def test_main_distribution_reads_its_version_from_compactifai_version() -> None:
    data = _toml(MAIN_PYPROJECT)
    assert "version" not in data["project"]
    assert data["project"]["dynamic"] == ["version"]
    version_file = ROOT / data["tool"]["hatch"]["version"]["path"]
    assert version_file == ROOT / "compactifai" / "_version.py"
    assert f'__version__ = "{compactifai.__version__}"' in version_file.read_text()


@pytest.mark.parametrize("extra", list(SHIM_DIRS))
def test_thin_distributions_have_the_same_version_and_pin_it_exactly(extra: str) -> None:
    project = _project(SHIM_DIRS[extra] / "pyproject.toml")
    version = compactifai.__version__
    assert project["version"] == version
    assert project["dependencies"] == [f"compactifai-integrations[{extra}]=={version}"]
    # The pinned extra exists in the main distribution and brings the framework.
    extras = _project(MAIN_PYPROJECT)["optional-dependencies"]
    framework = {"langchain": "langchain-core", "llama-index": "llama-index-core"}[extra]
    assert any(req.startswith(framework) for req in extras[extra])


def test_build_script_reads_the_same_version_and_finds_no_drift(build_dists: ModuleType) -> None:
    assert build_dists.read_version() == compactifai.__version__
    assert build_dists.version_problems(compactifai.__version__) == []
    assert build_dists.main(["--check"]) == 0


def test_build_script_writes_a_new_version_into_every_thin_distribution(
    build_dists: ModuleType, tmp_path: Path
) -> None:
    shims = []
    for extra, directory in SHIM_DIRS.items():
        copy = tmp_path / directory.name
        shutil.copytree(directory, copy)
        shims.append(build_dists.Distribution(directory.name, copy, extra))
    shims_t = tuple(shims)

    problems = build_dists.version_problems("9.8.7", shims_t)
    assert len(problems) == 2 * len(shims_t)  # version and pin of each, named
    assert all("9.8.7" in p for p in problems)

    changed = build_dists.sync_versions("9.8.7", shims_t)
    assert sorted(changed) == sorted(s.pyproject for s in shims_t)
    for shim in shims_t:
        project = _project(shim.pyproject)
        assert project["version"] == "9.8.7"
        assert project["dependencies"] == [f"compactifai-integrations[{shim.extra}]==9.8.7"]
    assert build_dists.sync_versions("9.8.7", shims_t) == []  # idempotent: nothing to rewrite


def test_version_file_without_a_version_is_refused(build_dists: ModuleType, tmp_path: Path) -> None:
    broken = tmp_path / "_version.py"
    broken.write_text("VERSION = get_version()\n")
    with pytest.raises(SystemExit, match="__version__"):
        build_dists.read_version(broken)


def test_langchain_distribution_ships_no_code() -> None:
    assert not list(LANGCHAIN_DIR.rglob("*.py"))
    wheel = _toml(LANGCHAIN_DIR / "pyproject.toml")["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel == {"bypass-selection": True}


def test_llama_index_distribution_re_exports_the_one_class_under_llama_index_llms() -> None:
    data = _toml(LLAMA_INDEX_DIR / "pyproject.toml")
    package = LLAMA_INDEX_DIR / "llama_index" / "llms" / "compactifai"
    # Namespace packages: an __init__.py above compactifai/ would shadow llama-index-core's.
    assert not (LLAMA_INDEX_DIR / "llama_index" / "__init__.py").exists()
    assert not (LLAMA_INDEX_DIR / "llama_index" / "llms" / "__init__.py").exists()
    assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == [
        "__init__.py",
        "py.typed",
    ]
    wheel = data["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["only-include"] == ["llama_index/llms/compactifai"]

    shim = _load_module(package / "__init__.py", "_llama_index_llms_compactifai_under_test")
    assert shim.CompactifAI is llama_index_compactifai.CompactifAI
    assert shim.__all__ == ["CompactifAI"]

    llamahub = data["tool"]["llamahub"]
    assert llamahub["import_path"] == "llama_index.llms.compactifai"
    assert set(llamahub["class_authors"]) == set(shim.__all__)


@pytest.mark.parametrize("pyproject", ALL_PYPROJECTS, ids=lambda p: p.parent.name)
def test_every_distribution_has_complete_metadata(pyproject: Path) -> None:
    project = _project(pyproject)
    main = _project(MAIN_PYPROJECT)
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (pyproject.parent / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (pyproject.parent / project["readme"]).is_file()
    assert project["requires-python"] == main["requires-python"] == ">=3.10"
    assert project["urls"] == main["urls"]
    assert project["description"] and project["keywords"] and project["authors"]

    assert "Typing :: Typed" in project["classifiers"]
    pythons = _python_versions(project["classifiers"])
    assert pythons == _python_versions(main["classifiers"])
    assert pythons[0] == "3.10"  # requires-python's floor


def test_the_classifiers_promise_the_pythons_ci_runs_the_suite_on() -> None:
    """.ci/run runs the suite on python3 and on the oldest and newest version classified."""
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"^OTHER_PYTHONS=\(([^)]*)\)$", ci, re.M)
    assert match, "OTHER_PYTHONS=(...) not found in .ci/run"
    tested = match.group(1).split()
    classified = _python_versions(_project(MAIN_PYPROJECT)["classifiers"])
    assert [classified[0], classified[-1]] == [tested[0], tested[-1]]
    assert set(tested) <= set(classified)


def _python_versions(classifiers: list[str]) -> list[str]:
    prefix = "Programming Language :: Python :: "
    return [
        c[len(prefix) :]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]


def test_every_top_level_package_is_typed() -> None:
    packages = _toml(MAIN_PYPROJECT)["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert packages == ["compactifai", "langchain_compactifai", "llama_index_compactifai"]
    for package in packages:
        assert (ROOT / package / "py.typed").is_file()


def test_changelog_has_a_section_for_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    version = re.escape(compactifai.__version__)
    assert re.search(rf"^## \[{version}\] - (\d{{4}}-\d{{2}}-\d{{2}}|Unreleased)$", changelog, re.M)
    assert re.search(rf"^\[{version}\]: https://", changelog, re.M)


def test_readme_install_section_names_all_three_distributions() -> None:
    readme = (ROOT / "README.md").read_text()
    install = readme.split("## Install\n", 1)[1].split("\n## ", 1)[0]
    for name in (
        "langchain-compactifai",
        "llama-index-llms-compactifai",
        "compactifai-integrations",
    ):
        assert f"pip install {name}" in install
