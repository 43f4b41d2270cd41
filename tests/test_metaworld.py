import pytest
import torch

from tdca_lib.experiments import rl

SETTINGS = rl.settings_for("quick", rl.METAWORLD, updates=2, episode_steps=3, tdca_hidden=4,
                           agent_hidden=4)


@pytest.mark.slow
def test_one_tdca_network_reads_the_task_type_and_updates_every_variants_agent():
    env = rl.make_env(SETTINGS, 2)
    assert env.population == 2 * 9 and env.context().shape == (18, 3)
    agent = rl.agent_network(SETTINGS, env)
    tdca = rl.tdca_network(SETTINGS, env, agent)
    assert tdca.inputs == 39 + 4 + 1 + 3
    beta = torch.randn(2, tdca.num_params, generator=torch.Generator().manual_seed(0)) * 0.1
    theta = rl.train_agents(SETTINGS, env, beta)
    assert theta.shape == (18, agent.num_params)
    start = rl.start_agents(SETTINGS, env, 18)
    assert not torch.equal(theta, start)  # the credits moved the agents
    env.close()


@pytest.mark.slow
def test_fitness_is_the_mean_over_a_members_variants():
    env = rl.make_env(SETTINGS, 1)
    tdca = rl.tdca_network(SETTINGS, env, rl.agent_network(SETTINGS, env))
    env.close()
    beta = torch.randn(2, tdca.num_params, generator=torch.Generator().manual_seed(1)) * 0.1
    fitness, extras = rl.fitness_function(SETTINGS)(beta, 0)
    assert fitness.shape == (2,) and extras["train_return"].shape == (2,)
    assert torch.equal(fitness, rl.fitness_function(SETTINGS)(beta, 0)[0])  # deterministic


@pytest.mark.slow
def test_evaluation_reports_returns_and_success_per_variant():
    env = rl.make_env(SETTINGS, 1)
    tdca = rl.tdca_network(SETTINGS, env, rl.agent_network(SETTINGS, env))
    env.close()
    result = rl.evaluate_tdca(SETTINGS, torch.zeros(1, tdca.num_params), seeds=1,
                              eval_episodes=1, split="test")
    assert result["final"].shape == (30,) and result["success"].shape == (30,)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="episode_steps"):
        rl.settings_for("quick", rl.METAWORLD, episode_steps=600)
    with pytest.raises(ValueError, match="episode_steps caps Meta-World's"):
        rl.settings_for("quick", "CartPole-v1", episode_steps=100)
    with pytest.raises(ValueError, match="adam, sgd"):
        rl.settings_for("quick", rl.METAWORLD, inner_optimizer="rmsprop")
    assert rl.network_name(SETTINGS) == "metaworld-2updates-3steps"
    paper = rl.settings_for("paper", rl.METAWORLD)
    assert rl.network_name(paper) == "metaworld-200updates-500steps"  # Meta-World's own cap


def test_the_stored_sac_baseline_had_one_agents_experience():
    """Notebook 06 finds the SAC runs by the quick agents' steps: (updates + fitness episodes)
    x episode steps."""
    from tdca_lib.experiments import rl_baselines

    assert rl.agent_steps(SETTINGS) == (2 + 1) * 3
    quick = rl.settings_for("quick", rl.METAWORLD)
    runs = rl_baselines.load_runs("sac", "Meta-World", rl.agent_steps(quick))
    assert len(runs) == 9 and all(len(r.returns) * quick.episode_steps == rl.agent_steps(quick)
                                  for r in runs)
