"""``compactifai transcribe``: audio files to text, subtitles or JSON with CompactifAI's slim
Whisper.

Every file is checked (there, audio, at most 25 MB) before the first is sent: transcription
is billed per second, and a run that would fail on its third file should fail before its
first. Transcripts go to stdout as text (never through rich's markup, which would eat
``[...]``; control characters dropped, so no escape sequence reaches the terminal), or to
``--out DIR`` one file each, as the server wrote them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compactifai.commands._common import (
    add_connection_arguments,
    error_console,
    guarded,
    make_client,
    safe_text,
)

if TYPE_CHECKING:
    from compactifai.audio import ResponseFormat, Transcription

__all__ = ["EXAMPLE", "HELP", "add_arguments", "run"]

HELP = "Transcribe audio files with CompactifAI's slim Whisper (text, srt, vtt or json)"
EXAMPLE = """examples:
  compactifai transcribe meeting.mp3
  compactifai transcribe call.wav --format srt > call.srt
  compactifai transcribe recordings/*.m4a --format vtt --out subtitles/
  compactifai transcribe interview.ogg --language es --format json | jq -r .text

Files: flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav or webm, at most 25 MB each; all of them
are checked before the first is sent (transcription is billed per second of audio).
--format json prints one JSON object per file and line: text, language, duration, segments.
"""

# --format -> (the API's response_format, the extension of files written by --out)
FORMATS: dict[str, tuple[ResponseFormat, str]] = {
    "text": ("text", "txt"),
    "srt": ("srt", "srt"),
    "vtt": ("vtt", "vtt"),
    "json": ("verbose_json", "json"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compactifai.audio import DEFAULT_TRANSCRIPTION_MODEL

    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files")
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        default="text",
        help="text (default), srt or vtt subtitles, or json (with language, duration, segments)",
    )
    parser.add_argument(
        "--language", metavar="CODE", help="ISO-639-1 code of the spoken language (e.g. en)"
    )
    parser.add_argument("--prompt", help="text that guides the transcription (names, spelling)")
    parser.add_argument(
        "--model",
        default=DEFAULT_TRANSCRIPTION_MODEL,
        help=f"transcription model (default {DEFAULT_TRANSCRIPTION_MODEL})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write FILE's transcript to DIR/<name>.txt|srt|vtt|json instead of stdout",
    )
    add_connection_arguments(parser)


def _rendered(answer: Transcription | str, file: Path, fmt: str) -> str:
    """What is printed or written for one file, ending with one newline."""
    if isinstance(answer, str):
        return answer.rstrip("\n") + "\n"
    body: dict[str, Any] = {"file": str(file), **answer.model_dump(mode="json", exclude_none=True)}
    return json.dumps(body, ensure_ascii=False) + "\n"


def _targets(files: list[Path], out: Path | None, extension: str) -> list[Path | None]:
    """Where each transcript goes (None: stdout); two inputs may not share one output."""
    if out is None:
        return [None] * len(files)
    from compactifai.errors import RequestValidationError

    if out.exists() and not out.is_dir():
        raise RequestValidationError("--out", f"{out} is a file, not a directory")
    targets = [out / f"{file.stem}.{extension}" for file in files]
    seen: dict[Path, Path] = {}
    for file, target in zip(files, targets, strict=True):
        if target in seen:
            raise RequestValidationError(
                "--out", f"{seen[target]} and {file} would both be written to {target}"
            )
        seen[target] = file
    return list(targets)


def _check_all(files: list[Path], model: str) -> None:
    """Refuse the run before anything is sent if any file would be refused."""
    from compactifai.audio import check_transcription_model, open_audio

    check_transcription_model(model)
    for file in files:
        with open_audio(file):
            pass


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A progress bar on stderr for several files (stdout keeps the transcripts clean)."""
    if total < 2:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console(), transient=False) as progress:
        yield progress


def _run(args: argparse.Namespace) -> int:
    response_format, extension = FORMATS[args.format]
    with make_client(args) as client:  # no key: fails here, before any file is read
        files: list[Path] = list(args.files)
        _check_all(files, args.model)
        targets = _targets(files, args.out, extension)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
        with _progress(len(files)) as progress:
            task = progress.add_task("transcribing", total=len(files)) if progress else None
            for number, (file, target) in enumerate(zip(files, targets, strict=True), 1):
                if progress is not None:
                    progress.update(task, description=f"transcribing {safe_text(file.name)}")
                answer = client.transcribe(
                    file,
                    model=args.model,
                    language=args.language,
                    prompt=args.prompt,
                    response_format=response_format,
                )
                text = _rendered(answer, file, args.format)
                if target is not None:
                    target.write_text(text, encoding="utf-8")
                    error_console().print(f"{safe_text(file)} -> {safe_text(target)}")
                else:
                    if len(files) > 1 and args.format != "json":  # like head(1): a title each
                        separator = "\n" if number > 1 else ""
                        sys.stdout.write(f"{separator}==> {file} <==\n")
                    sys.stdout.write(safe_text(text, multiline=True, markup=False))
                    sys.stdout.flush()
                if progress is not None:
                    progress.advance(task)
            if progress is not None:
                progress.update(task, description="transcribed")
    return 0


run = guarded(_run)
