"""Judging the paper's claims from our numbers.

A verdict is computed from a condition on measured values, never typed in: ``holds=True`` is
"supported", ``False`` "not supported", ``None`` "not tested at this scale" (when our setting
cannot say). Each claim carries the evidence: the numbers and the threshold that decided it.

A claim that compares two results (beats, reaches, at least, improves on) is judged by one
rule, :func:`verdict`: the difference of their means over what varies (data subsets x inits,
agents x episodes) must clear its threshold by :data:`NOISE_RULE` standard errors to be
*supported*, fall short of it by as many to be *not supported*, and is *within noise* between.
A claim that needs several comparisons at once takes the weakest of their verdicts. Claims with
no noise to weigh (a count of FLOPs, a share of a fixed grid of starts) are judged by a
condition (:meth:`Claims.judge`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPORTED, NOT_SUPPORTED, NOT_TESTED = "supported", "not supported", "not tested at this scale"
WITHIN_NOISE = "within noise"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_TESTED)
NOISE_RULE = 2.0  # standard errors a difference must clear its threshold by (about 95%)
RULE = (f"a claim that compares two results is *{SUPPORTED}* when the difference of their means "
        f"over what varies (seeds x subsets, agents x episodes) clears its threshold by "
        f"{NOISE_RULE:g} standard errors, *{NOT_SUPPORTED}* when it falls short of it by as many, "
        f"and *{WITHIN_NOISE}* between")


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
        if math.isnan(self.standard_error):
            return f"{scale * self.value:+.2f} {unit} (no spread measured: nothing varied)"
        over = f"{self.count} {'pairs' if self.paired else 'values'}"
        return (f"{scale * self.value:+.2f} ± {scale * self.standard_error:.2f} {unit} "
                f"({over})")


def difference(a: Sequence[float], b: Sequence[float] | float,
               paired: bool = True) -> Difference:
    """The difference of the means of ``a`` and ``b``, the values over what varies. Paired
    values (the same subset or init on both sides, in the same order) give the standard error
    of the mean paired difference, which the shared variation leaves out; unpaired ones Welch's.
    A number ``b`` is a fixed bar (a task's "solved" return): only ``a`` varies; so is, unpaired,
    one value against values that vary (a zero init, which no seed changes, against Kaiming
    inits). With nothing that varies there is no spread to estimate: the standard error is
    NaN."""
    a = np.asarray(a, dtype=float).ravel()
    if np.ndim(b) == 0:
        error = a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else math.nan
        return Difference(float(a.mean() - b), float(error), len(a), False)
    b = np.asarray(b, dtype=float).ravel()
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired values need as many on each side, got {len(a)} and {len(b)}")
        d = a - b
        error = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        return Difference(float(d.mean()), float(error), len(d), True)
    if min(len(a), len(b)) > 1:
        error = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    elif max(len(a), len(b)) > 1:  # one value against values that vary: a fixed bar
        varies = a if len(a) > 1 else b
        error = varies.std(ddof=1) / math.sqrt(len(varies))
    else:
        error = math.nan
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


def weakest(verdicts: Sequence[str]) -> str:
    """The verdict of a claim that needs every one of its comparisons: *not supported* when one
    is, *supported* when all are, *within noise* otherwise."""
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return SUPPORTED if all(v == SUPPORTED for v in verdicts) else WITHIN_NOISE


def tally(verdicts: Sequence[str]) -> dict[str, int]:
    """How many of ``verdicts`` each of :data:`VERDICTS` is."""
    return {v: sum(1 for w in verdicts if w == v) for v in VERDICTS}


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

    def compare(self, claim: str, a: Sequence[float], b: Sequence[float] | float, *,
                paired: bool = True, threshold: float = 0.0, evidence: str = "",
                scale: float = 100.0, unit: str = "points") -> Difference:
        """Record ``claim`` that ``a`` beats ``b`` (by ``threshold``; ``b`` a number: a fixed
        bar) with :func:`verdict`'s word; the evidence shows the difference ± its standard
        error, then ``evidence``."""
        diff = difference(a, b, paired)
        self.compare_all(claim, {"": diff}, threshold=threshold, evidence=evidence,
                         scale=scale, unit=unit)
        return diff

    def compare_all(self, claim: str, differences: dict[str, Difference], *,
                    threshold: float = 0.0, evidence: str = "", scale: float = 100.0,
                    unit: str = "points") -> None:
        """Record ``claim`` that needs every one of ``differences`` (by name, from
        :func:`difference`) to clear ``threshold``, with :func:`weakest` of their verdicts;
        the evidence shows each named difference ± its standard error, then ``evidence``."""
        words = [f"{name}{': ' * bool(name)}{diff.describe(scale, unit)}"
                 for name, diff in differences.items()]
        if threshold:
            words.append(f"threshold {scale * threshold:+g} {unit}")
        self.rows.append({
            "claim": claim,
            "verdict": weakest([verdict(d, threshold) for d in differences.values()]),
            "evidence": "; ".join(words + [evidence] * bool(evidence))})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["claim", "verdict", "evidence"])

    def markdown(self) -> str:
        return self.frame().to_markdown(index=False)
