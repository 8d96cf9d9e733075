"""The built-in hold audio plays at a steady level: no fades or gaps that sound like a dropped line."""
from __future__ import annotations

import io
import math
import wave

from ivr.voice.hold import EDGE, HOLD_SECONDS, RATE, hold_clip

WINDOW = 0.1
"""Seconds per loudness measurement: shorter than any dip a caller would notice as the line dropping."""


def loudness(samples: bytes) -> list[float]:
    """Return the RMS level of each window, in dB relative to full scale."""
    size = int(RATE * WINDOW)
    levels = []
    for start in range(0, len(samples) - size + 1, size):
        window = samples[start:start + size]
        rms = math.sqrt(sum((b - 128) ** 2 for b in window) / size)
        levels.append(20 * math.log10(max(rms, 1e-9) / 128))
    return levels


def frames() -> bytes:
    with wave.open(io.BytesIO(hold_clip())) as clip:
        assert (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) == (1, 1, RATE)
        return clip.readframes(clip.getnframes())


def test_the_clip_lasts_the_gap_between_announcements():
    assert len(frames()) == HOLD_SECONDS * RATE


def test_the_level_stays_within_a_few_db_from_start_to_end():
    edge = math.ceil(EDGE / WINDOW)
    levels = loudness(frames())[edge:-edge]  # the click-free start and end are a few milliseconds long
    assert max(levels) - min(levels) < 4.0, (min(levels), max(levels))
    assert min(levels) > -25.0, "well above a phone line's noise"
    assert max(frames()) <= 255 and min(frames()) >= 0
