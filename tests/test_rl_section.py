import dataclasses

import torch

from tdca_lib.experiments import rl, rl_baselines
from tdca_lib.machinery import paper
from tdca_lib.machinery.claims import (
    NOT_SUPPORTED,
    NOT_TESTED,
    SUPPORTED,
    WITHIN_NOISE,
    Claims,
)
from tdca_lib.sections import rl as rl_section


def test_every_table_network_is_one_the_command_line_evolves():
    for columns in rl_section.TDCA_ROWS.values():
        for column, (task, updates) in columns.items():
            assert updates in rl.TASKS[task]["quick"]
            assert column in rl_section.RANGES
            # a network is judged on its own task or the same dynamics under another cap
            assert column.split("-")[0] == task.split("-")[0]
    assert rl.settings_for("quick", "CartPole-v0").updates == 200  # the paper's horizon
    assert all(updates == 200 for _, updates in rl_section.TDCA_ROWS[rl_section.PAPER_HORIZON]
               .values())


def fake_results():
    """Two CartPole cells from made-up returns, the other networks missing."""
    nets = {key: rl_section.Network(rl.settings_for("quick", *key), missing=f"{key[0]} missing")
            for cells in rl_section.TDCA_ROWS.values() for key in cells.values()}
    nets["CartPole-v0", 200] = rl_section.Network(rl.settings_for("quick", "CartPole-v0"),
                                                torch.zeros(1, 3), generations=7)
    result = {"final": torch.tensor([200.0, 200.0, 190.0, 200.0, 200.0]),
              "untrained": torch.tensor([9.0, 10.0, 11.0, 9.0, 10.0]),
              "curve": torch.ones(200, 5), "env_steps": torch.arange(1.0, 201.0)}
    cells = {(rl_section.PAPER_HORIZON, "CartPole-v0"): result,
             (rl_section.PAPER_HORIZON, "CartPole-v1"): result | {"final": torch.full((5,), 300.0)}}
    runs = {key: "baseline runs not found" for key in rl_section.BASELINES}
    return nets, cells, runs


def test_table_puts_ours_beside_the_papers_and_says_what_is_missing():
    nets, cells, runs = fake_results()
    table = rl_section.table(nets, cells, runs).set_index("")
    row = table.loc[rl_section.PAPER_HORIZON]
    assert row["CartPole-v0: ours"].startswith("198.0 ± 4.5 (success; evolved on CartPole-v0, "
                                               "200 updates, 7 generations, 5 agents)")
    assert row["CartPole-v1: ours"].startswith("300.0 ± 0.0 (not solved;")  # 475 on v1
    assert row["CartPole-v0: paper"] == paper.TABLE_S5["CartPole-v0"]["TDCA-net"]
    assert row["CartPole-v1: paper"] == "-"  # the paper has no 500-step CartPole
    assert row["Pendulum-v1: ours"] == "Pendulum-v1 missing"
    assert table.loc["Untrained agent", "CartPole-v0: ours"].startswith("9.8 ± 0.8 (not solved")
    assert table.loc["TD3", "Pendulum-v1: ours"] == "baseline runs not found"


def test_claims_are_judged_where_there_are_numbers_and_left_open_where_not():
    nets, cells, runs = fake_results()
    claims = Claims()
    rl_section.judge_claims(claims, nets, cells, runs, longer={})
    frame = claims.frame().set_index("claim")
    verdicts = frame["verdict"]
    # 198 ± 2 over 5 agents clears 195 by 1.5 standard errors only: within noise
    assert verdicts["TDCA solves CartPole-v0 [0, 200] (200 updates; Table S5)"] == WITHIN_NOISE
    assert frame.loc["TDCA solves CartPole-v0 [0, 200] (200 updates; Table S5)",
                     "evidence"].startswith("+3.00 ± 2.00 return (5 values); final return 198.0")
    assert verdicts["TDCA solves CartPole-v1 [0, 500] (200 updates; Table S5)"] == NOT_SUPPORTED
    assert verdicts["(ours) The TDCA network improves CartPole-v0 agents over the untrained ones "
                    "(evolved on CartPole-v0, 200 updates, 7 generations)"] == SUPPORTED
    assert verdicts["TDCA beats TD3 on Pendulum-v1 (200 updates; Table S5)"] == NOT_TESTED
    assert verdicts["TDCA solves BipedalWalker-v3 (10 updates; Table S5)"] == NOT_TESTED


def test_a_lead_over_td3_the_untrained_agents_hold_too_is_not_tdcas():
    nets, cells, _ = fake_results()
    run = rl_baselines.BaselineRun("TD3", "Pendulum-v1", 0, [1], [-1500.0], -1500.0, 10)
    runs = {key: [run, dataclasses.replace(run, final=-1400.0)] for key in rl_section.BASELINES}
    pendulum = {"final": torch.tensor([-1000.0, -1010.0, -990.0, -1000.0, -1000.0]),
                "curve": torch.ones(200, 5), "env_steps": torch.arange(1.0, 201.0)}
    # trained agents lead TD3 clearly; what the training added decides
    for untrained, verdict in ((-1300.0, SUPPORTED), (-1000.0, WITHIN_NOISE),
                               (-900.0, NOT_SUPPORTED)):
        cells[rl_section.PAPER_HORIZON, "Pendulum-v1"] = pendulum | {
            "untrained": untrained + torch.tensor([-10.0, 10.0, 0.0, 5.0, -5.0])}
        claims = Claims()
        rl_section.judge_claims(claims, nets, cells, runs, longer={})
        frame = claims.frame().set_index("claim")
        claim = "TDCA beats TD3 on Pendulum-v1 (200 updates; Table S5)"
        assert frame.loc[claim, "verdict"] == verdict
        assert frame.loc[claim, "evidence"].startswith(
            "lead over TD3: +450.00 ± 50.10 return (7 values)")


def test_keeping_agents_as_good_over_longer_horizons_is_judged_agent_by_agent():
    nets, cells, runs = fake_results()
    one = cells[rl_section.PAPER_HORIZON, "CartPole-v0"]["final"]  # 200, 200, 190, 200, 200
    for later, verdict in ((one + torch.tensor([1.0, 2.0, 1.0, 2.0, 1.0]), SUPPORTED),
                           (one, WITHIN_NOISE), (one - 50, NOT_SUPPORTED)):
        claims = Claims()
        rl_section.judge_claims(claims, nets, cells, runs,
                                longer={("CartPole-v0", 200): {2: {"final": later}}})
        assert claims.rows[-1]["claim"] == ("(ours) The CartPole-v0 network evolved at 200 "
                                            "updates keeps its agents at least as good over 2x "
                                            "the updates")
        assert claims.rows[-1]["verdict"] == verdict
