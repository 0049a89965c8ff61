"""Error types. Every message names the offending parameter and says how to fix it."""

from __future__ import annotations


class ChaoslibError(ValueError):
    """Bad input to chaoslib: the message names the parameter and the fix."""


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights were asked for but cannot be had (offline, not cached, hub unreachable).

    Never caught inside chaoslib: a run that asked for pretrained weights never silently
    continues with random ones.
    """


class DataNotFound(FileNotFoundError):
    """A data folder or file that a computation needs is missing."""
