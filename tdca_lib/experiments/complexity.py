"""Parameters and FLOPs of credit assignment (paper Table S4), counted from the real code.

For each method, what it takes to produce one set of credits for a 3-layer bottom-up network:
- BP: the output layer's weights carry the error back; the credits of the hidden layer are
  ``delta_out @ W2^T`` (parameters: W2's hidden x classes weights);
- a TDCA network: its parameters, and its forward pass (plus the diffusion matmul when a few
  credits are spread over many neurons).
FLOPs are counted by torch's ``FlopCounterMode`` on the library's own functions (matmuls, 2 per
multiply-add), per sample; the weight updates themselves (input x credit) are the same for every
method and are counted separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..method import credit
from ..method.credit import credits_to_gradient
from ..method.population import PopulationMLP

CLASSES = 10
TDCA_HIDDEN = (30, 30)
SAMPLES = 4  # FLOPs scale linearly with the batch: count a small one, report per sample


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@dataclass(frozen=True)
class Method:
    """One row of Table S4: a way to assign credits to a features-hidden-10 network."""

    name: str
    hidden: int
    kind: str  # "bp", "per_weight" (one credit per parameter), "per_neuron", "groups"
    sites: int | None = None  # credit groups: credits for the hidden layer
    layout: str = "line"

    def bottom_up(self, features: int) -> PopulationMLP:
        return PopulationMLP([features, self.hidden, CLASSES])

    def tdca(self, features: int) -> PopulationMLP | None:
        """The TDCA network: softmax output + one-hot label in, one credit per target out."""
        outputs = {"per_weight": self.bottom_up(features).num_params,
                   "per_neuron": CLASSES + self.hidden,
                   "groups": CLASSES + (self.sites or 0)}.get(self.kind)
        return None if outputs is None else PopulationMLP([2 * CLASSES, *TDCA_HIDDEN, outputs])

    def parameters(self, features: int) -> int:
        """Parameters that compute the credits (BP: the output layer's weights)."""
        if self.kind == "bp":
            return self.hidden * CLASSES
        return self.tdca(features).num_params

    def credit_flops(self, features: int) -> dict[str, int]:
        """Matmul FLOPs per sample to produce the credits, counted on the real computation:
        ``{"network": ..., "diffusion": ...}`` (BP's backward step counts as its network)."""
        gen = torch.Generator().manual_seed(0)
        net = self.bottom_up(features)
        theta = torch.randn(1, net.num_params, generator=gen)
        y = torch.randint(0, CLASSES, (SAMPLES,), generator=gen)
        if self.kind == "bp":
            w2 = net.unflatten(theta)[1][0]  # [1, hidden, classes]
            delta = torch.randn(1, SAMPLES, CLASSES, generator=gen)
            return {"network": count_flops(lambda: delta @ w2.transpose(1, 2)) // SAMPLES,
                    "diffusion": 0}
        tdca = self.tdca(features)
        beta = torch.randn(1, tdca.num_params, generator=gen)
        state = torch.cat([torch.rand(1, SAMPLES, CLASSES, generator=gen),
                           F.one_hot(y, CLASSES).float()[None]], -1)
        credits = tdca(beta, state)
        kernel = self.kernel()
        spread = 0 if kernel is None else count_flops(
            lambda: credit.diffuse(credits[..., CLASSES:], kernel))
        return {"network": count_flops(lambda: tdca(beta, state)) // SAMPLES,
                "diffusion": spread // SAMPLES}

    def kernel(self) -> torch.Tensor | None:
        if self.kind != "groups":
            return None
        neurons, sites = credit.positions(self.layout, self.hidden, self.sites)
        return credit.diffusion_kernel(sites, neurons, sigma=5.0)

    def update_flops(self, features: int) -> int:
        """Matmul FLOPs per sample of turning per-neuron credits into weight updates (the same
        Hebbian outer products for every method, BP's included)."""
        net = self.bottom_up(features)
        theta = torch.zeros(1, net.num_params)
        x = torch.zeros(SAMPLES, features)
        activations = [a.detach() for a in net.activations(theta, x)]
        credits = torch.zeros(1, SAMPLES, self.hidden + CLASSES)
        return count_flops(lambda: credits_to_gradient(net, activations, credits)) // SAMPLES


# Table S4's rows, in the paper's order.
METHODS = (
    Method("BP (100 hidden)", 100, "bp"),
    Method("Credit parameters", 100, "per_weight"),
    Method("Credit neurons", 100, "per_neuron"),
    Method("Credit groups (10 credits, 100 hidden)", 100, "groups", sites=10),
    Method("BP (900 hidden)", 900, "bp"),
    Method("Credit groups (36 credits, 900 hidden)", 900, "groups", sites=36),
)


# Input features and training-set size: the paper's MFLOPs are per pass over the training set.
DATASETS = {"mnist": (784, 60000), "cifar10": (3072, 50000)}
TRUNCATE = 3.0  # for the sparse estimate: kernel entries beyond 3 sigma count as zero


def truncated_diffusion_flops(method: Method) -> int:
    """Per sample, if the diffusion kernel skipped its entries beyond 3 sigma (2 FLOPs for each
    entry left, counted from the kernel itself; a sparse matmul, not run here)."""
    kernel = method.kernel()
    if kernel is None:
        return 0
    return 2 * int((kernel > torch.exp(torch.tensor(-TRUNCATE**2))).sum())


def table_s4() -> list[dict]:
    """One row per method and data set: parameters and MFLOPs of the credits, ours and the
    paper's, and what of ours is diffusion."""
    from ..machinery.paper import TABLE_S4

    rows = []
    for method in METHODS:
        for dataset, (features, samples) in DATASETS.items():
            flops = method.credit_flops(features)
            paper_params, paper_mflops = TABLE_S4[method.name][dataset]
            rows.append({
                "Method": method.name,
                "Data": "MNIST / Fashion-MNIST" if dataset == "mnist" else "CIFAR-10",
                "Param: ours": method.parameters(features),
                "Param: paper": paper_params,
                "MFLOPs: ours": (flops["network"] + flops["diffusion"]) * samples / 1e6,
                "of which diffusion": flops["diffusion"] * samples / 1e6,
                "MFLOPs: paper": paper_mflops,
                "weight updates, MFLOPs (every method)":
                    method.update_flops(features) * samples / 1e6,
            })
    return rows


def width_sweep(widths: tuple[int, ...] = (100, 200, 500, 1000, 2000, 5000, 10000),
                sites: int = 10, features: int = 784) -> list[dict]:
    """Per-sample credit FLOPs and credit parameters as the hidden layer widens, for BP and for
    credit groups with a fixed number of credits (dense and 3-sigma-truncated diffusion)."""
    rows = []
    for width in widths:
        bp = Method("BP", width, "bp")
        groups = Method("groups", width, "groups", sites=sites)
        flops = groups.credit_flops(features)
        rows.append({"hidden": width,
                     "BP: parameters": bp.parameters(features),
                     "BP: FLOPs": bp.credit_flops(features)["network"],
                     "groups: parameters": groups.parameters(features),
                     "groups: TDCA network FLOPs": flops["network"],
                     "groups: dense diffusion FLOPs": flops["diffusion"],
                     "groups: truncated diffusion FLOPs": truncated_diffusion_flops(groups)})
    return rows


# --- Reading Table S4: our counts against the paper's, and the section's claims ----------------
