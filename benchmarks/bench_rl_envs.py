"""Benchmark of the population-batched RL environments. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_rl_envs.py [--population 32] [--seconds 2.5]

For each task, simulator steps per second with uniformly random actions, measured in the same run:

- one plain gymnasium environment (``gym.make``) stepped in a Python loop, reset when its
  episode ends;
- the population environment of tdca_lib.rl_envs for P members, whole episodes from ``reset``
  until every member is done. Counted are the steps of members still running: a finished
  member's steps are free and would flatter the figure.

BipedalWalker-v3 runs twice, on gymnasium's sync and async vector envs, to check which is faster
on this machine (the default in rl_envs.BipedalWalker says which measured faster where).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch
from common import describe

from tdca_lib import rl_envs
from tdca_lib.device import resolve_device

# (task, keyword arguments of rl_envs.make, label)
CASES = [
    ("CartPole-v1", {}, "numpy vector env"),
    ("Pendulum-v1", {}, "torch"),
    ("BipedalWalker-v3", {"vectorization": "sync"}, "SyncVectorEnv"),
    ("BipedalWalker-v3", {"vectorization": "async"}, "AsyncVectorEnv"),
]


def single_env_steps_per_second(task: str, seconds: float, seed: int = 0) -> float:
    """One gymnasium environment in a Python loop, random actions drawn beforehand."""
    env = gym.make(task)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(1000)]
    env.reset(seed=seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        steps += len(actions)
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def random_actions(env: rl_envs.PopulationEnv, gen: torch.Generator) -> torch.Tensor:
    """``[T, P]`` (discrete) or ``[T, P, action_dim]`` random actions for a whole episode."""
    if env.discrete:
        return torch.randint(0, env.action_dim, (env.max_steps, env.population), generator=gen)
    uniform = torch.rand(env.max_steps, env.population, env.action_dim, generator=gen)
    return (2 * uniform - 1) * env.action_bound


def population_steps_per_second(env: rl_envs.PopulationEnv, seconds: float) -> tuple[float, float]:
    """Live member-steps per second and batched ``step`` calls per second, over whole episodes."""
    gen = torch.Generator().manual_seed(0)
    live_steps, calls, episode = 0, 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = random_actions(env, gen)
        env.reset(seed=episode * env.population)
        done = torch.zeros(env.population, dtype=torch.bool)
        for t in range(env.max_steps):
            live_steps += int((~done).sum())
            _, _, done = env.step(actions[t])
            calls += 1
            if done.all():
                break
        episode += 1
    elapsed = time.perf_counter() - start
    return live_steps / elapsed, calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="where Pendulum's torch dynamics run")
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.5, help="per measurement")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(describe(device))
    print(f"random actions; steps/s of one gym.make env vs live member-steps/s of a population "
          f"of P={args.population}")
    header = (f"{'task':<17} {'population env':<16} {'1 env':>9} {f'P={args.population}':>9} "
              f"{'ratio':>6} {'step() calls/s':>15}")
    print(header)
    print("-" * len(header))
    single: dict[str, float] = {}
    for task, kwargs, label in CASES:
        if task not in single:
            single[task] = single_env_steps_per_second(task, args.seconds)
        with rl_envs.make(task, args.population, device, **kwargs) as env:
            batched, calls = population_steps_per_second(env, args.seconds)
        print(f"{task:<17} {label:<16} {single[task]:>9,.0f} {batched:>9,.0f} "
              f"{batched / single[task]:>5.1f}x {calls:>15,.0f}")


if __name__ == "__main__":
    main()
