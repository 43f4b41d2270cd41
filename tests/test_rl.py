import dataclasses

import pytest
import torch

from tdca_lib.experiments import rl
from tdca_lib.experiments.rl_envs import make

SETTINGS = rl.settings_for("quick", "CartPole-v1", updates=3, tdca_hidden=4)


def test_settings_take_each_tasks_agent_and_refuse_unknown_tasks():
    assert rl.settings_for("quick", "BipedalWalker-v3").agent_hidden == 32
    assert rl.settings_for("paper", "Pendulum-v1").updates == 200
    # each task at its own scale below the paper's profile, and overrides still win
    assert rl.settings_for("quick", "CartPole-v1").generations == 600
    assert rl.settings_for("paper", "CartPole-v1").generations == 3000
    assert rl.settings_for("quick", "BipedalWalker-v3").updates == 10
    assert rl.settings_for("paper", "BipedalWalker-v3").updates == 200
    assert rl.settings_for("quick", "BipedalWalker-v3", updates=3).updates == 3
    assert rl.settings_for("quick", "BipedalWalker-v3", updates=3).population == 16
    with pytest.raises(ValueError, match="CartPole-v1"):
        rl.settings_for("quick", "MountainCar-v0")


def test_updates_pick_the_tasks_scale():
    at_200, at_50 = rl.settings_for("quick", "Pendulum-v1"), rl.settings_for(
        "quick", "Pendulum-v1", 50)
    assert (at_200.updates, at_200.fitness_episodes) == (200, 2)  # the task's first entry
    assert (at_50.updates, at_50.fitness_episodes, at_50.generations) == (50, 1, 600)
    assert rl.network_name(at_200) != rl.network_name(at_50)
    assert rl.regenerate_command(at_50).endswith("--task Pendulum-v1 --updates 50")
    assert rl.settings_for("paper", "Pendulum-v1", 50).updates == 50


def test_cartpole_v0_is_cartpole_v1_capped_at_200_steps():
    v0, v1 = rl.settings_for("quick", "CartPole-v0"), rl.settings_for("quick", "CartPole-v1")
    assert (v0.agent_hidden, v0.reward_scale) == (v1.agent_hidden, v1.reward_scale)
    assert rl.TASKS["CartPole-v0"]["solved"] == 195.0
    assert rl.make_env(v0, 2).max_steps == 200 and rl.make_env(v1, 2).max_steps == 500


def test_tdca_network_emits_one_credit_per_agent_parameter():
    env = make("Pendulum-v1", 2)
    settings = rl.settings_for("quick", "Pendulum-v1")
    agent = rl.agent_network(settings, env)
    tdca = rl.tdca_network(settings, env, agent)
    assert agent.sizes == (3, 16, 1) and tdca.outputs == agent.num_params == 81
    assert tdca.inputs == 3 + 1 + 1  # state, action, reward


def test_actions_are_argmax_or_bounded():
    for task, check in [("CartPole-v1", lambda a: a.dtype == torch.int64 and a.shape == (3,)),
                        ("Pendulum-v1", lambda a: a.shape == (3, 1) and a.abs().max() <= 2)]:
        env = make(task, 3)
        agent = rl.agent_network(rl.settings_for("quick", task), env)
        theta = torch.randn(3, agent.num_params) * 5
        assert check(rl.act(agent, theta, env.reset(0), env))


def test_a_finished_episode_stops_the_tdca_networks_state():
    env = make("CartPole-v1", 4)
    agent = rl.agent_network(SETTINGS, env)
    tdca = rl.tdca_network(SETTINGS, env, agent)
    beta = torch.randn(4, tdca.num_params, generator=torch.Generator().manual_seed(0))
    theta = torch.randn(4, agent.num_params, generator=torch.Generator().manual_seed(1))
    returns, state = rl.play(env, agent, theta, 7, tdca, tdca.unflatten(beta))
    assert returns.shape == (4,) and state.shape == (4, 4)
    # member 0 replayed alone (same seed: 7 + 0) ends in the same state
    alone = make("CartPole-v1", 1)
    again, state0 = rl.play(alone, agent, theta[:1], 7, tdca, tdca.unflatten(beta[:1]))
    assert again.item() == returns[0].item() and torch.allclose(state0[0], state[0], atol=1e-6)


def test_credits_move_the_agent_as_asked():
    env = make("CartPole-v1", 2)
    agent = rl.agent_network(SETTINGS, env)
    tdca = rl.tdca_network(SETTINGS, env, agent)
    start = rl.start_agents(SETTINGS, env, 1)[0]
    beta = tdca.init(torch.Generator().manual_seed(0)).expand(2, -1).clone()
    assert torch.equal(rl.train_agents(SETTINGS, env, beta), start.expand(2, -1))  # zero credit
    # readout bias v, readout weights 0: the credit is v every update; SGD adds lr * clip(v)
    credit = torch.zeros(agent.num_params)
    credit[:3] = torch.tensor([0.3, -0.4, 0.0])  # norm 0.5 < max_norm: no clip
    beta[:, -agent.num_params:] = credit
    sgd = rl.settings_for("quick", "CartPole-v1", updates=3, tdca_hidden=4,
                          inner_optimizer="sgd", inner_lr=0.1)
    theta = rl.train_agents(sgd, env, beta)
    assert torch.allclose(theta, start + 3 * 0.1 * credit, atol=1e-6)
    with pytest.raises(ValueError, match="adam, sgd"):
        rl.settings_for("quick", "CartPole-v1", inner_optimizer="rmsprop")


def test_fitness_is_deterministic_and_sized_by_the_batch():
    fitness = rl.fitness_function(SETTINGS)
    env = make("CartPole-v1", 1)
    agent = rl.agent_network(SETTINGS, env)
    size = rl.tdca_network(SETTINGS, env, agent).num_params
    beta = torch.randn(3, size, generator=torch.Generator().manual_seed(0)) * 0.1
    (first, extras), (second, _) = fitness(beta, 5), fitness(beta, 5)
    assert first.shape == (3,) and torch.equal(first, second)
    assert extras["train_return"].shape == (3,) and (first >= 1).all()
    assert fitness(beta[:2], 0)[0].shape == (2,)


def test_reported_agents_start_apart_and_the_evaluation_has_its_shapes():
    env = make("CartPole-v1", 3)
    same, distinct = (rl.start_agents(SETTINGS, env, 3, distinct=d) for d in (False, True))
    assert torch.equal(same[0], same[2]) and not torch.equal(distinct[0], distinct[2])
    agent = rl.agent_network(SETTINGS, env)
    beta = torch.zeros(1, rl.tdca_network(SETTINGS, env, agent).num_params)
    result = rl.evaluate_tdca(SETTINGS, beta, seeds=2, eval_episodes=2)
    assert result["curve"].shape == (3, 2) and result["final"].shape == (2,)


def test_fresh_generations_change_the_agent_and_episodes_but_not_within_one():
    fitness = rl.fitness_function(SETTINGS)
    env = make("CartPole-v1", 1)
    size = rl.tdca_network(SETTINGS, env, rl.agent_network(SETTINGS, env)).num_params
    beta = torch.randn(4, size, generator=torch.Generator().manual_seed(0)) * 0.1
    one, other = fitness(beta, 0)[0], fitness(beta, 1)[0]
    assert torch.equal(one, fitness(beta, 0)[0]) and not torch.equal(one, other)
    fixed = rl.fitness_function(rl.settings_for("quick", "CartPole-v1", updates=3, tdca_hidden=4,
                                                fresh_each_generation=False))
    assert torch.equal(fixed(beta, 0)[0], fixed(beta, 1)[0])
    assert not torch.equal(rl.start_agents(SETTINGS, env, 1, generation=0),
                           rl.start_agents(SETTINGS, env, 1, generation=1))


@pytest.mark.parametrize("task", [
    "Pendulum-v1", pytest.param(rl.METAWORLD, marks=pytest.mark.slow)])
def test_untrained_agents_are_what_zero_credits_leave(task):
    settings = rl.settings_for("quick", task, updates=2, tdca_hidden=4, episode_steps=(
        12 if task == rl.METAWORLD else None))
    env = rl.make_env(settings, 1)
    agent = rl.agent_network(settings, env)
    beta = torch.zeros(1, rl.tdca_network(settings, env, agent).num_params)
    env.close()
    trained = rl.evaluate_tdca(settings, beta, seeds=2, eval_episodes=2)
    untrained = rl.evaluate_untrained(settings, 2, eval_episodes=2)
    assert set(untrained) == ({"final", "success"} if task == rl.METAWORLD else {"final"})
    for key, values in untrained.items():
        assert torch.equal(values, trained[key])


def test_longer_horizons_continue_the_evolved_one():
    settings = rl.settings_for("quick", "CartPole-v1", updates=2)
    env = rl.make_env(settings, 1)
    tdca = rl.tdca_network(settings, env, rl.agent_network(settings, env))
    beta = tdca.init(torch.Generator().manual_seed(0))[None]
    result = rl.horizon_returns(settings, beta, seeds=2, multiples=(1, 2), eval_episodes=1)
    assert set(result) == {1, 2}
    assert result[1]["curve"].shape == (2, 2) and result[2]["curve"].shape == (4, 2)
    # the first two updates of the longer run are the shorter run's
    assert torch.equal(result[2]["curve"][:2], result[1]["curve"])
    # judged on the way, each horizon is what a training stopped there gives
    for k in (1, 2):
        alone = rl.evaluate_tdca(dataclasses.replace(settings, updates=2 * k), beta, seeds=2,
                                 eval_episodes=1)
        assert alone.keys() == result[k].keys()
        assert all(torch.equal(alone[name], result[k][name]) for name in alone)


@pytest.mark.slow
def test_where_episodes_leave_a_trace_each_horizon_trains_on_its_own():
    # Box2D's world outlives an episode: judged on the way, BipedalWalker's later training
    # returns moved in their last digits, so its horizons are trained apart
    settings = dataclasses.replace(rl.settings_for("smoke", "BipedalWalker-v3", 10), updates=2)
    env = rl.make_env(settings, 1)
    assert not env.seed_decides_episode and make("CartPole-v1", 1).seed_decides_episode
    tdca = rl.tdca_network(settings, env, rl.agent_network(settings, env))
    beta = tdca.init(torch.Generator().manual_seed(1))[None]
    result = rl.horizon_returns(settings, beta, seeds=2, multiples=(1, 2), eval_episodes=1)
    alone = rl.evaluate_tdca(dataclasses.replace(settings, updates=4), beta, seeds=2,
                             eval_episodes=1)
    assert all(torch.equal(alone[name], result[2][name]) for name in alone)


def test_env_steps_count_what_the_agents_consumed():
    # CartPole pays 1 a step, so an agent's steps are the sum of its training returns
    settings = rl.settings_for("quick", "CartPole-v1", updates=4, tdca_hidden=4)
    env = rl.make_env(settings, 1)
    beta = rl.tdca_network(settings, env, rl.agent_network(settings, env)).init(
        torch.Generator().manual_seed(0))[None]
    result = rl.evaluate_tdca(settings, beta, seeds=3, eval_episodes=1)
    assert result["env_steps"].shape == (4,)
    assert torch.allclose(result["env_steps"], result["curve"].cumsum(0).mean(1))


def test_probes_reach_the_profiles_horizon_and_a_reused_environment_changes_nothing():
    assert rl.probe_multiples(rl.settings_for("quick", "CartPole-v1")) == (1, 2)
    assert rl.probe_multiples(rl.settings_for("paper", "CartPole-v1")) == (1, 2, 4)
    settings = rl.settings_for("quick", "CartPole-v1", updates=2, tdca_hidden=4)
    env = rl.make_env(settings, 2)
    beta = rl.tdca_network(settings, env, rl.agent_network(settings, env)).init(
        torch.Generator().manual_seed(0))[None]
    rl.evaluate_untrained(settings, 2, eval_episodes=1, env=env)  # played before: no matter
    reused = rl.evaluate_tdca(settings, beta, seeds=2, eval_episodes=1, env=env)
    fresh = rl.evaluate_tdca(settings, beta, seeds=2, eval_episodes=1)
    assert all(torch.equal(reused[k], fresh[k]) for k in fresh)
    env.close()
    box2d = rl.make_env(rl.settings_for("smoke", "BipedalWalker-v3", 10), 1)
    with pytest.raises(ValueError, match="depend on what was played before"):
        rl.evaluate_tdca(settings, beta, seeds=1, env=box2d)
    box2d.close()
