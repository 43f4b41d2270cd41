"""Benchmark of the population sharded over processes. Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_distributed.py [--runs supervised rl] [--generations 5]

Launches the same evolution under ``torchrun --nproc-per-node 1`` and ``2`` (gloo, each process
one CPU thread, as each would have one device), and once as one process with two threads (the
same cores used by torch's intra-op threads instead), and prints generations per second. Two
runs at the ``quick`` profile's scale: supervised (population 32, 20 inner steps on 1000
samples of 784 features: random ones, which cost what MNIST does) and RL (CartPole-v1,
population 32, 50 updates). A run of the same shape with a trivial fitness measures what
sharding adds a generation (PGPE's ask and tell, the gather), the fixed part of the prediction

    t(N) = t_fitness(1) * ceil((P + 1) / N) / (P + 1) + t_fixed(N)

that the README uses for N devices.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("supervised", "rl")


def make_run(name: str):
    """(fitness, PGPE) of the run ``name`` at the quick profile's scale; ``+trivial``: the same
    PGPE with a fitness that costs nothing."""
    from tdca_lib.experiments import rl, supervised
    from tdca_lib.machinery import data
    from tdca_lib.method.pgpe import PGPE

    kind = name.removesuffix("+trivial")
    if kind == "supervised":
        settings = supervised.PROFILES.get("quick", load_evolved_from=None)
        g = torch.Generator().manual_seed(0)
        dataset = data.Dataset("mnist", torch.rand(settings.train_size, 784, generator=g),
                               torch.randint(0, 10, (settings.train_size,), generator=g),
                               torch.rand(10, 784), torch.randint(0, 10, (10,)), "random")
        tdca = supervised.tdca_network(settings, supervised.bottom_up_network(settings, 784))
        fitness = supervised.fitness_function(settings, [dataset])
    else:
        settings = rl.settings_for("quick", "CartPole-v1", load_evolved_from=None)
        env = rl.make_env(settings, 1)
        tdca = rl.tdca_network(settings, env, rl.agent_network(settings, env))
        fitness = rl.fitness_function(settings)
    pgpe = PGPE(tdca.init(torch.Generator().manual_seed(0)), population=settings.population,
                sigma=settings.sigma, center_lr=settings.center_lr)
    if name.endswith("+trivial"):
        def fitness(params, generation, share=None):
            return params[:, 0]
    return fitness, pgpe


def worker(name: str, generations: int) -> None:
    """Under torchrun: one warm-up generation, then ``generations`` timed; rank 0 prints."""
    from tdca_lib.method.distributed import is_main_process, world_size
    from tdca_lib.method.outer_loop import evolve

    fitness, pgpe = make_run(name)
    evolve(fitness, pgpe, 1, progress=False)
    start = time.perf_counter()
    evolve(fitness, pgpe, 1 + generations, progress=False)
    seconds = (time.perf_counter() - start) / generations
    if is_main_process():
        print("RESULT " + json.dumps({"run": name, "processes": world_size(),
                                      "threads": torch.get_num_threads(),
                                      "population": pgpe.population, "seconds": seconds}))


def launch(name: str, processes: int, threads: int, generations: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={processes}",
         "--master-addr=127.0.0.1", f"--master-port={port}", __file__, "--worker", name,
         "--generations", str(generations)],
        env=env, capture_output=True, text=True, timeout=3600)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{name} with {processes} processes failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[0].removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", choices=RUNS, default=list(RUNS))
    parser.add_argument("--generations", type=int, default=5, help="timed, after one warm-up")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.generations)
    print(f"{os.cpu_count()} CPU cores (load average {os.getloadavg()[0]:.1f} at the start: "
          f"other jobs share them), torch {torch.__version__}; gloo; {args.generations} timed "
          "generations a launch")
    for name in args.runs:
        fixed = {n: launch(f"{name}+trivial", n, 1, args.generations)["seconds"] for n in (1, 2)}
        one = launch(name, 1, 1, args.generations)
        for processes, threads in ((1, 1), (2, 1), (1, 2)):
            r = one if (processes, threads) == (1, 1) else launch(
                name, processes, threads, args.generations)
            print(f"{name:10s} population {r['population']}: {processes} process(es) x "
                  f"{threads} thread(s): {1 / r['seconds']:6.3f} generations/s "
                  f"({r['seconds']:6.2f} s each; x{one['seconds'] / r['seconds']:.2f})")
        members = one["population"] + 1
        fitness_time = one["seconds"] - fixed[1]
        print(f"{name:10s} fixed part of a generation (trivial fitness): "
              + ", ".join(f"{n} process(es) {1e3 * t:.1f} ms" for n, t in fixed.items()))
        for n in (2, 4, 8):
            share = -(-members // n)
            predicted = fitness_time * share / members + fixed[2]
            print(f"{name:10s} prediction for {n} devices like one of these processes: "
                  f"{1 / predicted:6.3f} generations/s (x{one['seconds'] / predicted:.2f}; "
                  f"{share} of {members} members each)")


if __name__ == "__main__":
    main()
