"""The built-in hold audio: a soft chord progression as long as the gap between announcements."""
from __future__ import annotations

import hashlib
import io
import math
import wave
from functools import cache

from flask import Blueprint, send_file

HOLD_SECONDS = 45
"""Length of the built-in clip: the waiting caller hears their position about this often."""

RATE = 8000
"""Samples per second: telephone audio is 8 kHz, so more would only be thrown away."""

SAMPLE_BYTES = 1
"""8-bit samples: the phone line carries 8-bit G.711 anyway, and the clip is half the size of 16-bit."""

CHORD_SECONDS = 5
CHORDS = (
    (261.63, 329.63, 392.00),  # C major
    (220.00, 261.63, 329.63),  # A minor
    (174.61, 220.00, 261.63),  # F major
    (196.00, 246.94, 293.66),  # G major
)


CROSSFADE = 0.4
"""Seconds over which one chord hands over to the next, at equal power: the level never dips between chords."""

EDGE = 0.05
"""Seconds of fade at the clip's very start and end, so it starts and stops without a click."""

LEVEL = 40
"""Peak of the chord's average wave, of 127 (8-bit): well above the line's noise, far from clipping."""


def _chord_value(index: int, n: int) -> float:
    chord = CHORDS[index % len(CHORDS)]
    return sum(math.sin(2 * math.pi * f * n / RATE) for f in chord) / len(chord)


@cache
def hold_clip() -> bytes:
    """Return an 8-bit mono WAV of gentle chords at a steady level, built once per process."""
    frames = bytearray()
    chords = HOLD_SECONDS // CHORD_SECONDS
    per_chord, fade, edge = RATE * CHORD_SECONDS, int(RATE * CROSSFADE), int(RATE * EDGE)
    total = per_chord * chords
    for n in range(total):
        index, local = divmod(n, per_chord)
        value = _chord_value(index, n)
        if local >= per_chord - fade and index + 1 < chords:
            # Equal-power crossfade (cos² + sin² = 1): the next chord rises as this one falls.
            x = (local - (per_chord - fade)) / fade * math.pi / 2
            value = math.cos(x) * value + math.sin(x) * _chord_value(index + 1, n)
        gain = min(1.0, n / edge, (total - 1 - n) / edge)
        frames.append(128 + round(LEVEL * gain * value))  # unsigned 8-bit, silence at 128
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


@cache
def hold_etag() -> str:
    """Return the clip's entity tag: the same clip gets the same tag from every server."""
    return hashlib.sha256(hold_clip()).hexdigest()[:32]


audio = Blueprint("audio", __name__)
"""Public media, outside the signed webhooks: Twilio fetches it with a plain GET."""


@audio.get("/audio/hold.wav")
def hold_audio():
    """Serve the built-in hold audio; it is public, the same for every caller, and cacheable."""
    return send_file(io.BytesIO(hold_clip()), mimetype="audio/wav", conditional=True, etag=hold_etag(), max_age=86400)
