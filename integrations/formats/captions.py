"""Accessibility telemetry: captions, subtitles and audio translations (no parser of its own).

Caption and subtitle services, and the audio-translation encoders, report through the generic
format (``generic.py``), one source id per feed, i.e. per session and language (the feed says
which language). These are the metric names Tally knows and detects on:

- ``captions.present``: 1 when captions or subtitles of the feed's language went out during the
  sample's interval, 0 when none did (values below 0.5 count as missing).
- ``captions.latency``: seconds the captions trail the program audio.
- ``audio.present``: 1 when the translated audio carried an interpreter's voice, 0 when silent.

Example (one sample per language and metric every 10 s)::

    {"samples": [
      {"source": "subtitles:kn1:de", "metric": "captions.present",
       "time": "2026-11-26T16:52:10Z", "value": 0},
      {"source": "subtitles:kn1:de", "metric": "captions.latency",
       "time": "2026-11-26T16:52:10Z", "value": 3.4}
    ]}
"""

from __future__ import annotations

PRESENT, LATENCY, AUDIO_PRESENT = "captions.present", "captions.latency", "audio.present"

METRICS: dict[str, tuple[str, str]] = {
    PRESENT: ("", "Captions going out (1) or missing (0)"),
    LATENCY: ("s", "Caption latency behind the program audio"),
    AUDIO_PRESENT: ("", "Translated audio present (1) or silent (0)"),
}
