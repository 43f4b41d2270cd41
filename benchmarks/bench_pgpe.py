"""Benchmark of the PGPE engine. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_pgpe.py [--device cpu|cuda] [--repeats 5]

1. Generations per second on the Gaussian task (the quick profile's settings).
2. A supervised-sized inner step for a population: P=32 bottom-up networks 784-100-10 on 1000
   samples, their TDCA networks 20-30-30-110 emitting 110 credits a sample, the credit rule and
   one Adam step. Its achieved GFLOP/s (matmul FLOPs counted by torch's FlopCounterMode) beside
   the same machine's rate on one large float32 matmul, measured in the same run.
3. The same step batched over the population vs a Python loop over the members.
"""

from __future__ import annotations

import argparse

import torch
from common import count_flops, describe, matmul_gflops, timed

from tdca_lib.experiments import gaussian, supervised
from tdca_lib.machinery.device import keep_freed_memory, resolve_device
from tdca_lib.method import bottom_up
from tdca_lib.method.inner_loop import tdca_direction, train
from tdca_lib.method.pgpe import PGPE


def gaussian_generations_per_second(device, generations: int = 100) -> float:
    settings = gaussian.PROFILES.get("quick")
    tdca = gaussian.GaussianTDCA(settings.hidden)
    fitness = gaussian.fitness_function(tdca, (gaussian.LANDSCAPE,), settings)
    pgpe = PGPE(tdca.net.init().to(device), population=settings.population,
                sigma=settings.sigma, center_lr=settings.center_lr)

    def run():
        for g in range(generations):
            pgpe.tell(fitness(pgpe.ask(), g))

    return generations / timed(run, device, repeats=1)


def inner_step(population: int, samples: int, device, features: int = 784, steps: int = 1):
    """P bottom-up networks trained ``steps`` inner steps by their own TDCA networks' credits
    (divide a call's time and FLOPs by ``steps``: more steps amortise the optimiser's set-up, as
    an evolution's 20-step training does), and the same one member at a time."""
    settings = supervised.PROFILES.get("quick")
    net = supervised.bottom_up_network(settings, features)
    tdca = supervised.tdca_network(settings, net)
    gen = torch.Generator().manual_seed(0)
    theta = bottom_up.initial(net, population, "zero", 0).to(device)
    beta = (torch.randn(population, tdca.num_params, generator=gen) * 0.1).to(device)
    x = torch.randn(samples, features, generator=gen).to(device)
    y = torch.randint(0, 10, (samples,), generator=gen).to(device)

    def step(theta=theta, beta=beta):
        return train(theta, tdca_direction(net, tdca, beta, x, y), steps, 0.01, 1.0)

    def looped():
        return torch.cat([step(theta[p : p + 1], beta[p : p + 1]) for p in range(population)])

    return step, looped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(describe(device))
    print(f"malloc keeps freed memory (as the evolution runs): {keep_freed_memory()}")
    print(f"Gaussian task (quick profile): {gaussian_generations_per_second(device):.1f} "
          "generations/s")
    peak = matmul_gflops(device, args.repeats)
    print(f"float32 matmul 4096x4096: {peak:.1f} GFLOP/s")
    step, looped = inner_step(32, 1000, device)
    flops = count_flops(step)
    batched_s = timed(step, device, args.repeats)
    looped_s = timed(looped, device, args.repeats)
    rate = flops / batched_s / 1e9
    print(f"supervised inner step, P=32, 1000 samples, 784-100-10 + TDCA 20-30-30-110: "
          f"{flops / 1e9:.2f} GFLOP (matmuls), {batched_s * 1e3:.1f} ms -> {rate:.1f} GFLOP/s "
          f"= {rate / peak:.0%} of the matmul rate")
    print(f"  batched over the population: {batched_s * 1e3:.1f} ms; per-member loop: "
          f"{looped_s * 1e3:.1f} ms ({looped_s / batched_s:.2f}x the batched time)")


if __name__ == "__main__":
    main()
