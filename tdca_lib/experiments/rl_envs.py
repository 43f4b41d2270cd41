"""Population-batched environments for the reinforcement-learning tasks.

One object simulates one task for a whole population: member ``p`` runs its own episode, and all
members step together on ``[P, ...]`` tensors (P = population).

    env = make("CartPole-v1", population=32)
    obs = env.reset(seed=0)                     # [P, obs_dim]
    fitness = torch.zeros(env.population)
    while env.live:                             # members still running
        obs, reward, done = env.step(policy(obs))
        fitness += reward

Contract of :meth:`PopulationEnv.step`:

- ``done[p]`` is ``terminated or truncated`` (gymnasium's terms); the time limit is the task's
  ``max_steps``, so every member is done after ``max_steps`` steps at the latest.
- A finished member stays finished: afterwards ``done[p]`` stays True, ``reward[p]`` is 0 and
  ``obs[p]`` stays the observation of its finishing step; its actions are ignored. No autoreset
  of the underlying gymnasium environments ever shows through. So the loop above sums each
  member's episode return, and summing rewards over extra steps changes nothing.
- ``env.live`` counts the members not yet done (a Python int, free to read): 0 once every
  member is done, which is what ``done.all()`` would say without a tensor operation.
- The returned tensors are fresh each step: keeping or changing them never touches the env.

Seeds: ``reset(seed)`` starts member ``p`` exactly as ``gymnasium.make(task).reset(seed=seed + p)``
would (gymnasium's own convention for vector environments), so any member can be replayed alone.
Seeds are non-negative integers.

Backends: CartPole (v0: 200 steps, v1: 500; one compiled loop over the members) and Pendulum-v1
(one numpy array program for all members) are re-implemented on float64 arrays; they compute
gymnasium's expressions in gymnasium's order and dtypes, so they equal gymnasium's environments
step for step, to the bit (tested).
BipedalWalker-v3 is one gymnasium environment per member in a Sync/Async vector env.
"""

from __future__ import annotations

import functools
import math

import gymnasium as gym
import numba
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
        live: how many members are still running (0 before the first reset).
        member_steps: steps simulated for running members since the env was made (a member
            that is done costs none): the environment steps its agents consumed.
        seed_decides_episode: an episode depends only on its seed and the actions, not on the
            episodes played before it (False for Box2D, whose world outlives an episode and
            changes its last float digits).
    """

    seed_decides_episode = True
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
        self.live = 0
        self.member_steps = 0
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
        self._action_shape = ((self.population,) if self.discrete
                              else (self.population, self.action_dim))
        self._obs = self._reset(seed).to(self.device, torch.float32)
        self._done = torch.zeros(self.population, dtype=torch.bool, device=self.device)
        self.live = self.population
        return self._obs.clone()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step all members: actions ``[P]`` (discrete) or ``[P, action_dim]``.

        Returns obs ``[P, obs_dim]`` float32, reward ``[P]`` float32 and done ``[P]`` bool; finished
        members stay done, with reward 0 and their final observation.
        """
        if self._obs is None:
            raise RuntimeError("call reset(seed) before step()")
        if actions.shape != self._action_shape:
            raise ValueError(f"{self.name}: actions must have shape {self._action_shape}, "
                             f"got {tuple(actions.shape)}")
        if not self.live:
            # Nothing left to simulate; answer without touching the simulator.
            reward = torch.zeros(self.population, device=self.device)
            return self._obs.clone(), reward, self._done.clone()
        self.member_steps += self.live
        return self._advance(actions)

    def close(self) -> None:
        """Release the simulator's resources (worker processes); a no-op where there are none."""

    def __enter__(self) -> PopulationEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, population={self.population})"

    # Subclasses simulate; reset/step above check the calls.
    def _reset(self, seed: int) -> torch.Tensor:
        raise NotImplementedError

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step while some member runs, holding finished members as the contract says; here
        around :meth:`_step`, for simulators that do not hold them themselves."""
        obs, reward, ended = self._step(actions)
        was_done = self._done
        obs = obs.to(self.device, torch.float32)
        reward = reward.to(self.device, torch.float32)
        self._obs = torch.where(was_done[:, None], self._obs, obs)
        reward = torch.where(was_done, 0.0, reward)
        self._done = was_done | ended.to(self.device)
        self.live = self.population - int(self._done.sum())
        return self._obs.clone(), reward, self._done.clone()

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw step: obs ``[P, obs_dim]``, reward ``[P]``, ended ``[P]`` bool (masked by step)."""
        raise NotImplementedError


# --- Seeding: gymnasium's generator of each member, for all members at once -------------------
#
# gymnasium seeds an environment with Generator(PCG64(SeedSequence(seed))) (seeding.np_random).
# Building one costs ~20 us, so P of them took longer than a whole CartPole episode of the
# population. Below, the same integer arithmetic runs on [P] uint64 arrays: SeedSequence's hash
# of the seed (numpy's bit_generator.pyx), PCG64's seeding and its first draws (pcg64.h).
# tests/test_rl_envs.py compares it with seeding.np_random.

_MASK32 = np.uint64(0xFFFFFFFF)
_PCG64_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128


def _hash_constants(init: int, mult: int, calls: int) -> list[int]:
    """SeedSequence's running hash constant before each of ``calls`` hashes, and after."""
    values = [init]
    for _ in range(calls):
        values.append(values[-1] * mult & 0xFFFFFFFF)
    return values


_MIX_ENTROPY = _hash_constants(0x43B0D7E5, 0x931E8875, 4 + 4 * 3)  # INIT_A, MULT_A
_GENERATE_STATE = _hash_constants(0x8B51F9DD, 0x58F38DED, 8)  # INIT_B, MULT_B


def _pcg64_jumps(draws: int) -> tuple[list[int], list[int]]:
    """For draw k = 1..draws: M^(k+1) and 1 + M + ... + M^k (mod 2^128), M = PCG64's
    multiplier."""
    powers, sums = [], []
    power, total = _PCG64_MULT, 1
    for _ in range(draws):
        total = (total + power) % 2**128
        power = power * _PCG64_MULT % 2**128
        powers.append(power)
        sums.append(total)
    return powers, sums


@functools.cache
def _seeding_constants(population: int, draws: int) -> dict[str, np.ndarray]:
    """The constants of :func:`seeded_uniform`, each value repeated for the P members of its
    block: the arrays are flat ``[blocks * P]`` (numpy's 2-d iteration costs more than the
    longer 1-d arrays)."""
    def flat(values: list[int]) -> np.ndarray:
        return np.repeat(np.array(values, dtype=np.uint64), population)

    a, b = _MIX_ENTROPY, _GENERATE_STATE
    powers, sums = _pcg64_jumps(draws)
    return {
        "pool": (flat(a[0:4]), flat(a[1:5])),
        **{f"mix{src}": (flat(a[4 + 3 * src : 7 + 3 * src]), flat(a[5 + 3 * src : 8 + 3 * src]))
           for src in range(4)},
        "generate": (flat(b[0:8]), flat(b[1:9])),
        "power": (flat([v >> 64 for v in powers]), flat([v & (2**64 - 1) for v in powers])),
        "sum": (flat([v >> 64 for v in sums]), flat([v & (2**64 - 1) for v in sums])),
    }


def _hashmix(values: np.ndarray, constants: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """SeedSequence's hashmix of each element with its hash constants (before, after)."""
    h = values ^ constants[0]
    h *= constants[1]
    h &= _MASK32
    h ^= h >> np.uint64(16)
    return h


def _seed_sequence_state(seeds: np.ndarray, constants: dict) -> list[np.ndarray]:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` of seeds ``[P]`` uint64, as 4 arrays
    ``[P]``. A seed's entropy is its 32-bit words, low first; the pool of 4 words hashes a missing
    word as 0, so zero-padding changes nothing."""
    p = len(seeds)
    words = np.zeros(4 * p, dtype=np.uint64)
    words[:p], words[p : 2 * p] = seeds & _MASK32, seeds >> np.uint64(32)
    pool = _hashmix(words, constants["pool"])
    rows = [pool[i * p : (i + 1) * p] for i in range(4)]
    for src in range(4):  # mix every word into every other, in numpy's order
        dst = [d for d in range(4) if d != src]
        hashed = _hashmix(np.concatenate([rows[src]] * 3), constants[f"mix{src}"])
        mixed = np.concatenate([rows[d] for d in dst])
        mixed *= np.uint64(0xCA01F9DD)
        hashed *= np.uint64(0x4973F715)
        mixed -= hashed
        mixed &= _MASK32
        mixed ^= mixed >> np.uint64(16)
        for j, d in enumerate(dst):
            rows[d][:] = mixed[j * p : (j + 1) * p]
    words = _hashmix(np.concatenate(rows + rows), constants["generate"])
    return [words[(2 * k) * p : (2 * k + 1) * p] | (words[(2 * k + 1) * p : (2 * k + 2) * p]
                                                    << np.uint64(32)) for k in range(4)]


def _mul128(a_hi, a_lo, b_hi, b_lo):
    """(a * b) mod 2^128 of 128-bit numbers as (high, low) uint64 halves."""
    a0, a1, b0, b1 = a_lo & _MASK32, a_lo >> np.uint64(32), b_lo & _MASK32, b_lo >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    carry = (p00 >> np.uint64(32)) + (p01 & _MASK32) + (p10 & _MASK32)
    high = p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (carry >> np.uint64(32))
    return high + a_lo * b_hi + a_hi * b_lo, a_lo * b_lo


def _add128(a_hi, a_lo, b_hi, b_lo):
    low = a_lo + b_lo
    return a_hi + b_hi + (low < a_lo), low


def _pcg64_draws(state: list[np.ndarray], draws: int, constants: dict) -> np.ndarray:
    """Flat ``[draws * P]`` uint64, draw-major: the first outputs of PCG64 seeded with
    ``state`` (pcg64_set_seed: initial state = state[0]:state[1], stream = state[2]:state[3])."""
    one = np.uint64(1)
    inc_hi, inc_lo = (state[2] << one) | (state[3] >> np.uint64(63)), (state[3] << one) | one
    # Seeding: s = inc; s += initial state; s = s M + inc. Each draw: s = s M + inc, then the
    # output of s. So draw k's s = M^(k+1) (inc + initial state) + (1 + M + ... + M^k) inc.
    start_hi, start_lo = _add128(inc_hi, inc_lo, state[0], state[1])
    tile = [start_hi] * draws, [start_lo] * draws, [inc_hi] * draws, [inc_lo] * draws
    start_hi, start_lo, inc_hi, inc_lo = (np.concatenate(t) for t in tile)
    hi, lo = _add128(*_mul128(start_hi, start_lo, *constants["power"]),
                     *_mul128(inc_hi, inc_lo, *constants["sum"]))
    x, rotation = hi ^ lo, hi >> np.uint64(58)  # XSL-RR: xor the halves, rotate right by 6 bits
    return (x >> rotation) | (x << ((np.uint64(64) - rotation) & np.uint64(63)))


def seeded_uniform(seed: int, population: int, low, high) -> np.ndarray:
    """``[population, n]`` float64: row p is ``seeding.np_random(seed + p)[0].uniform(low, high)``
    (``low``, ``high``: n bounds), the start gymnasium draws in ``reset(seed=seed + p)``."""
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if seed + population > 2**64:  # beyond uint64: one generator at a time
        return np.stack([seeding.np_random(seed + p)[0].uniform(low, high)
                         for p in range(population)])
    constants = _seeding_constants(population, len(low))
    seeds = np.arange(population, dtype=np.uint64) + np.uint64(seed)
    raw = _pcg64_draws(_seed_sequence_state(seeds, constants), len(low), constants)
    unit = (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)  # next_double
    unit = unit.reshape(len(low), population).T
    return low + (high - low) * unit  # numpy's random_uniform: low + (high - low) * next_double


# --- Simulators on numpy arrays ------------------------------------------------------------------


_CPU = torch.device("cpu")


class _ArrayEnv(PopulationEnv):
    """A simulator on numpy arrays that holds its finished members itself: a step is one array
    program for all members (gymnasium's float64 arithmetic, ~1 us a call on 128 members where a
    torch call costs 5-10 us), with torch only at the boundary."""

    def _as_numpy(self, actions: torch.Tensor) -> np.ndarray:
        try:
            return actions.numpy()
        except (RuntimeError, TypeError):  # on an accelerator, or requiring grad
            return actions.detach().cpu().numpy()

    def _answer(self, obs: np.ndarray, reward: np.ndarray,
                done: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fresh numpy arrays -> tensors on the device; ``self.live`` from ``done``."""
        self.live = self.population - int(np.count_nonzero(done))
        obs, reward, done = torch.from_numpy(obs), torch.from_numpy(reward), torch.from_numpy(done)
        if self.device != _CPU:
            obs, reward, done = obs.to(self.device), reward.to(self.device), done.to(self.device)
        self._obs, self._done = obs, done
        return obs, reward, done


# gymnasium's CartPole constants, computed as its __init__ does (module globals: numba compiles
# them in as constants).
_GRAVITY, _MASSPOLE, _LENGTH, _FORCE_MAG, _TAU = 9.8, 0.1, 0.5, 10.0, 0.02
_TOTAL_MASS = _MASSPOLE + 1.0  # masspole + masscart
_POLEMASS_LENGTH = _MASSPOLE * _LENGTH
_THETA_THRESHOLD = 12 * 2 * math.pi / 360
_X_THRESHOLD = 2.4


@numba.njit(cache=True, nogil=True)
def _cartpole_step(state, finished, actions, truncate, obs, reward, done):
    """One step of every member: gymnasium's CartPole.step, expression for expression (Euler),
    on the float64 ``state [P, 4]``; a finished member keeps its state and gets reward 0. Writes
    the float32 ``obs``, ``reward`` and ``done`` (fresh arrays) and updates ``finished``.
    numba without fastmath keeps IEEE arithmetic (no fused multiply-add): gymnasium's bits."""
    for p in range(state.shape[0]):
        if finished[p]:
            reward[p] = 0.0
        else:
            x, x_dot, theta, theta_dot = state[p, 0], state[p, 1], state[p, 2], state[p, 3]
            force = _FORCE_MAG if actions[p] == 1 else -_FORCE_MAG
            costheta = math.cos(theta)
            sintheta = math.sin(theta)
            temp = (force + _POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / _TOTAL_MASS
            thetaacc = (_GRAVITY * sintheta - costheta * temp) / (
                _LENGTH * (4.0 / 3.0 - _MASSPOLE * (costheta * costheta) / _TOTAL_MASS))
            xacc = temp - _POLEMASS_LENGTH * thetaacc * costheta / _TOTAL_MASS
            x = x + _TAU * x_dot
            x_dot = x_dot + _TAU * xacc
            theta = theta + _TAU * theta_dot
            theta_dot = theta_dot + _TAU * thetaacc
            state[p, 0], state[p, 1], state[p, 2], state[p, 3] = x, x_dot, theta, theta_dot
            reward[p] = 1.0
            finished[p] = (truncate or x < -_X_THRESHOLD or x > _X_THRESHOLD
                           or theta < -_THETA_THRESHOLD or theta > _THETA_THRESHOLD)
        done[p] = finished[p]
        for i in range(4):
            obs[p, i] = state[p, i]


class CartPole(_ArrayEnv):
    """CartPole (gymnasium/envs/classic_control/cartpole.py) for a population: observation
    (x, x_dot, theta, theta_dot), 2 actions (push left, push right), reward 1 per step; an
    episode terminates once |x| > 2.4 or |theta| > 12 degrees and is truncated after
    ``max_steps`` (gymnasium's time limit of the task: CartPole-v1 500, :class:`CartPoleV0` 200).

    A step is one compiled loop over the members (:func:`_cartpole_step`): on 128 members numpy
    spent ~25 us in the call overhead of ~25 array operations, the loop ~1 us. The state is
    float64 and the observation its float32 copy, as gymnasium's, so both equal its to the bit.
    """

    name = "CartPole-v1"
    obs_dim, action_dim, discrete, action_bound = 4, 2, True, None

    def __init__(self, population: int, device: torch.device | str = "cpu",
                 max_steps: int | None = None):
        super().__init__(population, device)
        self.max_steps = max_steps or gym.spec(self.name).max_episode_steps
        self._state = np.zeros((population, 4))
        self._finished = np.zeros(population, dtype=bool)  # private: callers get copies
        self._t = 0

    def _reset(self, seed: int) -> torch.Tensor:
        self._state[:] = seeded_uniform(seed, self.population, [-0.05] * 4, [0.05] * 4)
        self._finished[:] = False
        self._t = 0
        return torch.from_numpy(self._state.astype(np.float32))

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._t += 1
        n = self.population
        obs, reward = np.empty((n, 4), dtype=np.float32), np.empty(n, dtype=np.float32)
        done = np.empty(n, dtype=bool)
        _cartpole_step(self._state, self._finished, self._as_numpy(actions),
                       self._t >= self.max_steps, obs, reward, done)
        return self._answer(obs, reward, done)


class CartPoleV0(CartPole):
    """CartPole-v0: CartPole-v1's dynamics with episodes truncated after 200 steps (the paper's
    reward range [0, 200]; gymnasium's CartPole-v0 spec)."""

    name = "CartPole-v0"


class Pendulum(_ArrayEnv):
    """Pendulum-v1 (gymnasium/envs/classic_control/pendulum.py, g = 10) for a population, on numpy
    float64 arrays: observation ``[cos theta, sin theta, theta_dot]``, one torque action clipped to
    [-2, 2], reward ``-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)``, 200 steps
    (truncation only).

    gymnasium's expressions in its order and dtypes (state float64, torque float32), so the
    observations and rewards equal gymnasium's to the bit.
    """

    name = "Pendulum-v1"
    obs_dim, action_dim, discrete = 3, 1, False
    max_speed, max_torque, dt, g, mass, length = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0
    action_bound = max_torque

    def __init__(self, population: int, device: torch.device | str = "cpu"):
        super().__init__(population, device)
        self.max_steps = gym.spec(self.name).max_episode_steps
        # Rows: theta, then the observation (cos theta, sin theta, theta_dot), then scratch
        self._buffer = np.zeros((6, population))
        self._rows = tuple(self._buffer)
        self._t = 0

    def _observe(self) -> np.ndarray:
        return self._buffer[1:4].T.astype(np.float32, order="C")

    def _reset(self, seed: int) -> torch.Tensor:
        # As PendulumEnv.reset: theta ~ U(-pi, pi), theta_dot ~ U(-1, 1) from np_random(seed + p).
        high = np.array([np.pi, 1.0])
        theta, cos, sin, theta_dot, _, _ = self._rows
        theta[:], theta_dot[:] = seeded_uniform(seed, self.population, -high, high).T
        np.cos(theta, out=cos)
        np.sin(theta, out=sin)
        self._t = 0
        return torch.from_numpy(self._observe())

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        theta, cos, sin, theta_dot, a, b = self._rows
        u = np.clip(self._as_numpy(actions)[:, 0].astype(np.float32, copy=False),
                    -self.max_torque, self.max_torque)  # a new array
        # costs = angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2 (the last float32)
        np.add(theta, np.pi, out=a)
        np.remainder(a, 2 * np.pi, out=a)
        np.subtract(a, np.pi, out=a)
        np.square(a, out=a)
        np.square(theta_dot, out=b)
        np.multiply(0.1, b, out=b)
        np.add(a, b, out=a)
        torque_cost = np.square(u)
        np.multiply(0.001, torque_cost, out=torque_cost)
        np.add(a, torque_cost, out=a)
        reward = np.negative(a, dtype=np.float32)
        # theta_dot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt, clipped; theta + theta_dot dt
        np.multiply(3 * self.g / (2 * self.length), sin, out=a)
        np.multiply(3.0 / (self.mass * self.length**2), u, out=u)
        np.add(a, u, out=a)
        np.multiply(a, self.dt, out=a)
        np.add(theta_dot, a, out=theta_dot)
        np.clip(theta_dot, -self.max_speed, self.max_speed, out=theta_dot)
        np.multiply(theta_dot, self.dt, out=a)
        np.add(theta, a, out=theta)
        np.cos(theta, out=cos)
        np.sin(theta, out=sin)
        self._t += 1
        done = np.full(self.population, self._t >= self.max_steps)
        return self._answer(self._observe(), reward, done)


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
    seed_decides_episode = False  # Box2D's world persists across resets (measured: a return
    # differed by 3e-5 after other episodes had been played in between)

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


ENVIRONMENTS: dict[str, type[PopulationEnv]] = {
    cls.name: cls for cls in (CartPoleV0, CartPole, Pendulum, BipedalWalker)
}


def make(task: str, population: int, device: torch.device | str = "cpu",
         **kwargs) -> PopulationEnv:
    """The population-batched environment of ``task`` (a gymnasium id, e.g. ``"Pendulum-v1"``);
    ``kwargs`` go to its class (e.g. ``vectorization="async"`` for BipedalWalker-v3)."""
    if task not in ENVIRONMENTS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(ENVIRONMENTS)}")
    return ENVIRONMENTS[task](population, device, **kwargs)
