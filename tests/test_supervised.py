import dataclasses

import pytest
import torch

from tdca_lib.experiments import supervised
from tdca_lib.machinery import plots
from tdca_lib.machinery.claims import Claims
from tdca_lib.machinery.data import Dataset
from tdca_lib.method import bottom_up
from tdca_lib.sections import supervised as supervised_section


def tiny_dataset(n=40, features=12):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = torch.randn(n, features, generator=gen) + torch.nn.functional.one_hot(y, features) * 3
    return Dataset("mnist", x, y, x[:20], y[:20], "synthetic")


SETTINGS = supervised.PROFILES.get("quick", steps=3, hidden=8, tdca_hidden=(6,))


def test_tdca_network_of_the_paper_is_20_30_30_110():
    settings = supervised.PROFILES.get("quick")
    net = supervised.bottom_up_network(settings, 784)
    tdca = supervised.tdca_network(settings, net)
    assert tdca.sizes == (20, 30, 30, 110) and tdca.num_params == 4970


def test_inits_zero_is_within_1e_16_and_kaiming_has_fan_in_scale():
    net = bottom_up.network("mlp", 784, 100)
    zero = bottom_up.initial(net, 2, "zero", seed=0)
    assert zero.abs().max() <= 1e-16 and zero.abs().max() > 0
    kaiming = bottom_up.initial(net, 2, "kaiming", seed=0)
    w1 = net.unflatten(kaiming)[0][0]
    assert abs(w1.std().item() - (2 / 784) ** 0.5) < 0.002
    assert not torch.equal(kaiming[0], kaiming[1])  # one seed a member
    with pytest.raises(ValueError, match="kaiming, zero"):
        bottom_up.initial(net, 1, "xavier", seed=0)


def test_fitness_is_deterministic_and_minus_a_cross_entropy():
    dataset = tiny_dataset()
    fitness = supervised.fitness_function(SETTINGS, [dataset])
    net = supervised.bottom_up_network(SETTINGS, dataset.features)
    tdca = supervised.tdca_network(SETTINGS, net)
    beta = torch.randn(4, tdca.num_params, generator=torch.Generator().manual_seed(0))
    (first, extras), (second, _) = fitness(beta, 0), fitness(beta, 7)
    assert first.shape == (4,) and torch.equal(first, second) and (first < 0).all()
    assert extras["train_accuracy"].shape == (4,)


def test_members_trained_together_or_a_few_at_a_time_get_the_same_fitness():
    dataset = tiny_dataset()
    net = supervised.bottom_up_network(SETTINGS, dataset.features)
    beta = torch.randn(7, supervised.tdca_network(SETTINGS, net).num_params,
                       generator=torch.Generator().manual_seed(1))
    together = supervised.fitness_function(SETTINGS, [dataset], members_at_once=7)(beta, 0)
    by_threes = supervised.fitness_function(SETTINGS, [dataset], members_at_once=3)(beta, 0)
    assert torch.equal(together[0], by_threes[0])
    assert torch.equal(together[1]["train_accuracy"], by_threes[1]["train_accuracy"])


def test_fitness_over_several_data_sets_is_their_mean():
    a, b = tiny_dataset(), tiny_dataset(features=20)
    net = supervised.bottom_up_network(SETTINGS, 12)
    beta = torch.randn(2, supervised.tdca_network(SETTINGS, net).num_params)
    both = supervised.fitness_function(SETTINGS, [a, b])(beta, 0)[0]
    each = [supervised.fitness_function(SETTINGS, [d])(beta, 0)[0] for d in (a, b)]
    assert torch.allclose(both, (each[0] + each[1]) / 2)


def test_run_bottom_up_reports_per_seed_metrics_and_curves():
    dataset = tiny_dataset()
    result = supervised.run_bottom_up(SETTINGS, dataset, "kaiming_bp", seeds=3, curve=True)
    assert result["train_acc"].shape == (3,) and result["train_curve"].shape == (4, 3)
    net = supervised.bottom_up_network(SETTINGS, dataset.features)
    tdca = supervised.tdca_network(SETTINGS, net)
    beta = torch.zeros(1, tdca.num_params)  # zero credits: the network stays where it started
    result = supervised.run_bottom_up(SETTINGS, dataset, "tdca", seeds=2, beta=beta)
    assert torch.allclose(result["train_ce"], torch.log(torch.tensor(10.0)), atol=1e-4)
    with pytest.raises(ValueError, match="unknown method"):
        supervised.run_bottom_up(SETTINGS, dataset, "sgd", seeds=1)


def test_a_sparse_curve_is_the_full_curve_at_its_steps_and_ends_at_the_last():
    settings = supervised.PROFILES.get("quick", steps=7, hidden=8)
    full, sparse = (supervised.run_bottom_up(settings, tiny_dataset(), "kaiming_bp", seeds=2,
                                             curve=True, curve_every=every) for every in (1, 3))
    assert sparse["curve_steps"].tolist() == [0, 3, 6, 7]
    for split in ("train", "test"):
        assert torch.equal(sparse[f"{split}_curve"], full[f"{split}_curve"][[0, 3, 6, 7]])
    assert torch.equal(sparse["theta"], full["theta"])  # recording never changes training
    assert torch.equal(supervised_section.curve_at(sparse, 6), full["train_curve"][6])
    with pytest.raises(ValueError, match="not on the curve"):
        supervised_section.curve_at(sparse, 5)


def test_table1s_last_setting_and_fig_s2_share_their_trainings(monkeypatch):
    settings = supervised.PROFILES.get("quick", steps=2, train_size=30, hidden=8, seeds=2,
                                       table1_settings=((2, 30), (4, 40)))
    runs = supervised_section.Runs(settings, {"mnist": tiny_dataset(200)}, {})
    trained = []
    run_bottom_up = supervised.run_bottom_up
    monkeypatch.setattr(supervised_section, "run_bottom_up",
                        lambda *a, **k: trained.append(k) or run_bottom_up(*a, **k))
    table = runs.run("mnist", "zero_bp", 4, 40)  # as Table 1 asks: no curve
    assert runs.run("mnist", "zero_bp", 4, 40, curve=True) is table  # as Fig S2 asks
    assert "train_curve" in table and len(trained) == 1
    runs.run("mnist", "zero_bp", 4, 40, subset=0)  # meta-test subsets need no curve
    runs.run("mnist", "zero_bp")  # nor does the evolved setting
    assert [k["curve"] for k in trained] == [True, False, False]


def test_fig_s2_draws_fa_and_dfa_only_when_asked():
    for rules in (False, True):
        settings = supervised.PROFILES.get("quick", steps=2, train_size=30, hidden=8, seeds=2,
                                           table1_settings=((2, 30),), fig_s2_rules=rules)
        net = supervised.bottom_up_network(settings, 12)
        beta = torch.zeros(1, supervised.tdca_network(settings, net).num_params)
        runs = supervised_section.Runs(settings, {"mnist": tiny_dataset(120), "fashion_mnist": "no",
                                          "cifar10": "no"}, {"mnist": beta})
        shown, curves = supervised_section.fig_s2_curves(runs, 2, 30)
        labels = {label for _, label in curves}
        extra = set(supervised_section.fig_s2_rules(settings)) if rules else set()
        assert shown == ["mnist"] and labels == set(supervised_section.FIG_S2) | extra
        assert any("FA" in label for label in extra) == rules
        plots.fig_s2(shown, curves)  # draws what it has


def test_bp_learns_the_tiny_task():
    result = supervised.run_bottom_up(supervised.PROFILES.get("quick", steps=60, hidden=8),
                                      tiny_dataset(), "kaiming_bp", seeds=2)
    assert (result["train_acc"] > 0.9).all()


def test_tables_show_ours_beside_the_paper_and_say_what_could_not_run():
    settings = supervised.PROFILES.get("quick", steps=2, train_size=30, hidden=8, seeds=2,
                                       table1_settings=((2, 30), (3, 40)))
    net = supervised.bottom_up_network(settings, 12)
    beta = torch.zeros(1, supervised.tdca_network(settings, net).num_params)
    datasets = {"mnist": tiny_dataset(120), "fashion_mnist": tiny_dataset(120),
                "cifar10": "needs CIFAR-10: get it"}
    tdca = {"mnist": beta, "fashion_mnist": "no such file", "cifar10": "no", "all": "no"}
    runs = supervised_section.Runs(settings, datasets, tdca)

    table1 = runs.table1()
    yardsticks = len(supervised_section.yardsticks(settings))
    assert len(table1) == 2 * 7 + 2 * yardsticks  # the paper's seven rows a setting, ours
    first = table1.iloc[0]
    assert first["Train: paper"] == "96.00 ± 0.88%" and "±" in first["Train: ours, meta-train"]
    assert first["Our run"] == "2 steps, 30 train / 20 test, 2 seeds"
    assert "±" in first["Test: ours, meta-test"]  # 3 subsets x 2 seeds
    later = table1[table1["Setting (paper)"] == "50 steps, 10000 train"]
    assert (later["Test: ours, meta-test"] == "evolved setting only").all()
    fa_zero = next(m for m in supervised_section.yardsticks(settings)
                   if m.startswith("FA") and "zero init" in m)
    fa = table1[table1["Method"] == fa_zero].iloc[0]
    assert fa["Train: paper"] == "not in the paper" and "%" in fa["Test: ours, meta-test"]
    tr_tdca = table1[(table1["Method"] == "TrTDCA-net")].iloc[1]
    assert tr_tdca["Our run"].endswith("TDCA network evolved at 2 steps, 30 train")

    s1 = runs.table_s1()
    cifar = s1[s1["Dataset"] == "CIFAR-10"]
    assert (cifar["Test: ours, meta-train"] == "needs CIFAR-10: get it").all()
    assert (cifar["Test: ours, meta-test"] == "needs CIFAR-10: get it").all()
    fm_tdca = s1[(s1["Dataset"] == "Fashion-MNIST") & (s1["Method"] == "TDCA-net")].iloc[0]
    assert "no such file" in fm_tdca["Test: ours, meta-train"]
    assert len(s1) == 3 * (3 + yardsticks)

    s2 = runs.table_s2()
    assert len(s2) == 4 and "%" in s2.iloc[0]["Mean: meta-test"]
    assert s2.iloc[0]["Mean: paper"] == "75.50% / 72.33%"
    assert "±" in s2.iloc[0]["MNIST: meta-test"]


def test_meta_test_runs_train_on_every_subset_and_never_the_evolutions():
    settings = supervised.PROFILES.get("quick", steps=2, train_size=30, hidden=8, seeds=2)
    runs = supervised_section.Runs(settings, {"mnist": tiny_dataset(120)}, {})
    meta = runs.meta_test("mnist", "zero_bp")
    assert meta["test_acc"].shape == (3 * 2,) and int(meta["subsets"]) == 3
    train = runs.run("mnist", "zero_bp")
    for k in range(3):  # each subset's own run, none of them the evolution's samples
        sub = runs.run("mnist", "zero_bp", subset=k)
        assert torch.equal(meta["test_acc"][2 * k: 2 * k + 2], sub["test_acc"])
        assert not torch.equal(sub["theta"], train["theta"])


def test_the_untrained_tdca_network_is_evolutions_start():
    runs = supervised_section.Runs(SETTINGS, {"mnist": tiny_dataset()}, {})
    beta = runs.beta(supervised.UNTRAINED, tiny_dataset())
    tdca = supervised.tdca_network(SETTINGS, supervised.bottom_up_network(SETTINGS, 12))
    random = tdca.init(torch.Generator().manual_seed(SETTINGS.seed))
    assert torch.equal(beta[0], supervised.search_start(SETTINGS, [tiny_dataset()]))
    assert torch.equal(beta[0], random) == (SETTINGS.warm_start is None)
    result = runs.run("mnist", "tdca", tdca=supervised.UNTRAINED)
    assert result["test_acc"].shape == (SETTINGS.seeds,)
    # with a warm start, the start is the fit to DFA on the evolution's samples
    warm = dataclasses.replace(SETTINGS, warm_start="dfa", train_size=30)
    runs = supervised_section.Runs(warm, {"mnist": tiny_dataset()}, {})
    fitted = supervised.fit_to_dfa(warm, [tiny_dataset().subset(30)], random, seed=warm.seed)
    assert torch.equal(runs.beta(supervised.UNTRAINED, tiny_dataset())[0], fitted)


def test_warm_start_fits_the_tdca_network_to_dfas_credits():
    from tdca_lib.machinery import data
    from tdca_lib.method.rules import feedback_credits, random_feedback

    settings = supervised.SupervisedSettings(steps=3, train_size=200)
    train = data.load("mnist", 200, 100)
    net = supervised.bottom_up_network(settings, train.features)
    tdca = supervised.tdca_network(settings, net)
    start = tdca.init(torch.Generator().manual_seed(0))
    fitted = supervised.fit_to_dfa(settings, [train], start, seed=0, steps=400, lr=1e-2)
    # credits on states the fit never drew: a Kaiming network's
    theta = bottom_up.initial(net, 1, "kaiming", 5)
    activations = net.activations(theta, train.x_train)
    one_hot = torch.nn.functional.one_hot(train.y_train, 10).float()[None]
    states = torch.cat([torch.softmax(activations[-1], -1), one_hot], -1)
    target = feedback_credits(net, activations, train.y_train, "dfa",
                              random_feedback(net, "dfa", seed=0))
    error = {name: ((tdca(p[None], states) - target) ** 2).mean().item()
             for name, p in (("start", start), ("fitted", fitted))}
    assert error["fitted"] < 0.2 * error["start"]


def test_a_warm_start_over_several_data_sets_fits_all_of_them():
    wide = Dataset("cifar10", *(torch.cat([t, t], 1) if t.dim() == 2 else t
                                for t in (tiny_dataset().x_train, tiny_dataset().y_train,
                                          tiny_dataset().x_test, tiny_dataset().y_test)),
                   "synthetic, 24 features")
    settings = dataclasses.replace(SETTINGS, warm_start="dfa", train_size=40)
    start = supervised.search_start(dataclasses.replace(settings, warm_start=None),
                                    [tiny_dataset()])
    both = supervised.search_start(settings, [tiny_dataset(), wide])
    one = supervised.search_start(settings, [tiny_dataset()])
    assert both.shape == start.shape and not torch.equal(both, one)
    assert not torch.equal(one, start)


@pytest.mark.parametrize("bad, match", [
    (dict(warm_start="bp"), "unknown warm_start"),
    (dict(warm_start="dfa", sites=10), "credit a neuron"),
    (dict(warm_start="dfa", architecture="deep_cnn"), "credit a neuron")])
def test_a_warm_start_is_refused_where_dfas_credits_are_not_the_tdca_networks(bad, match):
    with pytest.raises(ValueError, match=match):
        supervised.SupervisedSettings(**bad)


def test_shipped_mnist_network_trains_a_zero_initialised_network_far_above_chance():
    from tdca_lib.machinery import data

    settings = supervised.settings_for("smoke", seeds=2)
    try:
        mnist = data.load("mnist", settings.train_size)
    except data.DatasetUnavailable as err:
        pytest.skip(str(err))
    beta, log, manifest = supervised.shipped_tdca(settings, "mnist")
    result = supervised.run_bottom_up(settings, mnist, "tdca", settings.seeds, beta=beta)
    assert (result["train_acc"] > 0.5).all() and (result["test_acc"] > 0.5).all()  # chance: 0.1
    assert manifest["evaluation"]["mnist"]["seeds"] == "1000..1004"


def test_evolution_cli_parses_overrides_and_refuses_unknown_settings(monkeypatch):
    seen = {}

    class Parsed(Exception):
        pass

    def stop(settings):  # the settings the command would evolve with; stop before any work
        seen["s"] = settings
        raise Parsed

    monkeypatch.setattr(supervised, "load_datasets", stop)
    with pytest.raises(Parsed):
        supervised.main(["--set", "generations=5", "test_size=None", "tdca_hidden=(8, 8)"])
    assert seen["s"].generations == 5 and seen["s"].test_size is None
    assert seen["s"].tdca_hidden == (8, 8) and seen["s"].load_evolved_from is None
    with pytest.raises(Parsed):  # one command for Table S3's diffused credits
        supervised.main(["--credits", "6x6-to-30x30", "--dataset", "fashion_mnist"])
    assert (seen["s"].hidden, seen["s"].sites, seen["s"].layout) == (900, 36, "grid")
    with pytest.raises(Parsed):  # and Table 2's deep networks
        supervised.main(["--architecture", "deep_cnn"])
    assert seen["s"].architecture == "deep_cnn" and seen["s"].sites is None
    with pytest.raises(SystemExit):
        supervised.main(["--set", "popsize=3"])


def test_a_claim_is_judged_by_the_one_rule_on_every_part_and_says_what_is_missing():
    claims = Claims()
    ahead = torch.tensor([0.80, 0.82, 0.84]), torch.tensor([0.70, 0.72, 0.74])
    supervised_section.judge_parts(claims, "a beats b", {"train": (*ahead, True),
                                                         "test": (*ahead, True)},
                                   meta_train={"test": (ahead[1], ahead[0], True)}, note="x")
    row = claims.rows[-1]
    assert row["verdict"] == "supported"  # paired: the same 10 points on every subset
    assert row["evidence"] == ("train: +10.00 ± 0.00 points (3 pairs); test: +10.00 ± 0.00 "
                               "points (3 pairs); on meta-train test: -10.00 ± 0.00 points "
                               "(3 pairs); x")
    close = torch.tensor([0.70, 0.80, 0.90]), torch.tensor([0.72, 0.79, 0.91])
    supervised_section.judge_parts(claims, "a beats b", {"": (*close, False)})
    assert claims.rows[-1]["verdict"] == "within noise"
    supervised_section.judge_parts(claims, "a beats b", {"": (*ahead, True)}, threshold=0.2)
    assert claims.rows[-1]["verdict"] == "not supported"  # 10 points short of 20
    supervised_section.judge_parts(claims, "a beats b", {"": (ahead[0], "no network", True)})
    assert claims.rows[-1]["evidence"] == "not run: no network"
    supervised_section.judge_parts(claims, "a beats b", {}, nothing="no data set here")
    assert claims.rows[-1] == {"claim": "a beats b", "verdict": "not tested at this scale",
                               "evidence": "no data set here"}


def tiny_runs(**overrides):
    settings = supervised.PROFILES.get("quick", **dict(
        steps=2, train_size=30, hidden=8, seeds=2, table1_settings=((2, 30), (3, 40))) | overrides)
    net = supervised.bottom_up_network(settings, 12)
    beta = torch.randn(1, supervised.tdca_network(settings, net).num_params,
                       generator=torch.Generator().manual_seed(3))
    datasets = {"mnist": tiny_dataset(120), "fashion_mnist": tiny_dataset(120),
                "cifar10": "needs CIFAR-10: get it"}
    return supervised_section.Runs(settings, datasets, {"mnist": beta, "fashion_mnist": beta,
                                                        "cifar10": "no", "all": "no"})


def test_every_claim_of_the_section_gets_one_of_the_rules_words():
    runs, claims = tiny_runs(), Claims()
    measured, verdicts = supervised_section.judge_table1(claims, runs)
    assert measured.startswith("MNIST, 2 steps, 30 train: Kaiming BP meta-train: train ")
    assert "| claim" in verdicts and "| claim" not in measured  # the measurements alone checked
    supervised_section.judge_table_s1(claims, runs)
    supervised_section.judge_table_s2(claims, runs)
    frame = claims.frame()
    assert len(frame) == 5 + 1 + 2 and set(frame["verdict"][:7]) <= {
        "supported", "not supported", "within noise"}
    assert frame["evidence"][0].startswith("train: ") and "(3 pairs)" in frame["evidence"][0]
    assert "(6 values)" in frame["evidence"][1]  # Kaiming BP: other inits, unpaired
    assert frame["claim"][4].startswith("TDCA-net beats Zero BP on MNIST at the larger")
    assert frame["evidence"][4].startswith("3 steps/40: ")
    assert frame["evidence"][7] == "no network evolved on all data sets here"
    assert frame["verdict"][7] == "not tested at this scale"
    smoke = Claims()
    supervised_section.judge_table1(smoke, tiny_runs(table1_settings=((2, 30),)))
    assert smoke.rows[-1]["evidence"] == "this profile runs Table 1 at the evolved setting only"


def test_evolution_is_held_against_its_searchs_start_on_meta_test():
    runs, claims = tiny_runs(), Claims()
    runs.tdca["fashion_mnist"] = runs.tdca[runs.start_of("fashion_mnist")]  # never evolved
    table = supervised_section.evolution_against_start(claims, runs)
    assert table["TDCA network"].tolist() == ["MNIST"] * 2 + ["Fashion-MNIST"] * 2
    assert table["Inner steps"].tolist() == [2, supervised_section.LONGER_STEPS] * 2
    assert list(table.columns[3:6]) == ["Evolved", "Start (random network)", "DFA, zero init"]
    unchanged = table.iloc[2]
    assert unchanged["Evolved minus start"] == "+0.00 ± 0.00 points (3 pairs)"
    assert unchanged["Verdict"] == "within noise" and "3 subsets x 2 zero inits" in \
        unchanged["Setting"]
    assert [row["claim"].split(": ")[1] for row in claims.rows] == [
        f"the {name} TDCA network beats its search's start (random network), {steps} inner "
        "steps" for name in ("MNIST", "Fashion-MNIST") for steps in (2, 50)]
    assert claims.rows[2]["verdict"] == "within noise"


def test_fig_s2s_claims_read_the_curves_over_the_inits():
    def run(early, end, spread=0.0):
        seeds = torch.tensor([-spread, spread])
        return {"curve_steps": torch.tensor([0, 10, 20]),
                "train_curve": torch.stack([seeds, early + seeds, end + seeds])}

    curves = {("mnist", "BP (Kaiming)"): run(0.8, 0.9, 0.01),
              ("mnist", "TDCA (top-down)"): run(0.6, 0.95),
              ("mnist", "TDCA + diffusion"): "no diffused network"}
    claims = Claims()
    text = supervised_section.judge_fig_s2(claims, curves, ["mnist"], 20, "600 generations")
    assert text == "MNIST: step 10: BP 80.0%, TDCA 60.0%; step 20: BP 90.0%, TDCA 95.0%"
    assert [row["verdict"] for row in claims.rows] == ["supported", "not tested at this scale"]
    assert claims.rows[0]["evidence"].startswith("MNIST step 10 BP - TDCA: +20.00 ± 1.00 points")
    assert claims.rows[1]["evidence"] == "no TDCA network with credit diffusion here"


def test_the_3_layer_network_searches_from_the_dfa_fit_the_others_from_a_random_start():
    dense = supervised.settings_for("quick")
    assert (dense.warm_start, dense.sigma, dense.center_lr) == ("dfa", 0.01, 0.003)
    assert supervised.settings_for("paper").warm_start == "dfa"
    cold = supervised.SupervisedSettings()
    for other in (supervised.settings_for("quick", credits="10-to-100"),
                  supervised.settings_for("quick", "deep_fc")):
        assert (other.warm_start, other.sigma, other.center_lr) == (None, cold.sigma,
                                                                    cold.center_lr)
        assert "fitted" not in supervised_section.search_budget(other)
    assert "from a TDCA network fitted to DFA's credits" in supervised_section.search_budget(dense)
    assert supervised_section.search_of(dense) == "600 generations from the DFA-fitted start"
