"""Judging the paper's claims from our numbers.

A verdict is computed from a condition on measured values, never typed in: ``holds=True`` is
"supported", ``False`` "not supported", ``None`` "not tested at this scale" (when our setting
cannot say). Each claim carries the evidence: the numbers and the threshold that decided it.

A claim that compares two results (beats, reaches, at least, improves on) is judged by one
rule, :func:`verdict`: the difference of their means over what varies (data subsets x inits,
agents x episodes) must clear its threshold by :data:`NOISE_RULE` standard errors to be
*supported*, fall short of it by as many to be *not supported*, and is *within noise* between.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPORTED, NOT_SUPPORTED, NOT_TESTED = "supported", "not supported", "not tested at this scale"
WITHIN_NOISE = "within noise"
NOISE_RULE = 2.0  # standard errors a difference must clear its threshold by (about 95%)


@dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` and its standard error over ``count`` values (pairs when
    ``paired``: the same subsets, inits or episodes on both sides)."""

    value: float
    standard_error: float
    count: int
    paired: bool

    def describe(self, scale: float = 100.0, unit: str = "points") -> str:
        """``"+0.10 ± 0.58 points (3 pairs)"``: the difference ± its standard error."""
        over = f"{self.count} {'pairs' if self.paired else 'values'}"
        return (f"{scale * self.value:+.2f} ± {scale * self.standard_error:.2f} {unit} "
                f"({over})")


def difference(a: Sequence[float], b: Sequence[float], paired: bool = True) -> Difference:
    """The difference of the means of ``a`` and ``b``, the values over what varies. Paired
    values (the same subset or init on both sides, in the same order) give the standard error
    of the mean paired difference, which the shared variation leaves out; unpaired ones Welch's.
    A side with one value has no spread to estimate: its standard error is NaN."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired values need as many on each side, got {len(a)} and {len(b)}")
        d = a - b
        error = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        return Difference(float(d.mean()), float(error), len(d), True)
    error = (math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
             if min(len(a), len(b)) > 1 else math.nan)
    return Difference(float(a.mean() - b.mean()), float(error), len(a) + len(b), False)


def verdict(diff: Difference, threshold: float = 0.0) -> str:
    """The project's one rule: *supported* when ``diff`` clears ``threshold`` (0 for "beats";
    a margin for "by at least"; minus a tolerance for "reaches") by :data:`NOISE_RULE` standard
    errors, *not supported* when it falls short of it by as many, *within noise* otherwise
    (also when the noise cannot be estimated)."""
    if math.isnan(diff.standard_error):
        return WITHIN_NOISE
    margin = NOISE_RULE * diff.standard_error
    if diff.value - threshold > margin:
        return SUPPORTED
    if diff.value - threshold < -margin:
        return NOT_SUPPORTED
    return WITHIN_NOISE


class Claims:
    """The claims table of one notebook."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def judge(self, claim: str, holds: bool | np.bool_ | None, evidence: str) -> None:
        """Record ``claim`` with the verdict that ``holds`` implies."""
        if holds is not None and not isinstance(holds, (bool, np.bool_)):
            raise TypeError(f"holds must be a bool computed from numbers or None, got {holds!r}")
        verdict = NOT_TESTED if holds is None else SUPPORTED if holds else NOT_SUPPORTED
        self.rows.append({"claim": claim, "verdict": verdict, "evidence": evidence})

    def compare(self, claim: str, a: Sequence[float], b: Sequence[float], *,
                paired: bool = True, threshold: float = 0.0, evidence: str = "",
                scale: float = 100.0, unit: str = "points") -> Difference:
        """Record ``claim`` that ``a`` beats ``b`` (by ``threshold``) with :func:`verdict`'s
        word; the evidence shows the difference ± its standard error, then ``evidence``."""
        diff = difference(a, b, paired)
        words = [diff.describe(scale, unit)]
        if threshold:
            words.append(f"threshold {scale * threshold:+g} {unit}")
        self.rows.append({"claim": claim, "verdict": verdict(diff, threshold),
                          "evidence": "; ".join(words + [evidence] * bool(evidence))})
        return diff

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["claim", "verdict", "evidence"])

    def markdown(self) -> str:
        return self.frame().to_markdown(index=False)
