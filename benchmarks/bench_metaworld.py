"""Benchmark of the population-batched Meta-World environments. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_metaworld.py [--members 8] [--max-steps 150] [--seconds 5]

Simulator steps per second with uniformly random actions, measured in the same run:

- one plain Meta-World environment per task type, stepped in a Python loop, reset every
  ``max_steps`` steps (the time split evenly between the three task types);
- tdca_lib.experiments.metaworld_envs.MetaWorldPopulation on the training variants (P members x 9
rows),
  whole episodes from ``reset`` until done, on a plain list of environments and on gymnasium's
  SyncVectorEnv; with the time it takes to build and the memory per row (resident set growth,
  of the first build only).

Then the projected simulator time of one generation at a few scales: every member trains an
agent on the 9 training variants for U updates (one episode each) and plays one more episode for
its fitness, so P * 9 * (U + 1) * T steps at the measured rate (the TDCA network's own compute
not included).
"""

from __future__ import annotations

import argparse
import time

import torch
from common import describe

from tdca_lib.experiments import metaworld_envs as mw

# (P, U, T): population, agent updates, episode length; the last is the paper's RL scale.
SCALES = [(8, 5, 150), (8, 10, 150), (16, 10, 150), (16, 20, 150), (32, 20, 150),
          (32, 50, 500), (128, 200, 500)]


def single_env_steps_per_second(seconds: float, max_steps: int, seed: int = 0) -> float:
    """One bare Meta-World environment per task type in a Python loop, ``seconds / 3`` each."""
    gen = torch.Generator().manual_seed(seed)
    actions = (2 * torch.rand(max_steps, 4, generator=gen) - 1).numpy()
    steps, elapsed = 0, 0.0
    for variant in mw.variants("train")[::3]:  # the first variant of each task type
        env = mw._bare_env(variant.task_type, variant)
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            env.reset()
            for action in actions:
                env.step(action)
            steps += len(actions)
        elapsed += time.perf_counter() - start
        env.close()
    return steps / elapsed


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def population_steps_per_second(env: mw.MetaWorldPopulation, seconds: float) -> float:
    """Row-steps per second over whole episodes (every row runs all ``max_steps`` steps)."""
    gen = torch.Generator().manual_seed(0)
    steps, episode, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds or episode == 0:
        actions = 2 * torch.rand(env.max_steps, env.population, 4, generator=gen) - 1
        env.reset(seed=episode)
        done = torch.zeros(env.population, dtype=torch.bool)
        for action in actions:
            _, _, done = env.step(action)
            steps += env.population
            if done.all():
                break
        episode += 1
    return steps / (time.perf_counter() - start)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8, help="P")
    parser.add_argument("--max-steps", type=int, default=150, help="T of each episode")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    args = parser.parse_args()
    print(describe(torch.device("cpu")))
    print(f"random actions, episodes of "
          f"{args.max_steps} steps; P={args.members} members x 9 training variants")
    single = single_env_steps_per_second(args.seconds, args.max_steps)
    header = f"{'simulator':<40} {'build s':>8} {'MB/row':>7} {'steps/s':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    print(f"{'1 bare Meta-World env, Python loop':<40} {'':>8} {'':>7} {single:>8,.0f} "
          f"{1.0:>5.1f}x")
    rates = {}
    for vectorization in ("list", "sync"):
        before, start = resident_mb(), time.perf_counter()
        env = mw.MetaWorldPopulation(args.members, "train", max_steps=args.max_steps,
                                     vectorization=vectorization)
        build = time.perf_counter() - start
        # Memory once: the second build reuses what the first freed, so its RSS growth is low.
        per_row = f"{(resident_mb() - before) / env.population:.1f}" if not rates else "-"
        rates[vectorization] = population_steps_per_second(env, args.seconds)
        env.close()
        label = f"MetaWorldPopulation {env.population} rows, {vectorization}"
        print(f"{label:<40} {build:>8.1f} {per_row:>7} {rates[vectorization]:>8,.0f} "
              f"{rates[vectorization] / single:>5.1f}x")
    rate = max(rates.values())
    print(f"\nprojected simulator time of one generation at {rate:,.0f} steps/s: "
          f"P * 9 * (U + 1) * T / rate")
    print(f"{'P':>4} {'U':>4} {'T':>4} {'steps':>12} {'generation':>11}")
    for p, u, t in SCALES:
        steps = p * 9 * (u + 1) * t
        print(f"{p:>4} {u:>4} {t:>4} {steps:>12,} {duration(steps / rate):>11}")


if __name__ == "__main__":
    main()
