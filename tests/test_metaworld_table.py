"""Table S6 and the Meta-World claims (tdca_lib.experiments.metaworld) on small fake results."""

import torch

from tdca_lib.experiments import rl
from tdca_lib.experiments.rl_baselines import BaselineRun
from tdca_lib.machinery import paper
from tdca_lib.machinery.claims import (
    NOT_SUPPORTED,
    NOT_TESTED,
    SUPPORTED,
    WITHIN_NOISE,
    Claims,
)
from tdca_lib.sections import metaworld as metaworld_section

SEEDS = 2
SETTINGS = rl.settings_for("quick", rl.METAWORLD)
MISSING = "TDCA network 'metaworld-10updates-150steps-quick' not found"


def split_result(variants: int, per_task: tuple[float, float, float],
                 success: tuple[float, float, float], with_ids: bool) -> dict:
    """A fake :func:`tdca_lib.experiments.rl.evaluate_tdca` result, member-major like the real one:
    every
    row of task type k returns ``per_task[k]`` (plus 0, 1, 2... within the task, so the mean is
    ``per_task[k] + (variants * SEEDS - 1) / 2``) and succeeds ``success[k]`` of the time."""
    task_ids = torch.arange(3).repeat_interleave(variants).repeat(SEEDS)
    offset = torch.zeros(len(task_ids))
    for k in range(3):
        offset[task_ids == k] = torch.arange(float(variants * SEEDS))
    result = {"final": torch.tensor(per_task)[task_ids] + offset,
              "success": torch.tensor(success)[task_ids]}
    if with_ids:
        result["task_ids"] = task_ids
    return result


def fake_results() -> dict[str, dict]:
    # train rows per task: offsets 0..5 (mean +2.5); test rows: 0..19 (mean +9.5)
    return {"train": split_result(3, (7.5, 17.5, 97.5), (0.0, 0.5, 1.0), True),
            "train (untrained)": split_result(3, (-2.5, -2.5, -2.5), (0.0, 0.0, 0.0), False),
            "test": split_result(10, (0.5, 20.5, 10.5), (0.25, 0.0, 0.1), True),
            "test (untrained)": split_result(10, (-9.5, -9.5, -9.5), (0.0, 0.0, 0.0), False)}


def sac_run(task: str, final: float, success: float) -> BaselineRun:
    return BaselineRun("SAC", task, 0, [150], [final], final, 3, success)


SAC_RUNS = [sac_run("button-press-wall-v3/train0", 4.0, 0.0),
            sac_run("button-press-wall-v3/train1", 6.0, 1.0),
            sac_run("dial-turn-v3/train0", 50.0, 0.0),
            sac_run("door-close-v3/train2", 8.0, 1 / 3)]


def test_table_s6_has_a_row_per_task_and_split_with_each_methods_numbers():
    table = metaworld_section.table_s6(fake_results(), SAC_RUNS, torch.zeros(1, 4))
    assert table.shape == (6, 10)
    assert list(table.columns) == [
        "Task", "Split", "TDCA: return", "TDCA: success", "untrained: return",
        "untrained: success", "SAC: return", "SAC: success", "Paper: return", "Paper: success"]
    assert list(table["Task"]) == ["button-press-wall"] * 2 + ["dial-turn"] * 2 + ["door-close"] * 2
    assert list(table["Split"]) == ["train (3 inits)", "test (10 inits)"] * 3
    # means over a task type's rows: 7.5 + 2.5, 0.5 + 9.5, ...
    assert list(table["TDCA: return"]) == ["10.0", "10.0", "20.0", "30.0", "100.0", "20.0"]
    assert list(table["TDCA: success"]) == ["0%", "25%", "50%", "0%", "100%", "10%"]
    assert set(table["untrained: return"]) == {"0.0"}
    # SAC: the mean over the training variants of the task type; never on the test variants
    assert list(table["SAC: return"]) == ["5.0", "-", "50.0", "-", "8.0", "-"]
    assert list(table["SAC: success"]) == ["50%", "-", "0%", "-", "33%", "-"]
    door_test = table.iloc[5]
    assert (door_test["Paper: return"], door_test["Paper: success"]) == \
        paper.TABLE_S6["test"]["door-close"]


def test_table_s6_says_why_where_the_network_or_sac_is_missing():
    table = metaworld_section.table_s6({}, "baseline runs not found; make them with: ...", MISSING)
    assert table.shape == (6, 7)  # no success or untrained columns without results
    assert set(table["TDCA: return"]) == {MISSING}
    assert "untrained: return" not in table.columns
    assert list(table["SAC: return"]) == ["not run (above: how)", "-"] * 3
    assert list(table["Paper: return"]) == [paper.TABLE_S6[s][t][0] for t in (
        "button-press-wall", "dial-turn", "door-close") for s in ("train", "test")]


def test_claims_are_judged_from_the_results_with_their_evidence():
    claims = Claims()
    finals = {1: torch.tensor([10.0, 12.0, 14.0, 16.0]), 2: torch.tensor([20.0]),
              4: torch.tensor([12.0, 12.0, 12.0, 12.0])}
    metaworld_section.judge_claims(claims, fake_results(), finals, SETTINGS, torch.zeros(1, 4))
    frame = claims.frame()
    assert list(frame["claim"]) == [
        "button-press-wall-v3: the test score barely drops from training (Table S6)",
        "dial-turn-v3: the test score barely drops from training (Table S6)",
        "door-close-v3: the test score barely drops from training (Table S6)",
        "One TDCA network serves all three task types: it improves each task's agents over "
        "the untrained ones (Table S6)",
        "(ours) The network keeps test agents at least as good over 4x the updates it was "
        "evolved for"]
    # button-press: test 10.0 - 0.8 x train 10.0 = +2.0, standard error sqrt(5.92^2 / 20 +
    # (0.8 x 1.87)^2 / 6) = 1.46 (rows 0..19 and 0..5): within noise; dial-turn +14, door -60
    assert list(frame["verdict"]) == [WITHIN_NOISE, SUPPORTED, NOT_SUPPORTED, SUPPORTED,
                                      WITHIN_NOISE]
    evidence = list(frame["evidence"])
    assert evidence[0] == ("+2.00 ± 1.46 return (26 values); test minus 0.80 x train; mean "
                           "return train 10.0, test 10.0 (ratio 1.00)")
    assert evidence[2].startswith("-60.00 ± ")
    assert evidence[2].endswith("mean return train 100.0, test 20.0 (ratio 0.20)")
    # the same agents trained and untrained: a gain of exactly 10, 20, 100 on every row
    assert evidence[3] == (
        "button-press-wall: +10.00 ± 0.00 return (6 pairs); dial-turn: +20.00 ± 0.00 return "
        "(6 pairs); door-close: +100.00 ± 0.00 return (6 pairs); training-variant return gain "
        "over the same agents untrained, each task type's")
    # after 4x: 12 against 10, 12, 14, 16 agent by agent: -1.0 ± 1.29
    assert evidence[4] == (f"-1.00 ± 1.29 return (4 pairs); test return after "
                           f"{SETTINGS.updates} updates 13.0, after {4 * SETTINGS.updates} 12.0, "
                           "the same agents")


def test_an_untrained_network_that_does_not_help_is_not_supported():
    results = fake_results()
    untrained = results["train (untrained)"]  # the same agents lose 0.5 on every row
    results["train"] = {"final": untrained["final"] - 0.5, "success": untrained["success"],
                        "task_ids": results["train"]["task_ids"]}
    claims = Claims()
    metaworld_section.judge_claims(claims, results, {1: torch.tensor([10.0, 10.0]),
                                             4: torch.tensor([5.0, 5.0])},
                           SETTINGS, torch.zeros(1, 4))
    verdicts = claims.frame()["verdict"]
    assert verdicts.iloc[3] == NOT_SUPPORTED  # worse than the same agents untrained
    assert verdicts.iloc[4] == NOT_SUPPORTED  # worse after 4x the updates, beyond the noise


def test_claims_without_a_network_are_not_tested_and_say_why():
    claims = Claims()
    metaworld_section.judge_claims(claims, {}, {}, SETTINGS, MISSING)
    frame = claims.frame()
    assert len(frame) == 4  # the horizon claim needs the horizon runs: none
    assert set(frame["verdict"]) == {NOT_TESTED} and set(frame["evidence"]) == {MISSING}
    assert frame["claim"].iloc[3] == "One TDCA network serves all three task types (Table S6)"
