"""Benchmark of the PGPE engine. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_pgpe.py [--device cpu|cuda] [--repeats 5]

1. Generations per second on the Gaussian task (the quick profile's settings).
2. A supervised-sized inner step for a population: P=32 bottom-up networks 784-100-10 on 1000
   samples, their TDCA network 20-30-30-110 emitting 110 credits a sample, and the Hebbian
   updates of both layers. Its achieved GFLOP/s (matmul FLOPs counted by torch's FlopCounterMode)
   beside the same machine's rate on one large float32 matmul, measured in the same run.
3. The same step batched over the population vs a Python loop over the members.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from tdca_lib import gaussian
from tdca_lib.credit import hebbian_update
from tdca_lib.device import resolve_device
from tdca_lib.pgpe import PGPE
from tdca_lib.tdca_network import PopulationMLP


def timed(fn, device, repeats: int) -> float:
    """Best wall time of ``repeats`` calls, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


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


def supervised_step(population: int, samples: int, device):
    """One inner step of P bottom-up networks trained by their TDCA networks' credits."""
    bottom_up, tdca = PopulationMLP([784, 100, 10]), PopulationMLP([20, 30, 30, 110])
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(population, bottom_up.num_params, generator=gen).to(device) * 0.01
    beta = torch.randn(population, tdca.num_params, generator=gen).to(device) * 0.1
    x = torch.randn(samples, 784, generator=gen).to(device)
    labels = torch.nn.functional.one_hot(torch.randint(0, 10, (samples,), generator=gen), 10)
    labels = labels.float().to(device)

    def step(theta=theta, beta=beta):
        (w1, b1), (w2, b2) = bottom_up.unflatten(theta)
        inputs = x.expand(len(theta), -1, -1)
        hidden = torch.tanh(torch.baddbmm(b1, inputs, w1))
        probs = torch.softmax(torch.baddbmm(b2, hidden, w2), -1)
        state = torch.cat([probs, labels.expand(len(theta), -1, -1)], -1)  # [P, N, 20]
        credit = tdca(beta, state)  # [P, N, 110]
        dw2, db2 = hebbian_update(hidden, credit[..., :10])
        dw1, db1 = hebbian_update(inputs, credit[..., 10:], 1 - hidden**2)
        return torch.cat([dw1.flatten(1), db1, dw2.flatten(1), db2], 1)

    def looped():
        return torch.cat([step(theta[p : p + 1], beta[p : p + 1]) for p in range(population)])

    return step, looped


def matmul_gflops(device, repeats: int, n: int = 4096) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 / timed(lambda: a @ b, device, repeats) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
    print(f"device: {device} ({name}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")

    print(f"Gaussian task (quick profile): {gaussian_generations_per_second(device):.1f} "
          "generations/s")

    peak = matmul_gflops(device, args.repeats)
    print(f"float32 matmul 4096x4096: {peak:.1f} GFLOP/s")
    step, looped = supervised_step(32, 1000, device)
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
