"""Behaviour of the population-batched Meta-World environments, against plain Meta-World
environments as reference."""

from __future__ import annotations

import ctypes.util
import gc
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tdca_lib.experiments import metaworld_envs as mw

DIAL, DOOR = "dial-turn-v3", "door-close-v3"
VECTORIZATIONS = ["list", "sync"]


def random_actions(steps: int, rows: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    """``[T, rows, 4]`` uniform actions; ``scale`` > 1 goes beyond the valid [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    return (2 * torch.rand(steps, rows, 4, generator=gen) - 1) * scale


def rollout(env: mw.MetaWorldPopulation, seed: int, actions: torch.Tensor):
    """Exactly ``T`` steps: obs ``[T + 1, R, 39]``, rewards ``[T, R]``, dones and the success
    flag after each step ``[T, R]``."""
    obs, rewards, dones, success = [env.reset(seed)], [], [], []
    for action in actions:
        o, r, d = env.step(action)
        obs.append(o)
        rewards.append(r)
        dones.append(d)
        success.append(env.success)
    return torch.stack(obs), torch.stack(rewards), torch.stack(dones), torch.stack(success)


def plain_rollout(variant: mw.TaskVariant, actions: torch.Tensor):
    """The reference: one bare Meta-World environment with the variant's task, stepped with
    ``actions [T, 4]``: obs ``[T + 1, 39]`` float64, rewards ``[T]`` and info["success"] ``[T]``."""
    env = mw._mt1(variant.task_type).train_classes[variant.task_type]()
    env.set_task(mw._mt1(variant.task_type).train_tasks[variant.mt1_index])
    obs, rewards, success = [env.reset()[0]], [], []
    for action in actions.clamp(-1, 1).numpy():
        o, r, _, _, info = env.step(action)
        obs.append(o)
        rewards.append(r)
        success.append(info["success"])
    env.close()
    return np.stack(obs), np.array(rewards), np.array(success) > 0


@pytest.fixture(scope="module")
def dial_door():
    """Two members on the training variants of two task types: V = 6, 12 rows."""
    with mw.MetaWorldPopulation(2, task_types=[DIAL, DOOR], max_steps=5) as env:
        yield env


def test_variants_are_fixed_and_train_and_test_are_disjoint():
    train, test = mw.variants("train"), mw.variants("test")
    assert len(train) == 9 and len(test) == 30
    assert [v.task_type for v in train] == [t for t in mw.TASK_TYPES for _ in range(3)]
    assert [v.mt1_index for v in train[:3]] == [0, 1, 2]
    assert [v.mt1_index for v in test[:10]] == list(range(3, 13))
    # Pinned, so that a change in Meta-World's task generation cannot slip through unnoticed.
    np.testing.assert_allclose(train[3].object_pos, [0.00897664, 0.74236548, 0.0], atol=1e-8)
    for name in mw.TASK_TYPES:
        train_pos = [tuple(v.object_pos) for v in train if v.task_type == name]
        test_pos = [tuple(v.object_pos) for v in test if v.task_type == name]
        assert len(set(train_pos + test_pos)) == 13  # all distinct, so train and test disjoint
    table = mw.describe_variants("train")
    assert [(r["task_type"], r["index"]) for r in table] == [
        (v.task_type, v.index) for v in train]
    assert all(len(r["object_pos"]) == 3 and len(r["goal_pos"]) == 3 for r in table)


def test_shapes_row_order_and_attributes(dial_door):
    env = dial_door
    assert env.members == 2 and len(env.variants) == 6 and env.population == 12
    assert (env.obs_dim, env.action_dim, env.discrete, env.action_bound) == (39, 4, False, 1.0)
    # Row p * V + v is member p on variant v; task ids index TASK_TYPES, whatever the subset.
    assert env.variant_ids.tolist() == [0, 1, 2, 3, 4, 5] * 2
    assert env.task_ids.tolist() == [1, 1, 1, 2, 2, 2] * 2
    obs = env.reset(0)
    assert obs.shape == (12, 39) and obs.dtype == torch.float32
    goals = [r["goal_pos"] for r in mw.describe_variants("train", [DIAL, DOOR])]
    np.testing.assert_allclose(obs[:, 36:39].numpy(), np.array(goals * 2), atol=1e-4)
    assert torch.equal(obs[:6], obs[6:])  # both members start alike
    obs, reward, done = env.step(random_actions(1, 12, seed=0)[0])
    assert obs.shape == (12, 39) and reward.shape == (12,) and reward.dtype == torch.float32
    assert done.shape == (12,) and done.dtype == torch.bool
    success = env.success
    assert success.shape == (12,) and success.dtype == torch.bool
    assert env.per_member(torch.arange(12)).tolist() == [list(range(6)), list(range(6, 12))]


def test_refuses_bad_names_and_settings():
    valid = "valid: button-press-wall-v3, dial-turn-v3, door-close-v3"
    with pytest.raises(ValueError, match=f"unknown task type 'pick-place-v3'; {valid}"):
        mw.MetaWorldPopulation(1, task_types=["pick-place-v3"])
    with pytest.raises(ValueError, match=f"unknown task type 'dial-turn-v2'; {valid}"):
        mw.frame("dial-turn-v2")
    with pytest.raises(ValueError, match="unknown split 'val'; valid: train, test"):
        mw.variants("val")
    with pytest.raises(ValueError, match="distinct"):
        mw.MetaWorldPopulation(1, task_types=[DIAL, DIAL])
    for steps in (0, 501):
        with pytest.raises(ValueError, match=r"max_steps must be in \[1, 500\]"):
            mw.MetaWorldPopulation(1, task_types=DIAL, max_steps=steps)
    with pytest.raises(ValueError, match="vectorization"):
        mw.MetaWorldPopulation(1, task_types=DIAL, vectorization="async")
    with pytest.raises(ValueError, match=r"variant must be in \[0, 3\)"):
        mw.frame(DIAL, variant=3)


def test_rejects_misuse():
    env = mw.MetaWorldPopulation(1, task_types=DIAL, max_steps=5)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="non-negative"):
        env.reset(-1)
    env.reset(0)
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        env.step(torch.zeros(1, 4))  # one row per member and variant, not per member


@pytest.mark.parametrize("vectorization", VECTORIZATIONS)
def test_rows_equal_plain_metaworld(vectorization):
    """Row p * V + v is a bare Meta-World environment on variant v, actions beyond [-1, 1]
    clipped."""
    with mw.MetaWorldPopulation(2, task_types=DIAL, max_steps=30,
                                vectorization=vectorization) as env:
        actions = random_actions(30, env.population, seed=1, scale=1.5)
        obs, rewards, dones, success = rollout(env, 0, actions)
    for row, v in enumerate(env.variant_ids.tolist()):
        ref_obs, ref_rewards, ref_success = plain_rollout(env.variants[v], actions[:, row])
        torch.testing.assert_close(obs[:, row], torch.from_numpy(ref_obs).float())
        torch.testing.assert_close(rewards[:, row], torch.from_numpy(ref_rewards).float())
        assert torch.equal(success[:, row], torch.from_numpy(np.maximum.accumulate(ref_success)))
    assert not dones[:-1].any() and dones[-1].all()


@pytest.mark.parametrize("vectorization", VECTORIZATIONS)
@pytest.mark.parametrize("max_steps", [4, 500])
def test_finished_members_stay_finished(vectorization, max_steps):
    """Every row ends on step max_steps (Meta-World never ends an episode early) and is held
    after: final obs, reward 0, done; at 500 steps Meta-World's own limit, where a bare
    environment would refuse another step, nothing is stepped past it."""
    with mw.MetaWorldPopulation(1, task_types=DOOR, max_steps=max_steps,
                                vectorization=vectorization) as env:
        obs, rewards, dones, success = rollout(env, 0, random_actions(max_steps + 3, 3, 2))
    assert not dones[: max_steps - 1].any() and dones[max_steps - 1 :].all()
    assert (rewards[max_steps:] == 0).all() and rewards[:max_steps].any()
    assert (obs[max_steps:] == obs[max_steps]).all()
    assert (success[max_steps:] == success[max_steps - 1]).all()


def test_same_episodes_whatever_the_seed(dial_door):
    """Meta-World's reset with a fixed task is exactly deterministic and ignores the seed; a
    fresh environment and one that ran other episodes agree bit for bit."""
    env = dial_door
    actions = random_actions(5, env.population, seed=3)
    first = rollout(env, 5, actions)
    rollout(env, 9, random_actions(5, env.population, seed=4))  # something else in between
    for other in (rollout(env, 5, actions), rollout(env, 6, actions)):
        for a, b in zip(first, other):
            assert torch.equal(a, b)
    with mw.MetaWorldPopulation(2, task_types=[DIAL, DOOR], max_steps=5) as fresh:
        for a, b in zip(first, rollout(fresh, 123, actions)):
            assert torch.equal(a, b)


@pytest.mark.filterwarnings("ignore:Constant:UserWarning")  # the scripted policy's own remark
def test_success_flag_is_ever_succeeded():
    """Member 0 plays Meta-World's scripted door-closing policy, member 1 stands still:
    member 0 succeeds on every variant within 80 steps, member 1 on none; the flag is the
    running 'any' of info['success']."""
    from metaworld.policies import SawyerDoorCloseV3Policy

    policy = SawyerDoorCloseV3Policy()
    with mw.MetaWorldPopulation(2, task_types=DOOR, max_steps=80) as env:
        obs, done, flags, actions = env.reset(0), torch.zeros(6, dtype=torch.bool), [], []
        while not done.all():
            action = torch.zeros(6, 4)
            action[:3] = torch.from_numpy(np.stack(
                [policy.get_action(o) for o in obs[:3].double().numpy()])).float()
            obs, _, done = env.step(action)
            flags.append(env.success)
            actions.append(action)
    flags = torch.stack(flags)
    assert flags[-1].tolist() == [True] * 3 + [False] * 3
    assert (flags[1:] >= flags[:-1]).all()  # once True, True for good
    _, _, ref_success = plain_rollout(env.variants[0], torch.stack(actions)[:, 0])
    assert torch.equal(flags[:, 0], torch.from_numpy(np.maximum.accumulate(ref_success)))


def test_frame_is_an_rgb_picture():
    try:
        image = mw.frame(DOOR, variant=1, size=64)
    except RuntimeError as err:
        pytest.skip(f"no MuJoCo renderer here: {err}")
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert image.std() > 10  # a scene, not a blank


@pytest.mark.slow
def test_an_optimiser_can_be_made_after_a_frame():
    """Notebook 06 renders, then trains agents with Adam: that once segfaulted the process
    (triton's LLVM loaded after Mesa's EGL). In a fresh process, so a crash fails this test
    alone."""
    code = ("import torch\nfrom tdca_lib.experiments import metaworld_envs as mw\n"
            "try:\n    mw.frame('dial-turn-v3', size=32)\n"
            "except RuntimeError:\n    print('no renderer')\n"
            "torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))])\nprint('made')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MUJOCO_GL": "egl"}, timeout=300)
    assert run.returncode == 0 and "made" in run.stdout, run.stderr[-2000:]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_frame_without_a_renderer_says_how_to_fix_it(monkeypatch):
    mw._mt1(DIAL)  # MuJoCo imported (it checks MUJOCO_GL on import too, tested below)
    monkeypatch.setenv("MUJOCO_GL", "no-such-backend")
    with pytest.raises(RuntimeError, match="render with MUJOCO_GL='no-such-backend'") as err:
        mw.frame(DIAL)
    assert "MUJOCO_GL=egl" in str(err.value) and "apt-get install -y libosmesa6" in str(err.value)
    del err
    gc.collect()  # gymnasium's half-built viewer fails to free itself: let that happen here


@pytest.mark.skipif(ctypes.util.find_library("OSMesa") is not None, reason="OSMesa installed")
def test_frame_with_osmesa_missing_says_how_to_fix_it():
    """MUJOCO_GL=osmesa without libosmesa6, the usual failure on a CPU machine: MuJoCo's own
    import fails (in a fresh process, since a failed OpenGL import spoils the one that tried)."""
    code = ("from tdca_lib.experiments import metaworld_envs as mw\n"
            "try:\n    mw.frame('dial-turn-v3', size=32)\n"
            "except RuntimeError as err:\n    print('RuntimeError:', err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MUJOCO_GL": "osmesa"}, timeout=120).stdout
    assert "RuntimeError: MuJoCo could not be imported with MUJOCO_GL='osmesa'" in out
    assert "unset MUJOCO_GL" in out and "apt-get install -y libosmesa6" in out



def test_rl_play_drives_it():
    """tdca_lib.experiments.rl.play plays it unchanged: one agent per member, repeated over its V
    rows."""
    from tdca_lib.experiments.rl import play
    from tdca_lib.method.population import PopulationMLP

    agent = PopulationMLP([39, 8, 4])
    theta = torch.stack([agent.init(torch.Generator().manual_seed(p)) for p in range(2)])
    with mw.MetaWorldPopulation(2, task_types=DIAL, max_steps=6) as env:
        returns, _ = play(env, agent, theta.repeat_interleave(len(env.variants), 0), seed=0)
    assert returns.shape == (6,) and (returns > 0).all()
    assert not torch.equal(env.per_member(returns)[0], env.per_member(returns)[1])
