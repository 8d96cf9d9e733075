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


@cache
def hold_clip() -> bytes:
    """Return an 8-bit mono WAV of gentle chords, each fading in and out, built once per process."""
    frames = bytearray()
    per_chord = RATE * CHORD_SECONDS
    for index in range(HOLD_SECONDS // CHORD_SECONDS):
        chord = CHORDS[index % len(CHORDS)]
        steps = [2 * math.pi * f / RATE for f in chord]
        for n in range(per_chord):
            # A raised-sine envelope: no clicks where one chord meets the next.
            envelope = math.sin(math.pi * n / per_chord) ** 2
            value = sum(math.sin(step * n) for step in steps) / len(steps)
            frames.append(128 + round(24 * envelope * value))  # unsigned 8-bit, silence at 128
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
