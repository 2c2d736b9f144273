"""The one base class for expected failures: bad input or environment, with what to do about it.

The CLI prints these as one line and exits 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure whose message names the input and the fix."""
