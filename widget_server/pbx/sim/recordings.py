"""The "recording" the simulator serves: a short generated WAV tone."""

from __future__ import annotations

import io
import math
import wave
from array import array
from functools import cache

SAMPLE_RATE = 8000
TONE_SECONDS = 1.5
TONE_HZ = 440.0


@cache
def tone_wav() -> bytes:
    """1.5 s of a 440 Hz sine, mono 16-bit 8 kHz, as WAV bytes (built once)."""
    samples = array(
        "h",
        (
            int(12000 * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE))
            for n in range(int(SAMPLE_RATE * TONE_SECONDS))
        ),
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        # WAV is little-endian; array uses the machine's byte order.
        if array("h", [1]).tobytes() != b"\x01\x00":
            samples.byteswap()
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
