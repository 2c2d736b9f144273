"""Unit tier: pure tests, no I/O. Hypothesis keeps no example database, so nothing is written to disk."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("strongroom", database=None)
settings.load_profile("strongroom")
