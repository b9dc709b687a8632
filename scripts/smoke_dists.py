"""Install-test the built distributions: ``python scripts/smoke_dists.py`` (after build_dists.py).

Checks, exiting non-zero on the first failure:

1. The wheels' contents: the main wheel carries every file of the three packages in this checkout
   (modules, ``py.typed`` of each, the emulator's data and ``compactifai/data``) and nothing else
   (no tests, cassettes, bench or examples); ``langchain-compactifai`` is metadata only;
   ``llama-index-llms-compactifai`` carries only ``llama_index/llms/compactifai`` (no
   ``__init__.py`` above it); the thin distributions pin the main one at the same version.
2. Each distribution installed into a fresh venv from this build's wheels alone (a thin one with
   the main wheel it pins: ``pip install langchain_compactifai-*.whl compactifai_integrations-*.whl``,
   the rest from the package index), run from a temporary directory (no editable install, the
   repository nowhere on ``sys.path``), then ``pip check``:

   - ``compactifai-integrations[emulator]``: ``compactifai --help`` runs, and
     ``compactifai emulator`` (from the wheel, with its data files) serves on a free loopback port;
   - ``langchain-compactifai``: the README's LangChain quick start and a chat round trip answer
     through that emulator (``COMPACTIFAI_BASE_URL``), on the library's default model;
   - ``llama-index-llms-compactifai``: ``from llama_index.llms.compactifai import CompactifAI``
     is the same class as ``llama_index_compactifai.CompactifAI``, beside llama-index-core's own
     ``llama_index`` packages, and it and the README's LlamaIndex quick start answer.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

from build_dists import DISTRIBUTIONS, MAIN, ROOT, SHIMS, Distribution, read_version

PACKAGES = ("compactifai", "langchain_compactifai", "llama_index_compactifai")
# Directories of the repository that must never end up in a wheel.
REPO_ONLY = ("tests/", "cassettes/", "bench/", "examples/", "scripts/", "distributions/", ".ci/")
LANGCHAIN, LLAMA_INDEX = SHIMS
EMULATOR_START_TIMEOUT = 60.0
EMULATOR_KEY = "smoke-test-key"
STEP_TIMEOUT = 600.0


class SmokeError(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeError(message)


STARTED = time.monotonic()


def step(title: str) -> None:
    print(f"\n== [{time.monotonic() - STARTED:4.0f} s] {title}", flush=True)


# ---------------------------------------------------------------------------------------------
# 1. What the wheels carry
# ---------------------------------------------------------------------------------------------


def find_artifacts(dist_dir: Path, version: str) -> dict[str, Path]:
    """The wheel of each distribution at ``version`` (and check its sdist is there too)."""
    wheels = {}
    for dist in DISTRIBUTIONS:
        found = sorted(dist_dir.glob(f"{dist.file_stem}-{version}-*.whl"))
        check(
            len(found) == 1,
            f"expected one {dist.name} {version} wheel in {dist_dir}, found {[p.name for p in found]}"
            " (run python scripts/build_dists.py)",
        )
        sdist = dist_dir / f"{dist.file_stem}-{version}.tar.gz"
        check(sdist.is_file(), f"missing sdist {sdist.name}")
        wheels[dist.name] = found[0]
    return wheels


def wheel_metadata(
    wheel: zipfile.ZipFile, dist_info: str
) -> tuple[list[str], dict[str, list[str]]]:
    names = wheel.namelist()
    check(f"{dist_info}/METADATA" in names, f"{wheel.filename}: no {dist_info}/METADATA")
    message = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    fields = {key: message.get_all(key) or [] for key in set(message.keys())}
    return names, fields


def package_files_in_checkout() -> list[str]:
    """Every file of the three packages in this checkout, as wheel paths (caches excluded)."""
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path.relative_to(ROOT).as_posix())
    return files


def check_main_wheel(path: Path, version: str) -> None:
    dist_info = f"{MAIN.file_stem}-{version}.dist-info"
    with zipfile.ZipFile(path) as wheel:
        names, meta = wheel_metadata(wheel, dist_info)
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    shipped = set(names)

    expected = package_files_in_checkout()
    missing = [f for f in expected if f not in shipped]
    check(not missing, f"{path.name} lacks files of the checkout: {missing}")
    for package in PACKAGES:
        check(f"{package}/py.typed" in shipped, f"{path.name} lacks {package}/py.typed")
    data = [f for f in expected if f.startswith(("compactifai/emulator/", "compactifai/data/"))]
    data = [f for f in data if not f.endswith(".py")]
    check(
        any(f.startswith("compactifai/data/") for f in data),
        "no compactifai/data files found in the checkout",
    )

    allowed = (*(f"{p}/" for p in PACKAGES), f"{dist_info}/")
    strays = [n for n in names if not n.startswith(allowed)]
    check(not strays, f"{path.name} carries files outside the packages: {strays}")
    leaked = [n for n in names if n.startswith(REPO_ONLY) or n.endswith(".pyc")]
    leaked += [n for n in names if "/tests/" in n or "/cassettes/" in n]
    check(not leaked, f"{path.name} carries tests, cassettes or caches: {leaked}")

    check(meta.get("Version") == [version], f"{path.name}: Version {meta.get('Version')}")
    check(meta.get("License-Expression") == ["MIT"], f"{path.name}: no MIT License-Expression")
    check("Typing :: Typed" in meta.get("Classifier", []), f"{path.name}: no Typing :: Typed")
    check(meta.get("Requires-Python"), f"{path.name}: no Requires-Python")
    check(
        re.search(r"^compactifai\s*=\s*compactifai\.cli:main$", entry_points, re.M),
        f"{path.name}: no `compactifai` console script",
    )
    print(
        f"{path.name}: {len(expected)} package files incl. py.typed x3 and {len(data)} data files "
        "(compactifai/emulator, compactifai/data); no tests or cassettes"
    )


def check_shim_wheel(path: Path, dist: Distribution, version: str) -> None:
    dist_info = f"{dist.file_stem}-{version}.dist-info"
    with zipfile.ZipFile(path) as wheel:
        names, meta = wheel_metadata(wheel, dist_info)
    files = sorted(n for n in names if not n.startswith(f"{dist_info}/"))
    if dist is LANGCHAIN:
        check(files == [], f"{path.name} must ship no code (the module is in {MAIN.name}): {files}")
    else:
        package = "llama_index/llms/compactifai/"
        check(
            files == [f"{package}__init__.py", f"{package}py.typed"],
            f"{path.name} must ship only {package}__init__.py and py.typed: {files}",
        )
    check(meta.get("Version") == [version], f"{path.name}: Version {meta.get('Version')}")
    pins = [r for r in meta.get("Requires-Dist", []) if r.startswith(MAIN.name)]
    check(
        pins == [dist.pin(version)], f"{path.name}: Requires-Dist {pins} != [{dist.pin(version)}]"
    )
    check(meta.get("License-Expression") == ["MIT"], f"{path.name}: no MIT License-Expression")
    check("Typing :: Typed" in meta.get("Classifier", []), f"{path.name}: no Typing :: Typed")
    print(f"{path.name}: {files or 'metadata only'}; requires {pins[0]}")


# ---------------------------------------------------------------------------------------------
# 2. Fresh venvs, outside the repository
# ---------------------------------------------------------------------------------------------


class Venv:
    def __init__(self, path: Path, workdir: Path) -> None:
        self.path = path
        self.workdir = workdir
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        self.bin = path / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "COMPACTIFAI_")) and k != "VIRTUAL_ENV"
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        env["EXPECTED_VERSION"] = read_version()
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> str:
        print("+", " ".join(args), flush=True)
        done = subprocess.run(
            list(args),
            cwd=self.workdir,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        if done.returncode != 0:
            raise SmokeError(
                f"exit {done.returncode}: {' '.join(args)}\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
            )
        return done.stdout

    def pip_install(self, *requirements: str) -> None:
        # --no-compile: byte-compiling all of llama-index-core and langchain-core would be most of
        # the install time; the smoke run compiles only what it imports.
        self.run(
            str(self.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-input", "--no-compile", *requirements,
        )  # fmt: skip
        self.run(str(self.python), "-m", "pip", "check", "--disable-pip-version-check")

    def python_script(self, name: str, source: str, **env: str) -> str:
        script = self.workdir / name
        script.write_text(source, encoding="utf-8")
        # -I: no PYTHONPATH, no user site, and not the script's directory first on sys.path.
        return self.run(str(self.python), "-I", str(script), **env)

    def check(self, what: str, **env: str) -> str:
        """scripts/smoke_checks.py's ``what`` checks, run from a copy outside the repository."""
        source = (Path(__file__).with_name("smoke_checks.py")).read_text(encoding="utf-8")
        script = self.workdir / "smoke_checks.py"
        script.write_text(source, encoding="utf-8")
        return self.run(str(self.python), "-I", str(script), what, **env)


def readme_quick_start(section: str) -> str:
    """The first Python block of the README's ``## <section>``, on the library's default model.

    Model ids in the README follow the live catalog; the emulator of the same build serves the
    library's default model, so explicit ``model="..."`` arguments are dropped.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    check(match, f"README.md has no '## {section}' section")
    assert match is not None
    block = re.search(r"^```python\n(.*?)^```", match.group(1), re.S | re.M)
    check(block, f"README.md's '## {section}' has no python block")
    assert block is not None
    return re.sub(r"""\bmodel\s*=\s*(["'])[^"']*\1\s*,?\s*""", "", block.group(1))


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_emulator(core: Venv, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``compactifai emulator`` from the core venv on a free loopback port; (process, base URL).

    Ready when ``GET /v1/models`` answers 200 with the key, so nothing depends on its output.
    """
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = [
        str(core.bin / "compactifai"), "emulator",
        "--host", "127.0.0.1", "--port", str(port), "--api-key", EMULATOR_KEY,
    ]  # fmt: skip
    print("+", " ".join(cmd), flush=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=core.workdir, env=core.env(), stdout=out, stderr=out)
    request = urllib.request.Request(
        f"{base_url}/models", headers={"Authorization": f"Bearer {EMULATOR_KEY}"}
    )
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return proc, base_url
        except OSError:  # not listening yet (URLError and connection errors are OSErrors)
            time.sleep(0.3)
    stop(proc)
    raise SmokeError(f"compactifai emulator did not answer on {base_url}:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def smoke(dist_dir: Path, keep: bool) -> None:
    version = read_version()
    step(f"wheels of {version} in {dist_dir}")
    wheels = find_artifacts(dist_dir, version)
    check_main_wheel(wheels[MAIN.name], version)
    for shim in SHIMS:
        check_shim_wheel(wheels[shim.name], shim, version)

    tmp = Path(tempfile.mkdtemp(prefix="compactifai-smoke-"))
    emulator: subprocess.Popen[bytes] | None = None
    try:
        wheelhouse = tmp / "wheels"  # a copy: nothing is read from the checkout once installed
        wheelhouse.mkdir()
        for wheel in wheels.values():
            shutil.copy2(wheel, wheelhouse)
        main_wheel = wheelhouse / wheels[MAIN.name].name

        step(f"{MAIN.name}[emulator] alone in a fresh venv")
        core = Venv(tmp / "venv-core", tmp)
        core.pip_install(f"{MAIN.name}[emulator] @ {main_wheel.as_uri()}")
        print(core.check("core"))
        help_text = core.run(str(core.bin / "compactifai"), "--help")
        check("emulator" in help_text and "demo" in help_text, f"compactifai --help:\n{help_text}")
        print("compactifai --help: ok")
        emulator, base_url = start_emulator(core, tmp / "emulator.log")
        print(f"emulator from the wheel at {base_url}")
        api = {"COMPACTIFAI_BASE_URL": base_url, "COMPACTIFAI_API_KEY": EMULATOR_KEY}

        for shim, section in ((LANGCHAIN, "LangChain"), (LLAMA_INDEX, "LlamaIndex")):
            assert shim.extra is not None
            step(f"{shim.name} alone in a fresh venv")
            env = Venv(tmp / f"venv-{shim.name}", tmp)
            # The pin must accept the main wheel of this build (pip refuses a conflict).
            env.pip_install(str(wheelhouse / wheels[shim.name].name), str(main_wheel))
            print(env.check(shim.extra, **api))
            quick_start = readme_quick_start(section)
            out = env.python_script(f"readme_{shim.extra}.py", quick_start, **api)
            check(out.strip(), f"the README's {section} quick start printed nothing")
            print(f"README {section} quick start answered: {out.strip()[:160]!r}...")
            # The command needs no extra for --help (the thin distributions bring no rich).
            help_text = env.run(str(env.bin / "compactifai"), "--help")
            check("emulator" in help_text, f"compactifai --help:\n{help_text}")
            print("compactifai --help: ok")
    finally:
        if emulator is not None:
            stop(emulator)
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="built files (default dist/)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary venvs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        smoke(args.dist.resolve(), args.keep)
    except (SmokeError, subprocess.TimeoutExpired) as exc:
        print(f"\nSMOKE TEST FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\nall distributions install and answer ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
