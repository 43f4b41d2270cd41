"""Notebook 04's section (Table S4): the counts beside the paper's ratios, and the claims."""

from __future__ import annotations

import pandas as pd

from ..machinery.claims import Claims

MNIST = "MNIST / Fashion-MNIST"  # the data set the ratios and claims read (CIFAR-10 scales alike)


def mnist_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The MNIST / Fashion-MNIST rows of Table S4 (``pd.DataFrame(table_s4())``), by method."""
    return table[table["Data"] == MNIST].set_index("Method")


def mflops(table: pd.DataFrame, name: str, with_diffusion: bool = True) -> float:
    """Our MFLOPs of the credits of method ``name`` on MNIST, read from Table S4 (``table``):
    with the diffusion matmul, or without it (the TDCA network alone)."""
    rows = mnist_rows(table)
    diffusion = 0 if with_diffusion else rows.loc[name, "of which diffusion"]
    return rows.loc[name, "MFLOPs: ours"] - diffusion


def paper_ratio(table: pd.DataFrame, a: str, b: str) -> float:
    """The paper's MFLOPs of method ``a`` over those of method ``b`` (MNIST; ``table`` as in
    :func:`mflops`)."""
    rows = mnist_rows(table)
    return rows.loc[a, "MFLOPs: paper"] / rows.loc[b, "MFLOPs: paper"]


def ratios_to_paper(table: pd.DataFrame) -> str:
    """One line per method (MNIST rows of Table S4, ``table``): the paper's parameters over ours,
    and the paper's MFLOPs over ours without the diffusion matmul ("-" where the paper gives
    none)."""
    rows = mnist_rows(table)
    network = rows["MFLOPs: ours"] - rows["of which diffusion"]
    lines = []
    for name, row in rows.iterrows():
        paper_flops = row["MFLOPs: paper"]
        ratio = "-" if pd.isna(paper_flops) else f"{paper_flops / network[name]:.2f}"
        params = row["Param: paper"] / row["Param: ours"]
        lines.append(f"{name:40s} params paper/ours {params:.3f}; "
                     f"MFLOPs paper / ours-without-diffusion {ratio}")
    return "\n".join(lines)


def judge_claims(claims: Claims, table: pd.DataFrame) -> None:
    """Judge the complexity claims into ``claims`` from Table S4 (``table``): credit groups cost
    about what BP costs (10 credits, 100 hidden: within 1.5x), and 36 credits for 900 neurons
    about 1/6 of BP (within 1.5x of 1/6); the evidence gives our ratios with and without the
    diffusion matmul beside the paper's."""
    g10, bp100 = "Credit groups (10 credits, 100 hidden)", "BP (100 hidden)"
    g36, bp900 = "Credit groups (36 credits, 900 hidden)", "BP (900 hidden)"
    r10 = mflops(table, g10) / mflops(table, bp100)
    r10_net = mflops(table, g10, False) / mflops(table, bp100)
    r36 = mflops(table, g36) / mflops(table, bp900)
    r36_net = mflops(table, g36, False) / mflops(table, bp900)
    claims.judge("Credit groups cost about what BP costs (10 credits vs BP, 100 hidden)",
                 r10 <= 1.5,
                 f"ours: {r10:.2f}x BP with diffusion, {r10_net:.2f}x without (about = within "
                 f"1.5x); paper: {paper_ratio(table, g10, bp100):.2f}x")
    claims.judge("36 credits for 900 neurons cost about 1/6 of BP", r36 <= 1 / 6 * 1.5,
                 f"ours: {r36:.2f}x BP with dense diffusion, {r36_net:.2f}x for the TDCA "
                 f"network alone; paper: {paper_ratio(table, g36, bp900):.2f}x (about = within "
                 "1.5x of 1/6)")
