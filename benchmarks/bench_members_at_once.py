"""How many TDCA members a supervised fitness call should train together. Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_members_at_once.py [--population 512] [--at-once 512 128 32 8]

One PGPE generation's fitness (``supervised.fitness_function``: 20 inner steps on 1000 MNIST
samples, Table 1's cheapest setting) for ``--population`` members and the centre, trained all
together or a few at a time, on this machine's CPU with torch's threads as printed. The value
each member gets does not depend on the split (a test checks it); only the time does: a large
population's activity ([members, 1000, 100] floats a layer) no longer fits in cache. Chooses
``supervised.CPU_MEMBERS_AT_ONCE``. On a shared machine other processes slow every row: compare
rows of one run, and rerun.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import describe

from tdca_lib.experiments import scale, supervised
from tdca_lib.machinery import data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=512)
    parser.add_argument("--at-once", type=int, nargs="+", default=[512, 128, 32, 8])
    parser.add_argument("--repeats", type=int, default=2, help="timed calls, the best counts")
    args = parser.parse_args()
    print(describe(torch.device("cpu")))
    run = scale.ScaleRun(args.population)
    train = data.load(run.dataset).subset(run.train_size)
    start = scale.start_for(run, train)
    members = args.population + 1  # and the centre, as evolution evaluates them
    beta = start + run.settings.sigma * torch.randn(members, start.numel(),
                                                    generator=torch.Generator().manual_seed(0))
    print(f"{members} members, 20 steps on 1000 samples; default at once on a CPU: "
          f"{supervised.CPU_MEMBERS_AT_ONCE}")
    for at_once in args.at_once:
        fitness = supervised.fitness_function(run.settings, [train], members_at_once=at_once)
        best = float("inf")
        for _ in range(args.repeats):
            began = time.perf_counter()
            fitness(beta, 0)
            best = min(best, time.perf_counter() - began)
        print(f"{at_once:>5} at once: {best:7.1f} s a generation, "
              f"{1000 * best / members:6.1f} ms a member", flush=True)


if __name__ == "__main__":
    main()
