"""Credit diffusion (paper Table S3, Fig S3, notebook 03): sparse, diffused credits for the
3-layer network.

The hidden layer's neurons sit on a line or a grid; the TDCA network emits one credit per *site*
(10 for 100 neurons, 6x6 for 30x30, ...) and each site's credit reaches the neurons around it
through the Gaussian kernel of :func:`tdca_lib.credit.diffusion_kernel` (sigma = 5, paper).
Everything else is the supervised experiment (:mod:`tdca_lib.supervised`, whose settings carry
the credit sites): same data, inner loop, PGPE, fitness. Its networks are evolved with

    python -m tdca_lib.supervised --profile quick --credits 10-to-100 --dataset mnist
"""

from __future__ import annotations

from collections.abc import Callable

from .data import DATASETS, TITLES
from .supervised import CREDITS, DENSE

# Table S3's configurations besides the dense 100-to-100 (the supervised experiment's own
# network)
CONFIGS = tuple(name for name in CREDITS if name != DENSE)


def judge_gap(test_accuracy: dict[str, dict[str, float]], a: str, b: str,
              holds: Callable[[float], bool], what: str) -> tuple[bool | None, str]:
    """A Table S3 comparison judged on the meta-test subsets: ``test_accuracy`` maps a split
    ("meta-test", "meta-train") to ``{"<dataset>/<config>": test accuracy}``; the gap is
    ``a - b`` per data set where both ran, the verdict whether ``holds`` for every gap. The
    evidence gives the meta-test gaps and says where meta-train's verdict differs."""
    def gaps(accuracy):
        return {name: accuracy[f"{name}/{a}"] - accuracy[f"{name}/{b}"] for name in DATASETS
                if f"{name}/{a}" in accuracy and f"{name}/{b}" in accuracy}

    def text(g):
        return ", ".join(f"{TITLES[n]} {v:+.2%}" for n, v in g.items()) or "no pair here"

    test, train = gaps(test_accuracy["meta-test"]), gaps(test_accuracy["meta-train"])
    verdict = all(holds(g) for g in test.values()) if test else None
    evidence = f"test accuracy {what}, meta-test: {text(test)}"
    if (all(holds(g) for g in train.values()) if train else None) != verdict:
        evidence += f"; on meta-train the verdict differs ({text(train)})"
    return verdict, evidence
