"""The built-in hold audio: a soft chord progression as long as the gap between announcements."""
from __future__ import annotations

import io
import math
import struct
import wave
from functools import cache

HOLD_SECONDS = 45
"""Length of the built-in clip: the waiting caller hears their position about this often."""

RATE = 8000
"""Samples per second: telephone audio is 8 kHz, so more would only be thrown away."""

CHORD_SECONDS = 5
CHORDS = (
    (261.63, 329.63, 392.00),  # C major
    (220.00, 261.63, 329.63),  # A minor
    (174.61, 220.00, 261.63),  # F major
    (196.00, 246.94, 293.66),  # G major
)


@cache
def hold_clip() -> bytes:
    """Return a 16-bit mono WAV of gentle chords, each fading in and out, built once per process."""
    frames = bytearray()
    per_chord = RATE * CHORD_SECONDS
    for index in range(HOLD_SECONDS // CHORD_SECONDS):
        chord = CHORDS[index % len(CHORDS)]
        steps = [2 * math.pi * f / RATE for f in chord]
        for n in range(per_chord):
            # A raised-sine envelope: no clicks where one chord meets the next.
            envelope = math.sin(math.pi * n / per_chord) ** 2
            value = sum(math.sin(step * n) for step in steps) / len(steps)
            frames += struct.pack("<h", int(6000 * envelope * value))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
