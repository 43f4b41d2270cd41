"""Behaviour of the population-batched RL environments, against gymnasium's own as reference."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils import seeding

from tdca_lib.experiments import rl_envs

TASKS = list(rl_envs.ENVIRONMENTS)


def random_actions(env: rl_envs.PopulationEnv, steps: int, seed: int, scale: float = 1.0):
    """``[T, P]`` or ``[T, P, action_dim]`` actions; ``scale`` > 1 goes beyond the valid range."""
    gen = torch.Generator().manual_seed(seed)
    if env.discrete:
        return torch.randint(0, env.action_dim, (steps, env.population), generator=gen)
    uniform = torch.rand(steps, env.population, env.action_dim, generator=gen)
    return (2 * uniform - 1) * env.action_bound * scale


def rollout(env: rl_envs.PopulationEnv, seed: int, actions: torch.Tensor):
    """Exactly ``T`` steps: obs ``[T + 1, P, obs_dim]``, rewards ``[T, P]``, dones ``[T, P]``."""
    obs = [env.reset(seed)]
    rewards, dones = [], []
    for action in actions:
        o, r, d = env.step(action)
        obs.append(o)
        rewards.append(r)
        dones.append(d)
    return torch.stack(obs), torch.stack(rewards), torch.stack(dones)


def gym_rollout(task: str, seed: int, actions: torch.Tensor):
    """The reference: one ``gym.make(task)`` per member, reset with ``seed + p``, each stepped
    until its episode ends and then held as the contract says (final obs, reward 0, done)."""
    obs, rewards, dones = [], [], []
    for p in range(actions.shape[1]):
        env = gym.make(task)
        o, _ = env.reset(seed=seed + p)
        member_obs, member_rewards, member_dones, done = [o], [], [], False
        for action in actions[:, p].numpy():
            reward = 0.0
            if not done:
                o, reward, terminated, truncated, _ = env.step(
                    int(action) if env.action_space.shape == () else action
                )
                done = terminated or truncated
            member_obs.append(o)
            member_rewards.append(reward)
            member_dones.append(done)
        env.close()
        obs.append(np.stack(member_obs))
        rewards.append(member_rewards)
        dones.append(member_dones)
    return (torch.from_numpy(np.stack(obs, axis=1)),
            torch.tensor(rewards, dtype=torch.float32).T, torch.tensor(dones).T)


def test_make_rejects_unknown_task_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown task 'Pong-v5'; valid: CartPole-v0, "
                                         "CartPole-v1, Pendulum-v1, BipedalWalker-v3"):
        rl_envs.make("Pong-v5", 4)


@pytest.mark.parametrize("task", TASKS)
def test_shapes_dtypes_and_attributes(task):
    with rl_envs.make(task, 3) as env:
        assert env.name == task and env.population == 3
        assert env.max_steps == gym.spec(task).max_episode_steps
        single = gym.make(task)
        assert env.obs_dim == single.observation_space.shape[0]
        assert env.discrete == isinstance(single.action_space, gym.spaces.Discrete)
        if env.discrete:
            assert env.action_dim == single.action_space.n and env.action_bound is None
        else:
            assert env.action_dim == single.action_space.shape[0]
            assert env.action_bound == single.action_space.high[0]
        obs = env.reset(0)
        assert obs.shape == (3, env.obs_dim) and obs.dtype == torch.float32
        obs, reward, done = env.step(random_actions(env, 1, 0)[0])
        assert obs.shape == (3, env.obs_dim) and obs.dtype == torch.float32
        assert reward.shape == (3,) and reward.dtype == torch.float32
        assert done.shape == (3,) and done.dtype == torch.bool


def test_rejects_misuse():
    env = rl_envs.make("Pendulum-v1", 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 1))
    with pytest.raises(ValueError, match="non-negative"):
        env.reset(-1)
    env.reset(0)
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        env.step(torch.zeros(2))
    with pytest.raises(ValueError, match="vectorization"):
        rl_envs.make("BipedalWalker-v3", 2, vectorization="threads")


@pytest.mark.parametrize("task", TASKS)
def test_finished_members_stay_finished(task):
    """The loop `until done.all()` ends within max_steps; a member's end is final."""
    with rl_envs.make(task, 4) as env:
        actions = random_actions(env, env.max_steps + 5, seed=1)
        obs, rewards, dones = rollout(env, 0, actions)
    assert dones[env.max_steps - 1].all()
    finished_at = dones.int().argmax(0)  # the step index on which each member finished
    for p, t in enumerate(finished_at.tolist()):
        assert dones[t:, p].all() and not dones[:t, p].any()
        assert (rewards[t + 1 :, p] == 0).all()
        assert (obs[t + 1 :, p] == obs[t + 1, p]).all()  # obs[t + 1] came with done
    if task == "Pendulum-v1":
        assert (finished_at == env.max_steps - 1).all()  # a time limit only
    else:
        assert len(set(finished_at.tolist())) > 1  # members finished at different times


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_episodes_other_seed_others(task):
    with rl_envs.make(task, 3) as env:
        actions = random_actions(env, 40, seed=2)
        first = rollout(env, 5, actions)
        again = rollout(env, 5, actions)  # after a reset, nothing of the last episode remains
        other = rollout(env, 6, actions)
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    assert not torch.equal(first[0], other[0])
    # Member p of seed 6 is member p + 1 of seed 5 (same actions for the first two members).
    same = torch.stack([actions[:, 1], actions[:, 2]], dim=1)
    with rl_envs.make(task, 2) as env:
        shifted = rollout(env, 6, same)
    assert torch.equal(shifted[0][:, 0], first[0][:, 1])


@pytest.mark.parametrize("seed, population", [
    (0, 40), (2**32 - 20, 40), (2**63 - 3, 6), (2**64 - 4, 4), (2**64 - 2, 5)])
def test_seeded_uniform_equals_gymnasium_generators(seed, population):
    """Member p's start, drawn for all members at once, is what gymnasium's generator seeded
    with seed + p draws: seeds of one and two 32-bit words, and past uint64 (drawn one by one)."""
    for low, high in [([-0.05] * 4, [0.05] * 4), ([-np.pi, -1.0], [np.pi, 1.0])]:
        starts = rl_envs.seeded_uniform(seed, population, low, high)
        reference = np.stack([seeding.np_random(seed + p)[0].uniform(np.array(low), high)
                              for p in range(population)])
        assert starts.shape == (population, len(low))
        assert np.array_equal(starts, reference)


def test_pendulum_equals_gymnasium_step_for_step():
    """The batched Pendulum against gym.make('Pendulum-v1'), one per member seeded ``seed + p``,
    for the full 200 steps with torques up to 1.5x beyond [-2, 2]: equal to the bit."""
    env = rl_envs.make("Pendulum-v1", 5)
    actions = random_actions(env, env.max_steps, seed=3, scale=1.5)
    actions[:3, :, 0] = torch.tensor([2.0, -2.0, 0.0])[:, None]  # the clip's edges exactly
    assert (actions.abs() > env.max_torque).any()
    obs, rewards, dones = rollout(env, 10, actions)
    ref_obs, ref_rewards, ref_dones = gym_rollout("Pendulum-v1", 10, actions)
    assert torch.equal(obs, ref_obs) and torch.equal(rewards, ref_rewards)
    assert torch.equal(dones, ref_dones)
    assert not dones[-2].any() and dones[-1].all()  # truncated on step 200, not before


def balancing_actions(env: rl_envs.PopulationEnv, seed: int, steps: int,
                      noise: float = 1.0) -> torch.Tensor:
    """``[steps, P]`` actions of a noisy balancing controller played in ``env`` from ``seed``;
    the noise grows with the member, so the first members balance until the time limit and the
    last ones fall before."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.linspace(0.0, noise, env.population)
    obs, actions = env.reset(seed), []
    for _ in range(steps):
        push = obs[:, 2] + 0.3 * obs[:, 3] + 0.01 * obs[:, 0] + 0.05 * obs[:, 1]
        actions.append((push + noise * torch.randn(env.population, generator=gen) > 0).long())
        obs, _, _ = env.step(actions[-1])
    return torch.stack(actions)


@pytest.mark.parametrize("task", ["CartPole-v0", "CartPole-v1"])
@pytest.mark.parametrize("policy", ["random", "balancing"])
def test_cartpole_equals_gymnasium_step_for_step(task, policy):
    """Member p of the batched CartPole is gym.make(task) reset with seed + p, to the bit:
    observations, rewards, terminations (random actions: the pole falls) and truncations at the
    task's cap (200 or 500 steps: a controller balances), and the hold after an episode ends."""
    env = rl_envs.make(task, 6)
    steps = env.max_steps + 5
    actions = (random_actions(env, steps, seed=4) if policy == "random"
               else balancing_actions(env, 20, steps))
    obs, rewards, dones = rollout(env, 20, actions)
    ref_obs, ref_rewards, ref_dones = gym_rollout(task, 20, actions)
    assert torch.equal(obs, ref_obs) and torch.equal(rewards, ref_rewards)
    assert torch.equal(dones, ref_dones)
    returns = rewards.sum(0)
    assert dones[-1].all() and (returns <= env.max_steps).all()
    if policy == "balancing":  # some members truncated at the cap, others fell before
        assert (returns == env.max_steps).any() and (returns < env.max_steps).any()


def test_cartpole_cap_is_a_setting():
    env = rl_envs.make("CartPole-v1", 2, max_steps=50)
    assert env.max_steps == 50
    obs, rewards, dones = rollout(env, 0, balancing_actions(env, 0, 60, noise=0.0))
    assert rewards.sum(0).tolist() == [50.0, 50.0] and not dones[48].any() and dones[49].all()


@pytest.mark.parametrize("vectorization", ["sync", "async"])
def test_bipedal_walker_equals_gymnasium_members(vectorization):
    """Member p is gym.make('BipedalWalker-v3') reset with seed + p, on either vector env."""
    env = rl_envs.make("BipedalWalker-v3", 2, vectorization=vectorization)
    actions = random_actions(env, 150, seed=5)
    with env:
        obs, rewards, dones = rollout(env, 30, actions)
    ref_obs, ref_rewards, ref_dones = gym_rollout("BipedalWalker-v3", 30, actions)
    assert dones[-1].any()  # a walker fell, and was held, within the 150 steps
    torch.testing.assert_close(obs, ref_obs)
    torch.testing.assert_close(rewards, ref_rewards)
    assert torch.equal(dones, ref_dones)
