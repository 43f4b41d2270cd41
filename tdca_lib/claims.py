"""Judging the paper's claims from our numbers.

A verdict is computed from a condition on measured values, never typed in: ``holds=True`` is
"supported", ``False`` "not supported", ``None`` "not tested at this scale" (when our setting
cannot say). Each claim carries the evidence: the numbers and the threshold that decided it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUPPORTED, NOT_SUPPORTED, NOT_TESTED = "supported", "not supported", "not tested at this scale"


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

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["claim", "verdict", "evidence"])

    def markdown(self) -> str:
        return self.frame().to_markdown(index=False)
