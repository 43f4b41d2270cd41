import json
import math

import pytest
import torch

from tdca_lib import scale


def test_milestones_span_the_run_and_double_early():
    run = scale.ScaleRun(population=32)
    points = run.milestones()
    assert points[0] == 0 and points[-1] == run.generations == 1600
    assert points == sorted(set(points))
    early = [g * 32 for g in points[1:5]]
    assert all(0.5 < b / a / 2 < 1.5 for a, b in zip(early, early[1:]))  # about doublings
    assert scale.ScaleRun(population=800).milestones()[-1] == 64  # 51200 / 800


def test_bad_runs_are_refused():
    with pytest.raises(ValueError, match="unknown variant"):
        scale.ScaleRun(population=32, variant="magic")
    with pytest.raises(ValueError, match="one generation"):
        scale.ScaleRun(population=32, evaluations=16)


def test_trend_recovers_a_known_line_and_extrapolates_it():
    evaluations = [100 * 2**k for k in range(8)]
    accuracy = [0.5 + 0.02 * math.log2(e) for e in evaluations]
    line = scale.trend(evaluations, accuracy)
    assert line["per_doubling"] == pytest.approx(0.02)
    assert line["span"] == (6400, 12800) and line["points"] == 2
    assert scale.evaluations_to_reach(line, 0.5 + 0.02 * 20) == pytest.approx(2**20)
    flat = scale.trend(evaluations, [0.7] * 8)
    assert scale.evaluations_to_reach(flat, 0.8) is None


def test_an_extrapolation_goes_on_from_the_last_point_never_back_inside_the_runs():
    # a steep rise levelling off: the least-squares line passes above the last point, so
    # a target just above it would be "reached" inside the span by the line
    line = scale.trend([1000, 2000, 3000, 4000], [0.5, 0.8, 0.85, 0.86])
    assert line["span"] == (2000, 4000) and line["end"] == 0.86
    reach = scale.evaluations_to_reach(line, 0.865)
    assert reach > 4000
    assert reach == pytest.approx(4000 * 2 ** (0.005 / line["per_doubling"]))


def tiny(evaluations: int) -> scale.ScaleRun:
    return scale.ScaleRun(population=4, seed=1, evaluations=evaluations, steps=2, train_size=100)


def test_a_run_extended_later_equals_one_run_straight_through(tmp_path):
    straight = scale.evolve_run(tiny(24), tmp_path / "a", progress=False)
    scale.evolve_run(tiny(12), tmp_path / "b", progress=False)
    extended = scale.evolve_run(tiny(24), tmp_path / "b", progress=False)
    def points(curve):
        return {p["generation"]: {k: v for k, v in p.items() if k != "evolution_seconds"}
                for p in curve["points"]}

    # the extended run keeps its shorter run's last point (generation 3) besides the others
    assert list(points(straight)) == [0, 6] and list(points(extended)) == [0, 3, 6]
    assert all(points(extended)[g] == p for g, p in points(straight).items())
    first, second = (torch.load(tmp_path / f / tiny(24).name / "state.pt") for f in "ab")
    assert torch.equal(first["pgpe"]["center"], second["pgpe"]["center"])
    # the curve says how to make it again, and reads back as rows
    saved = json.loads(scale.curve_path(tiny(24), tmp_path / "b").read_text())
    assert saved["command"] == tiny(24).command() and saved["run"]["evaluations"] == 24
    rows = scale.stored_curves(tmp_path / "b")
    assert rows["complete"].all() and len(rows) == 3
    assert all(len(p["meta_test"]) == 3 for p in straight["points"])


def test_a_folder_holding_another_run_is_refused(tmp_path):
    scale.evolve_run(tiny(8), tmp_path, progress=False)
    other = tiny(8)
    path = scale.curve_path(other, tmp_path)
    curve = json.loads(path.read_text())
    curve["run"]["steps"] = 3
    path.write_text(json.dumps(curve))
    with pytest.raises(ValueError, match="holds another run"):
        scale.evolve_run(other, tmp_path, progress=False)


def test_trends_table_reads_mean_over_seeds(tmp_path):
    import pandas as pd

    rows = [{"variant": "baseline", "population": 8, "seed": s, "evaluations": e,
             "meta_test": 0.6 + 0.01 * math.log2(e) + 0.001 * s, "meta_train": 0.0,
             "center_fitness": -1 + 0.05 * math.log2(e) - 0.02 * s}
            for s in (0, 1) for e in (100, 200, 400, 800)]
    table = scale.trends(pd.DataFrame(rows), {"high": 0.9, "low": 0.5})
    assert table.loc[0, "seeds"] == 2 and table.loc[0, "evaluations"] == 800
    assert table.loc[0, "points per doubling (last doubling)"] == pytest.approx(1.0)
    assert table.loc[0, "fitness per doubling (last doubling)"] == pytest.approx(0.05)
    assert table.loc[0, "to reach low (extrapolated)"] == "reached"
    assert table.loc[0, "to reach high (extrapolated)"] == pytest.approx(2 ** (0.2995 / 0.01))
    further = pd.DataFrame(rows + [rows[-1] | {"evaluations": 1600, "meta_test": 0.75}])
    row = scale.trends(further, {"high": 0.9}).iloc[0]
    assert row["evaluations"] == 800 and row["furthest seed"] == 1
    assert row["its evaluations"] == 1600 and row["its meta-test (%)"] == pytest.approx(75.0)
    assert "seed 1 went on to 1600 evaluations: 75.00%" in scale.describe_trends(
        scale.trends(further, {"high": 0.9}))


def test_minibatch_fitness_draws_a_fresh_batch_a_generation_the_same_on_resume():
    from tdca_lib import data

    run = scale.ScaleRun(population=4, variant="minibatch", steps=2, train_size=1000)
    train = data.load("mnist", 1000, 200)
    fitness = scale.fitness_for(run, train)
    beta = scale.start_for(run, train)[None].expand(2, -1)
    first, again, other = (fitness(beta, g)[0] for g in (0, 0, 1))
    assert torch.equal(first, again) and not torch.equal(first, other)
    whole = scale.fitness_for(scale.ScaleRun(population=4, steps=2, train_size=1000), train)
    assert not torch.equal(whole(beta, 0)[0], first)


def test_a_warm_start_variant_starts_from_supervised_fit_to_dfa():
    from tdca_lib import data, supervised

    run = scale.ScaleRun(population=4, variant="dfa-start", steps=2, train_size=200)
    cold = scale.ScaleRun(population=4, steps=2, train_size=200)
    train = data.load("mnist", 200, 100)
    random = scale.start_for(cold, train)
    assert torch.equal(random, supervised.search_start(run.settings, [train]))
    fitted = supervised.fit_to_dfa(run.settings, [train], random, seed=run.seed)
    assert torch.equal(scale.start_for(run, train), fitted)


def test_ablation_compares_each_variant_with_the_baseline_where_both_have_been():
    import pandas as pd

    rows = [{"run": f"{v}-{s}", "variant": v, "population": 32, "seed": s, "evaluations": e,
             "meta_test": acc + 0.01 * e / 800, "meta_train": 0.0}
            for v, acc, last in (("baseline", 0.80, 2400), ("clipup", 0.83, 1600),
                                 ("authors", 0.70, 800), ("minibatch", 0.5, 0))
            for s in (0, 1) for e in range(0, last + 1, 800)]
    rows.append(rows[-1] | {"run": "authors-2", "variant": "authors", "seed": 2})  # at its start
    table = scale.ablation(pd.DataFrame(rows)).set_index("variant")
    assert table["evaluations"].to_dict() == {"authors": 800, "baseline": 2400, "clipup": 1600}
    lead = table["lead over baseline (points)"]
    assert lead["baseline"] == 0 and lead["clipup"] == pytest.approx(3.0)
    assert lead["authors"] == pytest.approx(-10.0) and table.loc["authors", "seeds"] == 2
    rows += [r | {"run": "clipup-0", "meta_test": 0.9} for r in rows if r["run"] == "clipup-0"]
    rows = [r for r in rows if r["run"] != "clipup-0" or r["meta_test"] == 0.9]
    by_seed = scale.ablation(pd.DataFrame(rows)).set_index("variant")["meta-test by seed (%)"]
    assert by_seed["clipup"] == "90.00, 85.00" and by_seed["baseline"] == "83.00, 83.00"
    start = table["meta-test at the start (%)"]
    assert start["baseline"] == pytest.approx(80.0) and start["clipup"] == pytest.approx(83.0)
    assert scale.ablation(pd.DataFrame(rows).iloc[:0]).empty
