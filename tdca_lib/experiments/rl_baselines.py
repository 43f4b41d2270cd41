"""The RL baselines of Table S5: REINFORCE (Policy Gradient) on CartPole-v1, written here the way
it is taught, and TD3 on the continuous tasks from stable-baselines3 (a well-kept implementation;
we do not write TD3 by hand) with RL Baselines3 Zoo's tuned hyperparameters.

Each returns a learning curve (return per training episode, with the environment steps so far)
and the final policy's mean return on fresh evaluation episodes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..machinery.checkpoints import current_commit, versions
from ..machinery.files import ROOT, atomic_write_text

EVAL_SEED = 10_000  # evaluation episodes start here, away from the training seeds


@dataclass
class BaselineRun:
    """One seed's run: ``curve`` = (environment steps so far, return) per training episode."""

    method: str
    task: str
    seed: int
    env_steps: list[int]
    returns: list[float]
    final: float  # mean return of the trained policy on ``eval_episodes`` fresh episodes
    eval_episodes: int
    success: float | None = None  # Meta-World: share of evaluation episodes that succeeded


# --- REINFORCE with a baseline (Sutton & Barto, sec. 13.4) -------------------------------------


def reinforce(task: str = "CartPole-v1", episodes: int = 300, seed: int = 0, hidden: int = 16,
              lr: float = 0.01, gamma: float = 0.99, eval_episodes: int = 10) -> BaselineRun:
    """Monte-Carlo policy gradient with a learned state-value baseline, one episode an update.

    The policy is the TDCA agents' architecture (obs-16-actions, tanh), sampling its actions;
    the value network has the same shape with one output. Adam at ``lr`` for both (our choice).
    """
    env = gym.make(task)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"REINFORCE here is for discrete actions; {task} is continuous")
    torch.manual_seed(seed)
    obs_dim, actions = env.observation_space.shape[0], env.action_space.n
    policy = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, actions))
    value = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam([*policy.parameters(), *value.parameters()], lr=lr)
    steps, curve_steps, curve_returns = 0, [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed * 100_000 + episode)
        states, log_probs, rewards = [], [], []
        done = False
        while not done:
            state = torch.as_tensor(obs, dtype=torch.float32)
            dist = torch.distributions.Categorical(logits=policy(state))
            action = dist.sample()
            obs, reward, terminated, truncated, _ = env.step(action.item())
            states.append(state)
            log_probs.append(dist.log_prob(action))
            rewards.append(float(reward))
            done = terminated or truncated
        # Returns-to-go G_t, and the advantage G_t - V(s_t) that scales each log-probability.
        returns, running = [], 0.0
        for reward in reversed(rewards):
            running = reward + gamma * running
            returns.append(running)
        returns = torch.tensor(returns[::-1])
        baseline = value(torch.stack(states)).squeeze(-1)
        advantage = returns - baseline.detach()
        loss = -(torch.stack(log_probs) * advantage).sum() + ((returns - baseline) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += len(rewards)
        curve_steps.append(steps)
        curve_returns.append(sum(rewards))

    def greedy(obs: np.ndarray) -> int:
        with torch.no_grad():
            return int(policy(torch.as_tensor(obs, dtype=torch.float32)).argmax())

    final = mean_return(env, greedy, eval_episodes)
    env.close()
    return BaselineRun("REINFORCE", task, seed, curve_steps, curve_returns, final, eval_episodes)


def mean_return(env: gym.Env, policy, episodes: int, successes: list | None = None) -> float:
    """Mean return of ``policy(obs) -> action`` on ``episodes`` fresh episodes (seeds from
    :data:`EVAL_SEED`); appends to ``successes`` whether each episode ever reported
    ``info["success"]`` (Meta-World)."""
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + k)
        done, success = False, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            total += float(reward)
            success = success or bool(info.get("success", 0))
            done = terminated or truncated
        if successes is not None:
            successes.append(success)
    return total / episodes


# --- TD3 from stable-baselines3 ----------------------------------------------------------------

# RL Baselines3 Zoo's tuned TD3 hyperparameters (hyperparams/td3.yml) and its step budgets.
ZOO_TD3 = {
    "Pendulum-v1": dict(timesteps=20_000, gamma=0.98, buffer_size=200_000,
                        learning_starts=10_000, learning_rate=1e-3, noise_std=0.1,
                        net_arch=[400, 300]),
    "BipedalWalker-v3": dict(timesteps=1_000_000, gamma=0.98, buffer_size=200_000,
                             learning_starts=10_000, learning_rate=1e-3, noise_std=0.1,
                             net_arch=[400, 300]),
}


def td3(task: str, timesteps: int | None = None, seed: int = 0, eval_episodes: int = 10,
        **overrides) -> BaselineRun:
    """Train stable-baselines3's TD3 on ``task`` for ``timesteps`` environment steps (the Zoo's
    budget if None) with the Zoo's hyperparameters (``overrides`` replace them)."""
    from stable_baselines3 import TD3
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.noise import NormalActionNoise

    if task not in ZOO_TD3:
        raise ValueError(f"no TD3 settings for {task!r}; valid: {', '.join(ZOO_TD3)}")
    hp = ZOO_TD3[task] | overrides
    env = Monitor(gym.make(task))  # records each training episode's return and length
    env.reset(seed=seed)
    actions = env.action_space.shape[0]
    model = TD3("MlpPolicy", env, gamma=hp["gamma"], buffer_size=hp["buffer_size"],
                learning_starts=hp["learning_starts"], learning_rate=hp["learning_rate"],
                action_noise=NormalActionNoise(np.zeros(actions),
                                               hp["noise_std"] * np.ones(actions)),
                policy_kwargs=dict(net_arch=hp["net_arch"]), seed=seed, verbose=0,
                device="cpu")
    model.learn(total_timesteps=timesteps or hp["timesteps"])
    lengths, returns = env.get_episode_lengths(), env.get_episode_rewards()
    final = mean_return(gym.make(task), lambda obs: model.predict(obs, deterministic=True)[0],
                     eval_episodes)
    return BaselineRun("TD3", task, seed, np.cumsum(lengths).tolist(),
                       [float(r) for r in returns], final, eval_episodes)


# --- SAC on one Meta-World variant ------------------------------------------------------------


def sac_metaworld(variant, timesteps: int, seed: int = 0, episode_steps: int = 150,
                  eval_episodes: int = 3, actor_hidden: int = 32) -> BaselineRun:
    """stable-baselines3's SAC with its default hyperparameters, trained on one Meta-World
    ``variant`` (:func:`tdca_lib.experiments.metaworld_envs.variants`) for ``timesteps`` steps of
    ``episode_steps``-step episodes: what a standard algorithm reaches per task at our budget.
    The actor has the TDCA agents' architecture (one hidden layer of ``actor_hidden``); the
    critics keep SAC's default.
    """
    from stable_baselines3 import SAC
    from stable_baselines3.common.monitor import Monitor

    from .metaworld_envs import gym_env

    env = Monitor(gym_env(variant, episode_steps))
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, device="cpu",
                learning_starts=min(1000, timesteps // 2),
                policy_kwargs=dict(net_arch=dict(pi=[actor_hidden], qf=[256, 256])))
    model.learn(total_timesteps=timesteps)
    successes: list[bool] = []
    final = mean_return(gym_env(variant, episode_steps),
                     lambda obs: model.predict(obs, deterministic=True)[0], eval_episodes,
                     successes)
    return BaselineRun("SAC", f"{variant.task_type}/{variant.split}{variant.index}", seed,
                       np.cumsum(env.get_episode_lengths()).tolist(),
                       [float(r) for r in env.get_episode_rewards()], final, eval_episodes,
                       sum(successes) / len(successes))


# --- Stored runs: the baselines take minutes a seed, so notebook 05 reads what this made -------

BASELINES = ROOT / "data" / "baselines"


def run_name(method: str, task: str, budget: int) -> str:
    """``td3-Pendulum-v1-20000steps``, ``reinforce-CartPole-v1-300episodes``."""
    unit = "episodes" if method == "reinforce" else "steps"
    return f"{method}-{task}-{budget}{unit}"


def save_runs(runs: list[BaselineRun], method: str, task: str, budget: int,
              folder: Path = BASELINES) -> Path:
    name = run_name(method, task, budget)
    record = {"name": name, "commit": current_commit(), "versions": versions(),
              "runs": [dataclasses.asdict(run) for run in runs]}
    return atomic_write_text(Path(folder) / f"{name}.json", json.dumps(record, indent=1))


def load_runs(method: str, task: str, budget: int,
              folder: Path = BASELINES) -> list[BaselineRun]:
    """The stored runs of ``method`` on ``task``; FileNotFoundError names the command that
    makes them."""
    name = run_name(method, task, budget)
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"baseline runs {name!r} not found in data/baselines; make them with: python -m "
            f"tdca_lib.experiments.rl_baselines --method {method} --task {task} --budget {budget}")
    return [BaselineRun(**run) for run in json.loads(path.read_text())["runs"]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a Table S5 baseline for several seeds and "
                                     "store the runs in data/baselines/.")
    parser.add_argument("--method", choices=("reinforce", "td3", "sac"), required=True)
    parser.add_argument("--task", required=True, help="a gymnasium task; Meta-World for sac")
    parser.add_argument("--budget", type=int, default=None,
                        help="episodes (reinforce, default 300) or environment steps (td3, "
                             "default: the Zoo's; sac, default: the environment steps one "
                             "agent gets in the quick TDCA inner loop)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds (sac: per variant)")
    args = parser.parse_args(argv)
    if (args.method == "sac") != (args.task == "Meta-World"):
        parser.error("sac is the Meta-World baseline, and Meta-World's only one: "
                     "--method sac --task Meta-World")
    if args.method == "sac":  # each training variant on its own, as the TDCA agents are
        from .metaworld_envs import variants
        from .rl import METAWORLD, agent_steps, settings_for

        settings = settings_for("quick", METAWORLD)
        budget = args.budget or agent_steps(settings)
        runs = [sac_metaworld(variant, budget, seed, settings.episode_steps,
                              actor_hidden=settings.agent_hidden)
                for variant in tqdm(variants("train")) for seed in range(args.seeds)]
    elif args.method == "reinforce":
        budget = args.budget or 300
        runs = [reinforce(args.task, budget, seed) for seed in tqdm(range(args.seeds))]
    else:
        budget = args.budget or ZOO_TD3[args.task]["timesteps"]
        runs = [td3(args.task, budget, seed) for seed in tqdm(range(args.seeds))]
    path = save_runs(runs, args.method, args.task, budget)
    print(f"{path}: final returns {[round(run.final, 1) for run in runs]}")


if __name__ == "__main__":
    main()
