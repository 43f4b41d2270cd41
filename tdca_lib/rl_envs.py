"""Population-batched environments for the reinforcement-learning tasks.

One object simulates one task for a whole population: member ``p`` runs its own episode, and all
members step together on ``[P, ...]`` tensors (P = population).

    env = make("CartPole-v1", population=32)
    obs = env.reset(seed=0)                     # [P, obs_dim]
    fitness = torch.zeros(env.population)
    done = torch.zeros(env.population, dtype=torch.bool)
    while not done.all():
        obs, reward, done = env.step(policy(obs))
        fitness += reward

Contract of :meth:`PopulationEnv.step`:

- ``done[p]`` is ``terminated or truncated`` (gymnasium's terms); the time limit is the task's
  ``max_steps``, so every member is done after ``max_steps`` steps at the latest.
- A finished member stays finished: afterwards ``done[p]`` stays True, ``reward[p]`` is 0 and
  ``obs[p]`` stays the observation of its finishing step; its actions are ignored. No autoreset
  of the underlying gymnasium environments ever shows through. So the loop above sums each
  member's episode return, and summing rewards over extra steps changes nothing.

Seeds: ``reset(seed)`` starts member ``p`` exactly as ``gymnasium.make(task).reset(seed=seed + p)``
would (gymnasium's own convention for vector environments), so any member can be replayed alone.
Seeds are non-negative integers.

Backends: CartPole-v1 is gymnasium's numpy-vectorised CartPole; Pendulum-v1 is a torch
re-implementation (gymnasium has no vector version), equal to gymnasium's step for step;
BipedalWalker-v3 is one gymnasium environment per member in a Sync/Async vector env.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode


class PopulationEnv:
    """One task simulated for a population; see the module docstring for the contract.

    Attributes:
        name: gymnasium's task id, e.g. ``"CartPole-v1"``.
        population: P, the number of members.
        obs_dim: length of one member's observation.
        action_dim: length of one member's action, or, when ``discrete``, the number of actions.
        discrete: actions are ``[P]`` integers in ``[0, action_dim)``, else ``[P, action_dim]``
            floats.
        action_bound: continuous actions are valid in ``[-action_bound, action_bound]``
            (gymnasium clips beyond); None when discrete.
        max_steps: the time limit of an episode.
        device: where the returned tensors live.
    """

    name: str
    obs_dim: int
    action_dim: int
    discrete: bool
    action_bound: float | None
    max_steps: int

    def __init__(self, population: int, device: torch.device | str = "cpu"):
        if population < 1:
            raise ValueError(f"population must be >= 1, got {population}")
        self.population = population
        self.device = torch.device(device)
        self._obs: torch.Tensor | None = None
        self._done = torch.zeros(population, dtype=torch.bool, device=self.device)

    def context(self) -> torch.Tensor | None:
        """``[P, context_dim]`` what else the TDCA network is told each step (Meta-World: the
        one-hot task type), or None."""
        return None

    context_dim = 0

    def reset(self, seed: int) -> torch.Tensor:
        """Start every member's episode (member ``p`` from ``seed + p``): obs ``[P, obs_dim]``."""
        if not (isinstance(seed, int) and seed >= 0):
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self._obs = self._reset(seed).to(self.device, torch.float32)
        self._done = torch.zeros(self.population, dtype=torch.bool, device=self.device)
        return self._obs.clone()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step all members: actions ``[P]`` (discrete) or ``[P, action_dim]``.

        Returns obs ``[P, obs_dim]`` float32, reward ``[P]`` float32 and done ``[P]`` bool; finished
        members stay done, with reward 0 and their final observation.
        """
        if self._obs is None:
            raise RuntimeError("call reset(seed) before step()")
        expected = (self.population,) if self.discrete else (self.population, self.action_dim)
        if tuple(actions.shape) != expected:
            raise ValueError(f"{self.name}: actions must have shape {expected}, "
                             f"got {tuple(actions.shape)}")
        if self._done.all():
            # Nothing left to simulate; answer without touching the simulator.
            reward = torch.zeros(self.population, device=self.device)
            return self._obs.clone(), reward, self._done.clone()
        obs, reward, ended = self._step(actions)
        was_done = self._done
        obs = obs.to(self.device, torch.float32)
        reward = reward.to(self.device, torch.float32)
        self._obs = torch.where(was_done[:, None], self._obs, obs)
        reward = torch.where(was_done, 0.0, reward)
        self._done = was_done | ended.to(self.device)
        return self._obs.clone(), reward, self._done.clone()

    def close(self) -> None:
        """Release the simulator's resources (worker processes); a no-op where there are none."""

    def __enter__(self) -> PopulationEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, population={self.population})"

    # Subclasses simulate; the contract (masking finished members) lives in reset/step above.
    def _reset(self, seed: int) -> torch.Tensor:
        raise NotImplementedError

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw step: obs ``[P, obs_dim]``, reward ``[P]``, ended ``[P]`` bool (masked by step)."""
        raise NotImplementedError


class CartPole(PopulationEnv):
    """CartPole-v1 on gymnasium's numpy-vectorised ``CartPoleVectorEnv``: 4 observations, 2
    actions (push left, push right), reward 1 per step, 500 steps at most."""

    name = "CartPole-v1"
    obs_dim, action_dim, discrete, action_bound = 4, 2, True, None

    def __init__(self, population: int, device: torch.device | str = "cpu"):
        super().__init__(population, device)
        self.max_steps = gym.spec(self.name).max_episode_steps
        self.vec = gym.make_vec(self.name, num_envs=population,
                                vectorization_mode="vector_entry_point")

    def _reset(self, seed: int) -> torch.Tensor:
        self.vec.reset(seed=seed)
        # The vector env draws all members from one generator seeded once; redraw each member's
        # start as CartPoleEnv.reset(seed=seed + p) does, so the seed convention is the same as
        # for the other tasks. `state` is [4, P], float64.
        state = np.stack([seeding.np_random(seed + p)[0].uniform(-0.05, 0.05, size=(4,))
                          for p in range(self.population)], axis=1)
        self.vec.unwrapped.state = state
        return torch.from_numpy(state.T.astype(np.float32))

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # The vector env resets a finished member on its next step (AutoresetMode.NEXT_STEP, its
        # only mode); PopulationEnv.step masks those members, so the restart never shows.
        actions = actions.detach().cpu().numpy().astype(np.int64)
        obs, reward, terminated, truncated, _ = self.vec.step(actions)
        return (torch.from_numpy(obs), torch.from_numpy(reward),
                torch.from_numpy(terminated | truncated))

    def close(self) -> None:
        self.vec.close()


class Pendulum(PopulationEnv):
    """Pendulum-v1 re-implemented in torch, batched; equal to gymnasium's ``PendulumEnv`` step for
    step (gymnasium/envs/classic_control/pendulum.py, g = 10).

    Observation ``[cos theta, sin theta, theta_dot]``, one torque action clipped to [-2, 2], reward
    ``-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)``, 200 steps (truncation only).
    The state is float64 and the torque float32, the dtypes gymnasium computes in, so the float32
    observations agree to the last bit or two.
    """

    name = "Pendulum-v1"
    obs_dim, action_dim, discrete = 3, 1, False
    max_speed, max_torque, dt, g, mass, length = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0
    action_bound = max_torque

    def __init__(self, population: int, device: torch.device | str = "cpu"):
        super().__init__(population, device)
        self.max_steps = gym.spec(self.name).max_episode_steps
        self.state = torch.zeros(population, 2, dtype=torch.float64, device=self.device)
        self.t = 0

    def _observe(self) -> torch.Tensor:
        th, thdot = self.state.unbind(1)
        return torch.stack([th.cos(), th.sin(), thdot], dim=1).float()

    def _reset(self, seed: int) -> torch.Tensor:
        # As PendulumEnv.reset: theta ~ U(-pi, pi), theta_dot ~ U(-1, 1) from np_random(seed + p).
        high = np.array([np.pi, 1.0])
        state = np.stack([seeding.np_random(seed + p)[0].uniform(low=-high, high=high)
                          for p in range(self.population)])
        self.state = torch.from_numpy(state).to(self.device)
        self.t = 0
        return self._observe()

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        th, thdot = self.state.unbind(1)
        u = actions.to(self.device, torch.float32)[:, 0].clamp(-self.max_torque, self.max_torque)
        # The torque terms stay float32 until added to float64, as numpy computes them.
        costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + (0.001 * u**2).double()
        torque = (3.0 / (self.mass * self.length**2) * u).double()
        newthdot = thdot + (3 * self.g / (2 * self.length) * th.sin() + torque) * self.dt
        newthdot = newthdot.clamp(-self.max_speed, self.max_speed)
        newth = th + newthdot * self.dt
        self.state = torch.stack([newth, newthdot], dim=1)
        self.t += 1
        ended = torch.full((self.population,), self.t >= self.max_steps, device=self.device)
        return self._observe(), -costs, ended


def angle_normalize(x: torch.Tensor) -> torch.Tensor:
    """Angle into [-pi, pi) (torch.remainder, like numpy's %, takes the sign of the divisor)."""
    return torch.remainder(x + math.pi, 2 * math.pi) - math.pi


class _FreezeWhenDone(gym.Wrapper):
    """Wraps one member's environment: once its episode ends it stops simulating and returns its
    final observation with reward 0.

    It never reports terminated/truncated to the vector env (which would then autoreset it, or,
    with autoreset disabled, refuse to step it); the end is signalled once, by ``info["done"]`` on
    the finishing step. So a finished walker costs next to nothing while the rest of the
    population walks on: with random actions most walkers fall within ~100 steps while a few
    stand for all 1600.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._done = False
        self._last_obs, info = self.env.reset(seed=seed, options=options)
        return self._last_obs, info

    def step(self, action):
        if self._done:
            return self._last_obs, 0.0, False, False, {}
        self._last_obs, reward, terminated, truncated, info = self.env.step(action)
        self._done = bool(terminated or truncated)
        return self._last_obs, reward, False, False, {"done": True} if self._done else info


class BipedalWalker(PopulationEnv):
    """BipedalWalker-v3 (Box2D): 24 observations, 4 motor actions in [-1, 1], 1600 steps at most;
    falling ends the episode with reward -100.

    One gymnasium environment per member in a gymnasium vector env. ``vectorization="sync"``
    steps them in this process, ``"async"`` in one worker process each. Sync is the default
    because it measured faster here (2 busy CPU cores, P = 32, benchmarks/bench_rl_envs.py):
    7.5k-8k vs 2.8k-3.3k live member-steps/s (async with max_concurrency=2 too); a Box2D step
    (~0.1 ms) is too short to pay for a pipe round trip per member. Async may win on a machine
    with many idle cores.
    """

    name = "BipedalWalker-v3"
    obs_dim, action_dim, discrete, action_bound = 24, 4, False, 1.0

    def __init__(self, population: int, device: torch.device | str = "cpu",
                 vectorization: str = "sync"):
        super().__init__(population, device)
        if vectorization not in ("sync", "async"):
            raise ValueError(f"vectorization must be 'sync' or 'async', got {vectorization!r}")
        self.max_steps = gym.spec(self.name).max_episode_steps
        self.vec = gym.make_vec(self.name, num_envs=population, vectorization_mode=vectorization,
                                wrappers=[_FreezeWhenDone],
                                vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED})

    def _reset(self, seed: int) -> torch.Tensor:
        obs, _ = self.vec.reset(seed=seed)  # an int seed gives member p the seed seed + p
        return torch.from_numpy(obs)

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        obs, reward, _, _, info = self.vec.step(actions.detach().cpu().numpy().astype(np.float32))
        ended = info["done"] & info["_done"] if "done" in info else np.zeros(self.population, bool)
        return torch.from_numpy(obs), torch.from_numpy(reward), torch.from_numpy(ended)

    def close(self) -> None:
        self.vec.close()


TASKS: dict[str, type[PopulationEnv]] = {
    cls.name: cls for cls in (CartPole, Pendulum, BipedalWalker)
}


def make(task: str, population: int, device: torch.device | str = "cpu",
         **kwargs) -> PopulationEnv:
    """The population-batched environment of ``task`` (a gymnasium id, e.g. ``"Pendulum-v1"``);
    ``kwargs`` go to its class (e.g. ``vectorization="async"`` for BipedalWalker-v3)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    return TASKS[task](population, device, **kwargs)
