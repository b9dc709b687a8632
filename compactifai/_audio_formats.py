"""The service's published rules for the audio it transcribes (service-2026.md §6), and how
each accepted type announces itself in its first bytes.

One source for both sides, on purpose. The client (:mod:`compactifai.audio`) refuses early
what the service would refuse; the emulator (:mod:`compactifai.emulator.audio`) plays the
service and refuses it the same way. Were each to restate the limit and the types, a change of
the service's rules made on one side only would go unseen: the emulator would then pass a
client (and our users' tests) that the service fails, or refuse what the client lets through.
So the emulator takes only these documented facts from here, never the client's own choices
(the MIME type it sends for a file, the aliases a caller may name), which stay in
:mod:`compactifai.audio`. Change a rule here when the service changes it, and both follow.
"""

from __future__ import annotations

__all__ = ["ACCEPTED_AUDIO_EXTENSIONS", "MAX_AUDIO_BYTES", "sniff_audio_format"]

# "≤ 25MB since 2026-02-16" (1 MB before); read as OpenAI's 25 MiB, which the service mirrors.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
# "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm" (sorted, as the refusals list them).
ACCEPTED_AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "ogg", "wav", "webm")


def sniff_audio_format(head: bytes) -> str | None:
    """The audio format the first bytes of a file announce (an extension), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a" if head[8:11] in (b"M4A", b"M4B") else "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None
