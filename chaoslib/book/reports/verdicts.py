"""The record of a reproduction target and its verdict, shared by every chapter's report."""

from __future__ import annotations

VERDICTS = {True: "holds", False: "does not hold", None: "cannot be checked here"}


def target_record(target_id: str, claim: str, measured: str, holds: bool | None, note: str = "") -> dict:
    """A target's record for :meth:`chaoslib.book.chapter.Chapter.verdict`: the paper's claim, what was measured
    (text with its interval), whether the claim holds (``None``: cannot be checked here) and a note."""
    return {"target_id": target_id, "claim": claim, "measured": measured,
            "holds": None if holds is None else bool(holds), "note": note}


def verdict(record: dict) -> str:
    """Prose for a target's verdict: ``holds``, ``does not hold`` or ``cannot be checked here``."""
    return VERDICTS[record["holds"]]
