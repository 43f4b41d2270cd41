"""Benchmark of the population-batched RL environments. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_rl_envs.py [--population 32 128] [--seconds 2.5]
        [--tasks CartPole-v1 Pendulum-v1]

For each task, simulator steps per second with uniformly random actions, measured in the same run:

- one plain gymnasium environment (``gym.make``) stepped in a Python loop, reset when its
  episode ends;
- the population environment of tdca_lib.experiments.rl_envs for P members, whole episodes from
``reset``
  until every member is done. Counted are the steps of members still running: a finished
  member's steps are free and would flatter the figure. With random actions a CartPole member
  falls after ~22 steps while the population's episode lasts until its last member falls, so
  only about a third of the member-steps count.

Both loops draw their random actions before the clock starts, and the population loop keeps its
books with ``env.live`` (a Python int), so the figures are the simulators' own.

BipedalWalker-v3 runs twice, on gymnasium's sync and async vector envs, to check which is faster
on this machine (the default in rl_envs.BipedalWalker says which measured faster where); async
only up to P = 32 (one worker process per member).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch
from common import describe

from tdca_lib.experiments import rl_envs
from tdca_lib.machinery.device import resolve_device

# (task, keyword arguments of rl_envs.make, label, largest population)
CASES = [
    ("CartPole-v0", {}, "numba", None),
    ("CartPole-v1", {}, "numba", None),
    ("Pendulum-v1", {}, "numpy", None),
    ("BipedalWalker-v3", {"vectorization": "sync"}, "SyncVectorEnv", None),
    ("BipedalWalker-v3", {"vectorization": "async"}, "AsyncVectorEnv", 32),
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
    """Live member-steps per second and batched ``step`` calls per second, over whole episodes
    (every episode from its own seeds, all with the same random actions)."""
    actions = list(random_actions(env, torch.Generator().manual_seed(0)))
    live_steps, calls, episode = 0, 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.reset(seed=episode * env.population)
        for action in actions:
            live_steps += env.live  # members not done before this step
            env.step(action)
            calls += 1
            if not env.live:
                break
        episode += 1
    elapsed = time.perf_counter() - start
    return live_steps / elapsed, calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="where the returned tensors live")
    parser.add_argument("--population", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--tasks", nargs="+", default=None,
                        help="only these tasks (default: all)")
    parser.add_argument("--seconds", type=float, default=2.5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5,
                        help="measurements split into interleaved rounds; the best round counts")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(describe(device))
    print(f"random actions; steps/s of one gym.make env vs live member-steps/s of a population "
          f"of P members; best of {args.rounds} interleaved rounds (on a shared machine the "
          f"slowest rounds measure the neighbours)")
    header = (f"{'task':<17} {'population env':<15} {'P':>4} {'1 env':>9} {'population':>11} "
              f"{'ratio':>6} {'step() calls/s':>15} {'us/call':>8}")
    print(header)
    print("-" * len(header))
    seconds = args.seconds / args.rounds
    for task, kwargs, label, largest in CASES:
        if args.tasks and task not in args.tasks:
            continue
        populations = [p for p in args.population if not largest or p <= largest]
        envs = [rl_envs.make(task, p, device, **kwargs) for p in populations]
        single, batched = 0.0, [(0.0, 0.0)] * len(envs)
        for _ in range(args.rounds):
            single = max(single, single_env_steps_per_second(task, seconds))
            batched = [max(best, population_steps_per_second(env, seconds))
                       for best, env in zip(batched, envs)]
        for env, (steps, calls) in zip(envs, batched):
            env.close()
            print(f"{task:<17} {label:<15} {env.population:>4} {single:>9,.0f} "
                  f"{steps:>11,.0f} {steps / single:>5.1f}x {calls:>15,.0f} {1e6 / calls:>8.1f}")


if __name__ == "__main__":
    main()
