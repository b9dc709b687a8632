"""Build every distribution of this repository into ``dist/``: ``python scripts/build_dists.py``.

The distributions, all released together with one version:

- ``compactifai-integrations`` (the top-level ``pyproject.toml``): all the code;
- ``langchain-compactifai`` (``distributions/langchain-compactifai``): no code, depends on
  ``compactifai-integrations[langchain]==<version>``;
- ``llama-index-llms-compactifai`` (``distributions/llama-index-llms-compactifai``): the
  ``llama_index.llms.compactifai`` re-export, depends on
  ``compactifai-integrations[llama-index]==<version>``.

The version is written in one place, ``compactifai/_version.py``: hatchling reads it for the main
distribution (``[tool.hatch.version]``), and this script writes it into the two thin
distributions' ``pyproject.toml`` (their ``version`` and their ``==`` pin) before building. Their
files stay static and self-contained (an sdist of them builds anywhere, and LlamaHub's tooling reads
their ``pyproject.toml``), and ``tests/packaging`` fails if a committed copy disagrees with
``_version.py``. A release therefore edits ``_version.py`` and ``CHANGELOG.md``, runs this script
and commits what it changed.

Steps: sync the version (``--check`` only reports a difference and exits 1), remove earlier builds
of these distributions from the output directory, ``python -m build`` each distribution (the sdist,
then the wheel built from that sdist, so an sdist missing a file fails here), and
``twine check --strict`` everything built. Exit status is non-zero on any failure.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "compactifai" / "_version.py"
MAIN_NAME = "compactifai-integrations"


@dataclass(frozen=True)
class Distribution:
    name: str
    path: Path
    # The extra of compactifai-integrations a thin distribution pins; None for the main one.
    extra: str | None = None

    @property
    def pyproject(self) -> Path:
        return self.path / "pyproject.toml"

    @property
    def file_stem(self) -> str:
        """The name as it starts wheel and sdist file names (PEP 625/427 normalisation)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    def pin(self, version: str) -> str:
        return f"{MAIN_NAME}[{self.extra}]=={version}"


MAIN = Distribution(MAIN_NAME, ROOT)
SHIMS = (
    Distribution(
        "langchain-compactifai", ROOT / "distributions" / "langchain-compactifai", "langchain"
    ),
    Distribution(
        "llama-index-llms-compactifai",
        ROOT / "distributions" / "llama-index-llms-compactifai",
        "llama-index",
    ),
)
DISTRIBUTIONS = (MAIN, *SHIMS)


def read_version(version_file: Path = VERSION_FILE) -> str:
    """``__version__`` from ``compactifai/_version.py``, read without importing the package."""
    for node in ast.parse(version_file.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise SystemExit(f'{version_file}: no `__version__ = "..."` assignment')


def load_pyproject(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


def version_problems(version: str, shims: tuple[Distribution, ...] = SHIMS) -> list[str]:
    """How the thin distributions' ``pyproject.toml`` differ from ``version`` (empty: in sync)."""
    problems = []
    for shim in shims:
        project = load_pyproject(shim.pyproject)["project"]
        if project.get("version") != version:
            problems.append(f"{shim.pyproject}: version {project.get('version')!r} != {version!r}")
        pins = [d for d in project.get("dependencies", []) if d.startswith(MAIN_NAME)]
        if pins != [shim.pin(version)]:
            problems.append(f"{shim.pyproject}: dependencies {pins} != [{shim.pin(version)!r}]")
    return problems


def sync_versions(version: str, shims: tuple[Distribution, ...] = SHIMS) -> list[Path]:
    """Write ``version`` into the thin distributions' ``pyproject.toml``; return the files changed."""
    changed = []
    for shim in shims:
        text = shim.pyproject.read_text(encoding="utf-8")
        new, n_version = re.subn(
            r'^version = "[^"]*"$', f'version = "{version}"', text, count=1, flags=re.M
        )
        new, n_pin = re.subn(
            rf'"{re.escape(MAIN_NAME)}\[{re.escape(shim.extra or "")}\]==[^"]*"',
            f'"{shim.pin(version)}"',
            new,
        )
        if n_version != 1 or n_pin != 1:
            raise SystemExit(
                f'{shim.pyproject}: expected one `version = "..."` line and one '
                f'"{MAIN_NAME}[{shim.extra}]==..." dependency'
            )
        if new != text:
            shim.pyproject.write_text(new, encoding="utf-8")
            changed.append(shim.pyproject)
    problems = version_problems(version, shims)
    if problems:  # the rewrite did not produce what the checker reads
        raise SystemExit("\n".join(problems))
    return changed


def artifacts(outdir: Path, version: str | None = None) -> list[Path]:
    """This repository's wheels and sdists in ``outdir`` (of ``version``, or of any version)."""
    found = []
    for dist in DISTRIBUTIONS:
        tag = f"{dist.file_stem}-{version}" if version else f"{dist.file_stem}-*"
        found += sorted(outdir.glob(f"{tag}-*.whl")) + sorted(outdir.glob(f"{tag}.tar.gz"))
    return found


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--outdir", type=Path, default=ROOT / "dist", help="where to put the builds (default dist/)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the thin distributions carry compactifai/_version.py's version",
    )
    args = parser.parse_args(argv)
    version = read_version()

    if args.check:
        problems = version_problems(version)
        print("\n".join(problems) or f"all distributions at {version}")
        return 1 if problems else 0

    for path in sync_versions(version):
        print(f"wrote version {version} into {path.relative_to(ROOT)}")

    started = time.monotonic()
    outdir: Path = args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in artifacts(outdir):
        stale.unlink()
    try:
        for dist in DISTRIBUTIONS:
            run([sys.executable, "-m", "build", "--outdir", str(outdir), str(dist.path)])
        built = artifacts(outdir, version)
        if len(built) != 2 * len(DISTRIBUTIONS):
            names = ", ".join(p.name for p in built)
            print(f"expected a wheel and an sdist of each distribution, found: {names}")
            return 1
        run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)])
    except subprocess.CalledProcessError as exc:
        print(f"failed ({exc.returncode}): {' '.join(map(str, exc.cmd))}", file=sys.stderr)
        return 1
    print(f"built {len(built)} files into {outdir} in {time.monotonic() - started:.0f} s:")
    for path in built:
        print(f"  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
