import pytest

from tdca_lib.experiments import rl_baselines


def test_reinforce_is_deterministic_and_records_every_episode():
    first = rl_baselines.reinforce(episodes=5, seed=3, eval_episodes=2)
    second = rl_baselines.reinforce(episodes=5, seed=3, eval_episodes=2)
    assert first == second and len(first.returns) == 5
    assert first.env_steps[-1] == sum(first.returns)  # CartPole: +1 a step
    assert rl_baselines.reinforce(episodes=5, seed=4, eval_episodes=2).returns != first.returns


@pytest.mark.slow
def test_reinforce_learns_cartpole():
    run = rl_baselines.reinforce(episodes=150, seed=0, eval_episodes=3)
    assert sum(run.returns[-20:]) / 20 > 2 * sum(run.returns[:20]) / 20


def test_reinforce_refuses_continuous_tasks():
    with pytest.raises(ValueError, match="continuous"):
        rl_baselines.reinforce("Pendulum-v1", episodes=1)


def test_td3_runs_from_stable_baselines3_with_the_zoo_settings():
    run = rl_baselines.td3("Pendulum-v1", timesteps=400, seed=0, eval_episodes=1,
                           learning_starts=100, net_arch=[8])
    assert run.env_steps == [200, 400] and len(run.returns) == 2 and run.final < 0
    with pytest.raises(ValueError, match="Pendulum-v1"):
        rl_baselines.td3("CartPole-v1")


def test_stored_runs_round_trip_and_a_missing_one_names_its_command(tmp_path):
    runs = [rl_baselines.reinforce(episodes=2, seed=s, eval_episodes=1) for s in (0, 1)]
    name = rl_baselines.run_name("reinforce", "CartPole-v1", 2)
    assert name == "reinforce-CartPole-v1-2episodes"
    rl_baselines.save_runs(runs, "reinforce", "CartPole-v1", 2, tmp_path)
    assert (tmp_path / f"{name}.json").exists()
    assert rl_baselines.load_runs("reinforce", "CartPole-v1", 2, tmp_path) == runs
    with pytest.raises(FileNotFoundError, match="--method td3 --task Pendulum-v1 --budget 20000"):
        rl_baselines.load_runs("td3", "Pendulum-v1", 20000, tmp_path)


def test_sac_trains_on_a_metaworld_variant_and_reports_success():
    from tdca_lib.experiments.metaworld_envs import variants

    run = rl_baselines.sac_metaworld(variants("train")[0], timesteps=40, episode_steps=20,
                                     eval_episodes=1)
    assert run.env_steps == [20, 40] and 0.0 <= run.success <= 1.0 and run.final >= 0


def test_the_command_pairs_sac_with_meta_world_only():
    for argv in (["--method", "sac", "--task", "Pendulum-v1"],
                 ["--method", "td3", "--task", "Meta-World"]):
        with pytest.raises(SystemExit):
            rl_baselines.main(argv)
