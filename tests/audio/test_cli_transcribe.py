"""``compactifai transcribe``: the same text as the client, the formats, ``--out``, several
files with a progress bar, and the no-key rule (nothing read, nothing sent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compactifai import CompactifAIClient, Transcription
from compactifai.emulator import Emulator
from tests.cli.conftest import Runner, as_a_cli_user, error_line

from .conftest import tone, transcription_requests

pytestmark = pytest.mark.emulator


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(capsys)


@pytest.fixture
def user(live: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A user whose key and base URL point at the emulator, on a plain wide terminal."""
    return as_a_cli_user(live, monkeypatch)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "one.wav", tmp_path / "two.wav", tmp_path / "three.wav"]
    for seconds, path in enumerate(paths, 3):
        path.write_bytes(tone(float(seconds), 200.0 + 100 * seconds))
    return paths


def _text(client: CompactifAIClient, path: Path) -> str:
    answer = client.transcribe(path)
    assert isinstance(answer, Transcription)
    return answer.text


def test_prints_the_transcript(
    cli: Runner, user: Emulator, client: CompactifAIClient, files: list[Path]
) -> None:
    result = cli("transcribe", str(files[0]))
    assert result.code == 0, result.err
    assert result.out == _text(client, files[0]) + "\n"
    assert result.err == ""  # one file: no progress bar


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles(
    cli: Runner, user: Emulator, client: CompactifAIClient, files: list[Path], fmt: str
) -> None:
    result = cli("transcribe", str(files[2]), "--format", fmt)
    assert result.code == 0, result.err
    expected = client.transcribe(files[2], response_format=fmt)
    assert result.out == str(expected).rstrip("\n") + "\n"
    cues = [
        line
        for line in result.out.splitlines()
        if line and "-->" not in line and not line.isdigit() and line != "WEBVTT"
    ]
    assert " ".join(cues) == _text(client, files[2])


def test_json_is_one_object_per_file_and_line(
    cli: Runner, user: Emulator, client: CompactifAIClient, files: list[Path]
) -> None:
    result = cli("transcribe", *map(str, files[:2]), "--format", "json", "--language", "en")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [row["file"] for row in rows] == [str(files[0]), str(files[1])]
    assert [row["text"] for row in rows] == [_text(client, f) for f in files[:2]]
    assert rows[0]["language"] == "en"
    assert rows[0]["duration"] == pytest.approx(3.0)
    assert rows[0]["segments"][0]["start"] == 0


def test_several_files_each_under_a_title_with_a_progress_bar(
    cli: Runner, user: Emulator, client: CompactifAIClient, files: list[Path]
) -> None:
    result = cli("transcribe", *map(str, files))
    assert result.code == 0, result.err
    expected = "\n".join(f"==> {f} <==\n{_text(client, f)}\n" for f in files)
    assert result.out == expected
    assert "3/3 files" in result.err  # the bar, on stderr: stdout stays the transcripts


def test_out_writes_one_file_each(
    cli: Runner, user: Emulator, client: CompactifAIClient, files: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "subtitles"
    result = cli("transcribe", *map(str, files), "--format", "vtt", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out == ""
    assert sorted(p.name for p in out.iterdir()) == ["one.vtt", "three.vtt", "two.vtt"]
    for file in files:
        written = (out / f"{file.stem}.vtt").read_text(encoding="utf-8")
        assert written.startswith("WEBVTT")
        assert f"{file} -> {out / (file.stem + '.vtt')}" in result.err
    text = (out / "one.vtt").read_text(encoding="utf-8")
    assert _text(client, files[0]) in text.replace("\n", " ")


def test_two_files_with_one_output_name_are_refused_first(
    cli: Runner, user: Emulator, files: list[Path], tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "one.wav").write_bytes(tone(1.0))
    result = cli("transcribe", str(files[0]), str(other / "one.wav"), "--out", str(tmp_path))
    assert result.code == 1
    assert "would both be written to" in error_line(result)
    result = cli("transcribe", str(files[0]), "--out", str(files[1]))
    assert "is a file, not a directory" in error_line(result)
    assert transcription_requests(user) == []


def test_a_bad_file_stops_the_run_before_anything_is_sent(
    cli: Runner, user: Emulator, files: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("minutes of the meeting")
    result = cli("transcribe", str(files[0]), str(notes))
    assert result.code == 1
    line = error_line(result)
    assert "'notes.txt' is not a known audio type" in line
    assert result.out == ""
    missing = cli("transcribe", str(files[0]), str(tmp_path / "gone.mp3"))
    assert "no such file" in error_line(missing)
    chat = cli("transcribe", str(files[0]), "--model", "hypernova-60b")
    assert "does not transcribe audio" in error_line(chat)
    assert "Refused before sending: it is a chat model" in error_line(chat)
    assert transcription_requests(user) == []


def test_server_text_is_printed_as_text_never_as_markup_or_escapes(
    cli: Runner, user: Emulator, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import compactifai.emulator.audio

    heard = ["[bold red]Alert[/bold red] said [link=https://x.example]here[/link] :smile:"]
    monkeypatch.setattr(
        compactifai.emulator.audio, "transcript_sentences", lambda data, duration: heard
    )
    result = cli("transcribe", str(files[0]))
    assert result.code == 0, result.err
    assert result.out == heard[0] + "\n"
    srt = cli("transcribe", str(files[0]), str(files[1]), "--format", "srt")
    assert srt.out.count(heard[0]) == 2
    # A terminal escape sequence (here: retitle the window) never reaches the terminal.
    monkeypatch.setattr(
        compactifai.emulator.audio,
        "transcript_sentences",
        lambda data, duration: ["Minutes\x1b]0;pwned\x07 follow."],
    )
    escaped = cli("transcribe", str(files[0]))
    assert escaped.out == "Minutes]0;pwned follow.\n"
    assert "\x1b" not in escaped.out and "\x07" not in escaped.out


def test_without_a_key_it_fails_before_reading_any_file(
    cli: Runner, user: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY")
    result = cli("transcribe", str(tmp_path / "not-even-there.wav"))
    assert result.code == 1
    assert "no API key: set COMPACTIFAI_API_KEY" in error_line(result)
    assert result.out == ""
    assert user.requests == []


def test_help_has_examples(cli: Runner) -> None:
    result = cli("transcribe", "--help")
    assert result.code == 0
    assert "compactifai transcribe meeting.mp3" in result.out.split("examples:")[1]
    assert "--format {text,srt,vtt,json}" in result.out
