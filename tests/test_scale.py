import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from tdca_lib.experiments import scale
from tdca_lib.machinery.checkpoints import ResumeMismatch, StateUnreadable
from tdca_lib.machinery.claims import Claims
from tdca_lib.machinery.commands import command
from tdca_lib.sections import scale as scale_section


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
    line = scale_section.trend(evaluations, accuracy)
    assert line["per_doubling"] == pytest.approx(0.02)
    assert line["span"] == (6400, 12800) and line["points"] == 2
    assert scale_section.evaluations_to_reach(line, 0.5 + 0.02 * 20) == pytest.approx(2**20)
    flat = scale_section.trend(evaluations, [0.7] * 8)
    assert scale_section.evaluations_to_reach(flat, 0.8) is None


def test_an_extrapolation_goes_on_from_the_last_point_never_back_inside_the_runs():
    # a steep rise levelling off: the least-squares line passes above the last point, so
    # a target just above it would be "reached" inside the span by the line
    line = scale_section.trend([1000, 2000, 3000, 4000], [0.5, 0.8, 0.85, 0.86])
    assert line["span"] == (2000, 4000) and line["end"] == 0.86
    reach = scale_section.evaluations_to_reach(line, 0.865)
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
    rows = scale_section.stored_curves(tmp_path / "b")
    assert rows["complete"].all() and len(rows) == 3
    assert all(len(p["meta_test"]) == 3 for p in straight["points"])


def test_a_folder_holding_another_run_is_refused(tmp_path):
    scale.evolve_run(tiny(8), tmp_path, progress=False)
    other = tiny(8)
    path = scale.curve_path(other, tmp_path)
    curve = json.loads(path.read_text())
    curve["run"]["steps"] = 3
    path.write_text(json.dumps(curve))
    with pytest.raises(ResumeMismatch, match="holds another run"):
        scale.evolve_run(other, tmp_path, progress=False)


def test_trends_table_reads_mean_over_seeds(tmp_path):
    import pandas as pd

    rows = [{"variant": "baseline", "population": 8, "seed": s, "evaluations": e,
             "meta_test": 0.6 + 0.01 * math.log2(e) + 0.001 * s, "meta_train": 0.0,
             "center_fitness": -1 + 0.05 * math.log2(e) - 0.02 * s}
            for s in (0, 1) for e in (100, 200, 400, 800)]
    table = scale_section.trends(pd.DataFrame(rows), {"high": 0.9, "low": 0.5})
    assert table.loc[0, "seeds"] == 2 and table.loc[0, "evaluations"] == 800
    assert table.loc[0, "points per doubling (last doubling)"] == pytest.approx(1.0)
    assert table.loc[0, "fitness per doubling (last doubling)"] == pytest.approx(0.05)
    assert table.loc[0, "to reach low (extrapolated)"] == "reached"
    assert table.loc[0, "to reach high (extrapolated)"] == pytest.approx(2 ** (0.2995 / 0.01))
    further = pd.DataFrame(rows + [rows[-1] | {"evaluations": 1600, "meta_test": 0.75}])
    row = scale_section.trends(further, {"high": 0.9}).iloc[0]
    assert row["evaluations"] == 800 and row["furthest seed"] == 1
    assert row["its evaluations"] == 1600 and row["its meta-test (%)"] == pytest.approx(75.0)
    assert "seed 1 went on to 1600 evaluations: 75.00%" in scale_section.describe_trends(
        scale_section.trends(further, {"high": 0.9}))


def test_minibatch_fitness_draws_a_fresh_batch_a_generation_the_same_on_resume():
    from tdca_lib.machinery import data

    run = scale.ScaleRun(population=4, variant="minibatch", steps=2, train_size=1000)
    train = data.load("mnist", 1000, 200)
    fitness = scale.fitness_for(run, train)
    beta = scale.start_for(run, train)[None].expand(2, -1)
    first, again, other = (fitness(beta, g)[0] for g in (0, 0, 1))
    assert torch.equal(first, again) and not torch.equal(first, other)
    whole = scale.fitness_for(scale.ScaleRun(population=4, steps=2, train_size=1000), train)
    assert not torch.equal(whole(beta, 0)[0], first)


def test_a_warm_start_variant_starts_from_supervised_fit_to_dfa():
    from tdca_lib.experiments import supervised
    from tdca_lib.machinery import data

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
    table = scale_section.ablation(pd.DataFrame(rows)).set_index("variant")
    assert table["evaluations"].to_dict() == {"authors": 800, "baseline": 2400, "clipup": 1600}
    lead = table["lead over baseline (points)"]
    assert lead["baseline"] == 0 and lead["clipup"] == pytest.approx(3.0)
    assert lead["authors"] == pytest.approx(-10.0) and table.loc["authors", "seeds"] == 2
    rows += [r | {"run": "clipup-0", "meta_test": 0.9} for r in rows if r["run"] == "clipup-0"]
    rows = [r for r in rows if r["run"] != "clipup-0" or r["meta_test"] == 0.9]
    ablation = scale_section.ablation(pd.DataFrame(rows)).set_index("variant")
    by_seed = ablation["meta-test by seed (%)"]
    assert by_seed["clipup"] == "90.00, 85.00" and by_seed["baseline"] == "83.00, 83.00"
    start = table["meta-test at the start (%)"]
    assert start["baseline"] == pytest.approx(80.0) and start["clipup"] == pytest.approx(83.0)
    assert scale_section.ablation(pd.DataFrame(rows).iloc[:0]).empty


AIMED_AT_UNSEEN = [name for name, v in scale.VARIANTS.items() if v.held_out]


def coded_pool(samples: int = 400) -> "scale.data.Dataset":
    """A pool whose training samples carry their index in their first feature."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(samples, 784, generator=generator)
    x[:, 0] = torch.arange(samples, dtype=torch.float32)
    y = torch.randint(10, (samples,), generator=generator)
    return scale.data.Dataset("mnist", x, y, x[:50] * 0 - 1, y[:50], "index-coded")


@pytest.mark.parametrize("variant", list(scale.VARIANTS))
def test_no_search_touches_a_meta_test_sample(variant, monkeypatch):
    from tdca_lib.experiments import supervised

    touched: set[int] = set()
    real = supervised.fitness_function

    def recording(settings, datasets, *args, **kwargs):
        for d in datasets:  # what the inner loop trains on, and what a held-out fitness scores
            touched.update(d.x_train[:, 0].long().tolist())
            if kwargs.get("held_out"):
                touched.update(d.x_test[:, 0].long().tolist())
        return real(settings, datasets, *args, **kwargs)

    monkeypatch.setattr(supervised, "fitness_function", recording)
    run = scale.ScaleRun(population=4, variant=variant, steps=2, train_size=100)
    pool = coded_pool()
    train = pool.subset(run.train_size)  # a warm start is fitted on these alone (start_for)
    start = scale.start_for(scale.ScaleRun(population=4, steps=2, train_size=100), train)
    fitness = scale.fitness_for(run, train, start)
    for generation in range(6 if scale.VARIANTS[variant].per_generation else 1):
        fitness(start[None].expand(3, -1), generation)
    touched.update(scale.validation_split(train).x_train[:, 0].long().tolist())
    touched.update(scale.validation_split(train).x_test[:, 0].long().tolist())
    meta_test = {int(i) for d in pool.meta_test(run.train_size) for i in d.x_train[:, 0]}
    assert touched and touched <= set(range(run.train_size))
    assert not touched & meta_test


@pytest.mark.parametrize("variant", AIMED_AT_UNSEEN)
def test_a_task_a_generation_the_same_on_resume(variant):
    run = scale.ScaleRun(population=4, variant=variant, steps=2, train_size=100)
    train = coded_pool().subset(100)
    start = scale.start_for(scale.ScaleRun(population=4, steps=2, train_size=100), train)
    beta = torch.stack([start, start + 0.01])
    first, again, other = (scale.fitness_for(run, train, start)(beta, g)[0] for g in (0, 0, 1))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_a_held_out_fitness_scores_samples_the_inner_loop_did_not_train_on(monkeypatch):
    from tdca_lib.experiments import supervised

    seen = []
    real = supervised.fitness_function
    monkeypatch.setattr(supervised, "fitness_function", lambda s, datasets, *a, **k: (
        seen.append((datasets[0], k)), real(s, datasets, *a, **k))[1])
    run = scale.ScaleRun(population=4, variant="held-out", steps=2, train_size=100)
    train = coded_pool().subset(100)
    start = scale.start_for(scale.ScaleRun(population=4, steps=2, train_size=100), train)
    scale.fitness_for(run, train, start)(start[None], 0)
    (task, options), = [(task, options) for task, options in seen if options.get("held_out")]
    trained, scored = (set(x[:, 0].long().tolist()) for x in (task.x_train, task.x_test))
    assert len(trained) == len(scored) == 50
    assert not trained & scored and trained | scored == set(range(100))


def test_the_anchor_subtracts_its_weight_times_the_squared_distance_from_the_start():
    anchored = scale.ScaleRun(population=4, variant="held-out-anchor", steps=2, train_size=100)
    free = scale.ScaleRun(population=4, variant="held-out", steps=2, train_size=100)
    train = coded_pool().subset(100)
    start = scale.start_for(scale.ScaleRun(population=4, steps=2, train_size=100), train)
    beta = torch.stack([start, start + 0.1, start - 0.2])
    with pytest.raises(ValueError, match="pass start"):
        scale.fitness_for(anchored, train)
    penalised, extras = scale.fitness_for(anchored, train, start)(beta, 3)
    plain = scale.fitness_for(free, train, start)(beta, 3)[0]
    distance = (beta - start).pow(2).sum(1)
    assert torch.allclose(penalised, plain - scale.ANCHOR * distance)
    assert torch.equal(-extras["cross_entropy"], plain) and penalised[0] == plain[0]


def test_a_point_measures_meta_test_at_both_horizons_and_validation(tmp_path):
    run = scale.ScaleRun(population=4, seed=1, evaluations=4, steps=2, train_size=100,
                         variant="held-out")
    curve = scale.evolve_run(run, tmp_path, progress=False)
    for point in curve["points"]:
        assert len(point["meta_test"]) == len(point["meta_test_50"]) == 3
        assert 0 <= point["validation"] <= 1
    rows = scale_section.stored_curves(tmp_path)
    assert rows[["meta_test_50", "validation"]].notna().all().all()


# --- A run's committed files damaged or missing: one line naming the file, and how to restore it


def small(evaluations: int) -> scale.ScaleRun:
    """Points at generations 0, 2, 4 (and 8) for 200 (400) evaluations."""
    return scale.ScaleRun(population=50, seed=1, evaluations=evaluations, steps=2,
                          train_size=100)


def quick_measure(run, pool, center):
    """A stand-in for measuring a centre (seconds a point): numbers that follow the centre."""
    return {"meta_train": center.double().sum().item(),
            "meta_test": [center.double().norm().item()] * 3}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small run at its budget (points at generations 0, 2 and 4), in a folder of its own."""
    folder = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scale, "measure", quick_measure)
        scale.evolve_run(small(200), folder, progress=False)
    return folder


@pytest.fixture
def run_dir(finished, tmp_path, monkeypatch):
    """A copy of the finished run's folder in ``tmp_path``, measured as it was."""
    import shutil

    monkeypatch.setattr(scale, "measure", quick_measure)
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    return tmp_path / small(200).name


def test_a_truncated_curve_is_named_with_how_to_restore_it(run_dir, tmp_path, capsys):
    curve = run_dir / "curve.json"
    curve.write_text(curve.read_text()[:100])
    for read in (lambda: scale.evolve_run(small(200), tmp_path, progress=False),
                 lambda: scale_section.stored_curves(tmp_path)):  # the command and notebook 07
        with pytest.raises(StateUnreadable) as caught:
            read()
        message = str(caught.value)
        assert len(message.splitlines()) == 1 and str(curve) in message
        assert "JSONDecodeError" in message and f"git checkout -- {curve}" in message
    # the command prints it as its one line (the same files under its own run's name)
    cli_run = scale.ScaleRun(population=4, seed=1, evaluations=8)
    (tmp_path / cli_run.name).mkdir()
    (tmp_path / cli_run.name / "curve.json").write_text('{"name": "mnist-')
    assert command(lambda: scale.main(["--population", "4", "--seed", "1", "--evaluations",
                                       "8", "--folder", str(tmp_path)])) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("error: ")
    assert "curve.json is unreadable" in error and "git checkout -- " in error


def test_a_missing_curve_beside_a_state_past_the_start_is_named(run_dir, tmp_path):
    (run_dir / "curve.json").unlink()
    with pytest.raises(StateUnreadable) as caught:
        scale.evolve_run(small(200), tmp_path, progress=False)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and "past the" not in message
    assert f"{run_dir / 'curve.json'} is missing" in message and "at generation 4" in message
    assert f"git checkout -- {run_dir}" in message and f"delete {run_dir / 'state.pt'}" in message


def test_a_curve_older_than_its_state_is_named(run_dir, tmp_path):
    curve = json.loads((run_dir / "curve.json").read_text())
    curve["points"] = curve["points"][:1]  # as committed before the last two points
    (run_dir / "curve.json").write_text(json.dumps(curve))
    with pytest.raises(StateUnreadable, match="lacks the point at generation 2, but"):
        scale.evolve_run(small(200), tmp_path, progress=False)


def test_a_run_stopped_between_its_first_state_and_its_curve_resumes(finished, tmp_path,
                                                                     monkeypatch):
    class Killed(Exception):
        pass

    def killed(*args):
        raise Killed

    monkeypatch.setattr(scale, "measure", killed)  # after the state of generation 0 is written
    with pytest.raises(Killed):
        scale.evolve_run(small(200), tmp_path, progress=False)
    run_dir = tmp_path / small(200).name
    assert not (run_dir / "curve.json").exists()
    assert torch.load(run_dir / "state.pt")["pgpe"]["generation"] == 0
    monkeypatch.setattr(scale, "measure", quick_measure)
    resumed = scale.evolve_run(small(200), tmp_path, progress=False)
    straight = scale.read_curve(scale.curve_path(small(200), finished))
    assert without_seconds(resumed) == without_seconds(straight)


def without_seconds(curve: dict) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "evolution_seconds"} for p in curve["points"]]


def test_a_truncated_state_advises_restoring_it_not_deleting_the_run(run_dir, tmp_path):
    state = run_dir / "state.pt"
    state.write_bytes(state.read_bytes()[:200])
    with pytest.raises(StateUnreadable) as caught:
        scale.evolve_run(small(400), tmp_path, progress=False)  # extended: it must resume
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(state) in message
    assert f"git checkout -- {state}" in message and f"delete {run_dir} " not in message


def test_improvements_pair_each_variant_with_its_start_and_pick_by_validation(tmp_path):
    def point(evaluations, test, test_50, validation):
        return {"generation": evaluations // 4, "evaluations": evaluations,
                "meta_test": test, "meta_test_50": test_50, "validation": validation}

    for seed, shift in ((0, 0.0), (1, 0.01)):
        run = scale.ScaleRun(population=4, seed=seed, variant="held-out", evaluations=8)
        points = [point(0, [0.80 + shift, 0.82, 0.84], [0.81, 0.83, 0.85], 0.5),
                  point(4, [0.90, 0.91, 0.93], [0.70, 0.71, 0.72], 0.7),
                  point(8, [0.85 + shift, 0.87, 0.89], [0.78, 0.80, 0.83], 0.6)]
        path = scale.curve_path(run, tmp_path)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"run": {"population": 4, "seed": seed,
                                            "variant": "held-out"}, "points": points}))
    [row] = scale_section.improvements(tmp_path, population=4).to_dict("records")
    assert row["seeds"] == 2 and row["evaluations"] == 8
    assert row["change, 20 steps"].startswith("+5.00 ± 0.00 points (6 pairs)")
    assert row["verdict, 20 steps"] == "supported"
    assert row["evolved, 50 steps (%)"] == pytest.approx(80.333, abs=1e-3)
    assert row["verdict, 50 steps"] == "not supported"
    assert row["picked by validation (evaluations)"] == "4, 4"
    assert row["picked, 20 steps (%)"] == pytest.approx(91.333, abs=1e-3)
    fitted = scale_section.fitted_starts(tmp_path, population=4)
    assert list(fitted["seed"]) == [0, 1]
    assert list(fitted["fitted, no evolution (%)"]) == pytest.approx([82.0, 82.333], abs=1e-3)
    assert fitted["dfa-start there (%)"].isna().all()  # no dfa-start run stored
    table = Claims()
    zero_bp = [0.79, 0.80, 0.81]  # the fitted starts lead it by 1 to 3 points, subset by subset
    scale_section.judge_claims(table, pd.DataFrame({"Zero BP": zero_bp}), tmp_path, population=4)
    verdicts = table.frame().set_index("claim")["verdict"].to_dict()
    assert verdicts == {
        "(ours) a TDCA network fitted by regression to DFA's credits, with no evolution, "
        "reaches Zero BP's meta-test accuracy": "supported",
        "(ours) evolution with held-out improves on its start on meta-test, 20 steps": "supported",
        "(ours) evolution with held-out improves on its start on meta-test, 50 steps":
            "not supported"}


def test_a_search_earns_its_place_only_improving_on_its_start_beating_dfa_and_holding_at_50(
        tmp_path):
    def point(evaluations, test, test_50, own):
        return {"generation": evaluations // 4, "evaluations": evaluations, "meta_train": own,
                "meta_test": test, "meta_test_50": test_50}

    start = point(0, [0.80, 0.82, 0.84], [0.81, 0.83, 0.85], 0.81)
    ends = {"held-out": point(8, [0.85, 0.88, 0.89], [0.82, 0.83, 0.86], 0.86),  # passes
            "held-out-anchor": point(8, [0.85, 0.88, 0.89], [0.70, 0.72, 0.73], 0.95)}  # at 50
    for variant, end in ends.items():
        for seed, shift in ((0, 0.0), (1, 0.01)):
            run = scale.ScaleRun(population=4, seed=seed, variant=variant, evaluations=8)
            path = scale.curve_path(run, tmp_path)
            path.parent.mkdir(parents=True)
            moved = dict(end, meta_test=[v + shift for v in end["meta_test"]])
            path.write_text(json.dumps({"run": {"population": 4, "seed": seed,
                                                "variant": variant}, "points": [start, moved]}))
    table = scale_section.improvements(tmp_path, population=4).set_index("variant")
    assert table.loc["held-out-anchor", "own - unseen, evolved (points)"] == pytest.approx(
        95 - 100 * np.mean([0.855, 0.885, 0.895]), abs=1e-6)  # it fits its own samples
    dfa = pd.DataFrame({"Zero DFA": [0.83, 0.85, 0.86]})
    said = scale_section.earns_its_place(table.reset_index(), dfa, tmp_path, population=4)
    assert said.splitlines()[-1] == (
        "held-out passes: it becomes the shipped 3-layer networks' search.")
    beaten = pd.DataFrame({"Zero DFA": [0.90, 0.91, 0.92]})  # DFA beats both: none passes
    said = scale_section.earns_its_place(table.reset_index(), beaten, tmp_path, population=4)
    assert said.splitlines()[-1].startswith("No search passes")


def write_curve(folder, variant: str, population: int, seed: int,
                meta_test: dict[int, list[float]], budget: int) -> None:
    """A stored run's curve: ``meta_test`` maps evaluations to the accuracy on each subset."""
    run = scale.ScaleRun(population=population, seed=seed, variant=variant, evaluations=budget)
    path = scale.curve_path(run, folder)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "run": {"population": population, "seed": seed, "variant": variant,
                "evaluations": budget},
        "points": [{"evaluations": e, "meta_test": test} for e, test in meta_test.items()]}))


def test_claims_pair_each_search_with_zero_bp_and_the_baseline_subset_by_subset(tmp_path):
    start = [0.1, 0.1, 0.1]
    for seed, shift in ((0, 0.0), (1, 0.004)):
        # population 8 reaches Zero BP's 0.80 on every subset; population 4 falls 4.6 points short
        write_curve(tmp_path, "baseline", 8, seed, {0: start, 8: [0.81 + shift, 0.82, 0.80]}, 8)
        write_curve(tmp_path, "baseline", 4, seed, {0: start, 4: [0.75 + shift, 0.75, 0.74],
                                                    8: [0.75, 0.76, 0.75 + shift]}, 16)
        # clipup leads the baseline at 8 evaluations by a point, sigma-adapt by noise alone
        write_curve(tmp_path, "clipup", 4, seed, {0: start, 8: [0.76, 0.77, 0.76 + shift]}, 8)
        write_curve(tmp_path, "sigma-adapt", 4, seed,
                    {0: start, 8: [0.75 + 3 * shift - 0.006, 0.76, 0.75]}, 8)
    write_curve(tmp_path, "authors", 4, 2, {0: start}, 8)  # only its start: no claim yet
    table = Claims()
    zero_bp = pd.DataFrame({"Zero BP": [0.80, 0.80, 0.80]})
    scale_section.judge_claims(table, zero_bp, tmp_path, population=4)
    frame = table.frame().set_index("claim")
    reach = "network reaches Zero BP's meta-test accuracy (Table 1's claim, judged on unseen data)"
    assert frame.loc[f"(ours) at population 4, with the search run so far, the TDCA {reach}",
                     "evidence"].startswith("-4.60 ± 0.20 points (6 pairs)")
    assert frame["verdict"].to_dict() == {
        f"(ours) at population 4, with the search run so far, the TDCA {reach}":
            "not supported",
        f"(ours) at population 8, with the search run so far, the TDCA {reach}": "supported",
        "(ours) the search variant clipup leads the random-start baseline on meta-test at equal "
        "evaluations": "supported",
        "(ours) the search variant sigma-adapt leads the random-start baseline on meta-test at "
        "equal evaluations": "within noise"}
    assert frame["evidence"].iloc[0].endswith(
        "2 seeds x 3 subsets at 8 evaluations against Zero BP's 80.00%, subset by subset; "
        "0 of 2 runs at their budget")


def test_the_aimed_searches_figure_keeps_a_searchs_colour_in_both_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tdca_lib.machinery import plots

    rows = [{"variant": v, "seed": s, "evaluations": e, "meta_test": 0.88 + 0.001 * e / 96,
             "meta_test_50": None if v == "dfa-start-small-steps" else 0.87}
            for v in ("dfa-start-small-steps", "held-out") for s in (0, 1) for e in (0, 96, 192)]
    fig, axes = plt.subplots(1, 2)
    plots.aimed_searches(axes, pd.DataFrame(rows), dfa=0.885)
    left = {line.get_label(): line.get_color() for line in axes[0].get_lines()}
    right = {line.get_label(): line.get_color() for line in axes[1].get_lines()}
    assert left["held-out (2 seeds)"] == right["held-out (2 seeds)"]
    assert "dfa-start-small-steps (2 seeds)" not in right  # no 50-step points recorded
    assert "DFA, zero init (88.5%)" in left and "the DFA-fitted start (88.0%)" in left
    plt.close(fig)
