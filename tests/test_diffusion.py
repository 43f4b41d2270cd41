import pytest
import torch

from tdca_lib.experiments import diffusion, supervised
from tdca_lib.machinery.checkpoints import CheckpointError
from tdca_lib.machinery.data import Dataset
from tdca_lib.sections import diffusion as diffusion_section
from tdca_lib.sections import supervised as supervised_section


def tiny_dataset(n=40, features=12):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = torch.randn(n, features, generator=gen) + torch.nn.functional.one_hot(y, features) * 3
    return Dataset("mnist", x, y, x[:20], y[:20], "synthetic")


@pytest.mark.parametrize("config, params", [("10-to-100", 2180), ("36-to-900", 2986),
                                            ("6x6-to-30x30", 2986), ("100-to-1000", 4970)])
def test_tdca_network_follows_the_credit_sites(config, params):
    settings = supervised.settings_for("quick", credits=config)
    net = supervised.bottom_up_network(settings, 784)
    tdca = supervised.tdca_network(settings, net)
    assert tdca.sizes[-1] == 10 + settings.sites
    assert tdca.num_params == params  # the paper's Table S4 counts where it gives them
    assert supervised.credits_name(settings) == config
    assert supervised.credit_kernel(settings).shape == (settings.sites, settings.hidden)


def test_every_configuration_evolves_as_long_as_its_profile_says():
    for config in diffusion.CONFIGS:
        assert supervised.settings_for("quick", credits=config).generations == 600
        assert supervised.settings_for("paper", credits=config).generations == 5000
    assert supervised.settings_for("quick", credits="36-to-900", generations=7).generations == 7


def test_bad_configurations_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="10-to-100"):
        supervised.settings_for("quick", credits="20-to-100")
    with pytest.raises(ValueError, match="divide"):
        supervised.PROFILES.get("quick", sites=7)
    with pytest.raises(ValueError, match="square"):
        supervised.PROFILES.get("quick", hidden=100, sites=10, layout="grid")


def test_sites_on_every_neuron_with_a_tiny_sigma_train_like_the_dense_rule():
    dataset = tiny_dataset()
    dense = supervised.PROFILES.get("quick", steps=3, hidden=8, tdca_hidden=(6,))
    diffused = supervised.PROFILES.get("quick", steps=3, hidden=8, tdca_hidden=(6,),
                                       sites=8, diffusion_sigma=1e-3)
    net = supervised.bottom_up_network(dense, dataset.features)
    beta = torch.randn(1, supervised.tdca_network(dense, net).num_params)
    ours = supervised.run_bottom_up(diffused, dataset, "tdca", seeds=2, beta=beta)
    theirs = supervised.run_bottom_up(dense, dataset, "tdca", seeds=2, beta=beta)
    assert torch.equal(ours["theta"], theirs["theta"])


def test_sparse_credits_steer_the_whole_hidden_layer():
    dataset = tiny_dataset()
    settings = supervised.PROFILES.get("quick", steps=2, hidden=10, sites=2, tdca_hidden=(6,))
    net = supervised.bottom_up_network(settings, dataset.features)
    beta = torch.randn(1, supervised.tdca_network(settings, net).num_params,
                       generator=torch.Generator().manual_seed(1))
    theta = supervised.run_bottom_up(settings, dataset, "tdca", seeds=1, beta=beta)["theta"]
    w1 = net.unflatten(theta)[0][0][0]  # [features, hidden]
    assert (w1.abs().sum(0) > 0).all()  # 2 credits moved every one of the 10 neurons


def test_a_missing_network_names_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(tmp_path))  # empty, whatever is shipped
    settings = supervised.settings_for("quick", credits="6x6-to-30x30")
    assert supervised.network_name(settings) == "diffusion-6x6-to-30x30-mnist-20steps-1000"
    with pytest.raises(CheckpointError, match="--dataset fashion_mnist --credits 6x6-to-30x30"):
        supervised.shipped_tdca(settings, "fashion_mnist")


# --- The section's functions behind notebook 03 --------------------------------------------


def fake_log(generations, accuracy=lambda g: g / 1000):
    return [{"generation": g, "center_train_accuracy": accuracy(g)}
            for g in range(1, generations + 1)]


class CannedRuns(supervised_section.Runs):
    """Runs whose trainings are canned: ``train / test`` accuracy a network key, the same on
    every seed; meta-test 0.01 lower."""

    def __init__(self, datasets, tdca, accuracy):
        super().__init__(supervised.PROFILES.get("quick", seeds=2), datasets, tdca)
        self.accuracy = accuracy

    def run(self, dataset, method, steps=None, train_size=None, tdca=None, **_):
        train, test = self.accuracy[tdca]
        return {"train_acc": torch.full((2,), train), "test_acc": torch.full((2,), test),
                "steps": torch.tensor(20), "train_size": torch.tensor(1000)}

    def meta_test(self, dataset, method, steps=None, train_size=None, tdca=None):
        result = self.run(dataset, method, tdca=tdca)
        return result | {"test_acc": result["test_acc"] - 0.01}


def test_table_s3_gives_each_row_its_numbers_or_why_it_could_not_run():
    keys = [f"mnist/{c}" for c in (diffusion.DENSE, *diffusion.CONFIGS)]
    tdca = {k: torch.zeros(1, 3) for k in keys} | {"mnist/36-to-900": "not found; evolve it"}
    datasets = {"mnist": tiny_dataset(), "fashion_mnist": "needs Fashion-MNIST: get it",
                "cifar10": "needs CIFAR-10: get it"}
    runs = CannedRuns(datasets, tdca, {k: (0.9, 0.8) for k in keys})
    table, results, measured = diffusion_section.table_s3(runs, {k: fake_log(600) for k in keys})

    assert list(table.columns) == ["Dataset", "Configuration", "Ours, meta-train (train / test)",
                                   "Ours, meta-test (test)", "Paper (train / test)", "Our run"]
    assert len(table) == 15 and table["Configuration"].iloc[4] == "6*6-to-30*30"
    first = table.iloc[0]
    assert first["Ours, meta-train (train / test)"] == "90.00 ± 0.00% / 80.00 ± 0.00%"
    assert first["Ours, meta-test (test)"] == "79.00 ± 0.00%"
    assert first["Paper (train / test)"] == "99.08% / 96.82%"
    assert first["Our run"] == "600 generations, 20 steps, 1000 train / 20 test, 2 seeds"
    missing = table.set_index("Configuration").loc["36-to-900"].iloc[0]
    assert missing["Ours, meta-train (train / test)"].endswith("not found; evolve it")
    assert missing["Ours, meta-test (test)"] == missing["Ours, meta-train (train / test)"]
    assert missing["Our run"] == ""
    assert (table.iloc[5:]["Ours, meta-test (test)"].str.startswith("needs ")).all()
    assert set(results["meta-train"]) == set(keys) - {"mnist/36-to-900"}
    assert results["meta-test"]["mnist/10-to-100"]["test_acc"].mean() == pytest.approx(0.79)
    assert measured.splitlines()[0] == ("mnist/100-to-100              600 generations: "
                                        "meta-train train 90.00%, test 80.00%; meta-test test "
                                        "79.00 ± 0.00%")
    assert len(measured.splitlines()) == 4  # the networks that ran


def test_load_networks_says_why_each_missing_network_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(tmp_path))  # empty: nothing shipped
    datasets = {"mnist": tiny_dataset(), "fashion_mnist": "x", "cifar10": "y"}
    runs, logs, loaded = diffusion_section.load_networks("smoke", datasets, "cpu")
    assert logs == {} and runs.datasets is datasets
    assert len(runs.tdca) == 15 and all(isinstance(v, str) for v in runs.tdca.values())
    assert set(runs.variants) == {k for k in runs.tdca if not k.endswith(f"/{diffusion.DENSE}")}
    assert runs.variants["mnist/6x6-to-30x30"].layout == "grid"
    assert runs.settings == supervised.settings_for("smoke")
    lines = loaded.splitlines()
    assert len(lines) == 15 and lines[1].startswith("mnist/10-to-100: ")
    assert "--profile quick --dataset mnist --credits 10-to-100" in lines[1]
    assert runs.missing(datasets=("mnist",), tdca=("mnist/10-to-100",)).startswith("needs the")


def test_load_networks_loads_the_shipped_ones():
    runs, logs, loaded = diffusion_section.load_networks("smoke", {}, "cpu")  # smoke loads quick's
    for key in ("mnist/100-to-100", "mnist/10-to-100"):  # shipped with the repository
        settings = runs.variants.get(key, runs.settings)
        net = supervised.bottom_up_network(settings, 784)
        assert runs.tdca[key].shape == (1, supervised.tdca_network(settings, net).num_params)
        assert len(logs[key]) == settings.generations
    assert ("mnist/10-to-100: diffusion-10-to-100-mnist-20steps-1000-quick, 600 generations "
            "on ") in loaded


def results_of(gaps):
    """Each configuration's results on MNIST (meta-test and the same meta-train): test
    accuracy 0.8 plus its gap, on three subsets that spread it by ±1 point alike."""
    spread = torch.tensor([-0.01, 0.0, 0.01])
    by_key = {f"mnist/{c}": {"test_acc": 0.8 + gaps.get(c, 0.0) + spread}
              for c in (diffusion.DENSE, *diffusion.CONFIGS)}
    return {"meta-test": by_key, "meta-train": by_key}


def test_judge_claims_gives_the_verdicts_the_one_rule_implies():
    from tdca_lib.machinery.claims import Claims

    configs = {c: supervised.settings_for("quick", credits=c) for c in diffusion.CONFIGS}
    claims = Claims()
    results = results_of({"10-to-100": -0.005, "6x6-to-30x30": 0.02, "36-to-900": 0.01,
                          "100-to-1000": 0.03})
    diffusion_section.judge_claims(claims, results, configs, supervised.settings_for("quick"))
    frame = claims.frame()
    assert frame["claim"].tolist() == [
        "10 sparse credits train about as well as 100 dense (Table S3)",
        "2-D diffusion beats 1-D at equal sparsity: 6*6-to-30*30 > 36-to-900 (Table S3)",
        "6*6-to-30*30 beats 100-to-1000 (paper text)",
        "A wider network under the same TDCA network trains better: 100-to-1000 > 100-to-100 "
        "(paper text)"]
    # the same width pairs its subsets (no spread left); other widths do not (±0.82 points)
    assert frame["verdict"].tolist() == ["supported", "supported", "within noise", "supported"]
    assert frame["evidence"][0] == (
        "MNIST: -0.50 ± 0.00 points (3 pairs); threshold -1 points; on meta-train MNIST: -0.50 "
        "± 0.00 points (3 pairs); test accuracy, 10-to-100 minus 100-to-100; 10-to-100 evolved "
        "600 generations from a random start, 100-to-100 600 generations from the DFA-fitted "
        "start")
    assert frame["evidence"][1].endswith("both evolved 600 generations from a random start")
    assert frame["evidence"][3].startswith("MNIST: +3.00 ± 0.82 points (6 values)")

    def first_verdict(gap):
        judged = Claims()
        diffusion_section.judge_claims(judged, results_of({"10-to-100": gap}), configs,
                                       supervised.PROFILES.get("quick"))
        return judged.rows[0]["verdict"]

    assert first_verdict(0.02) == "supported"  # reaching within a point: better reaches too
    assert first_verdict(-0.03) == "not supported"
    nothing = Claims()
    diffusion_section.judge_claims(nothing, {"meta-test": {}, "meta-train": {}}, configs,
                                   supervised.PROFILES.get("quick"))
    assert set(nothing.frame()["verdict"]) == {"not tested at this scale"}
    assert set(nothing.frame()["evidence"]) == {"no pair here"}


def test_evolution_speed_reads_every_log_at_the_same_generations():
    logs = {"mnist/100-to-100": fake_log(600), "mnist/10-to-100": fake_log(500, lambda g: 0.5)}
    assert diffusion_section.evolution_speed(logs, early=60).splitlines() == [
        "mnist/100-to-100             train accuracy at generation 60: 6.00%, at 500: 50.00%",
        "mnist/10-to-100              train accuracy at generation 60: 50.00%, at 500: 50.00%"]
    short = diffusion_section.evolution_speed({"a": fake_log(30)}, early=60)
    assert "generation 30: 3.00%, at 30: 3.00%" in short
    assert diffusion_section.evolution_speed({}) == ""


def test_fig4cd_credits_diffuse_the_site_credits_through_the_kernel():
    from tdca_lib.method import credit

    credits = diffusion.fig4cd_credits(seed=0)
    assert credits["line_kernel"].shape == (10, 100) and credits["neurons"].shape == (100, 1)
    assert credits["grid_field"].shape == (30, 30) and credits["grid_sites"].shape == (36, 2)
    assert credits["dense_credits"].shape == (100,)
    assert credits["sites"][:2, 0].tolist() == [4.5, 14.5]
    grid_neurons, _ = credit.positions("grid", 900, 36)
    kernel = credit.diffusion_kernel(credits["grid_sites"], grid_neurons, 5.0)
    assert torch.allclose(credits["grid_field"].flatten(), credits["grid_credits"] @ kernel)
    gen = torch.Generator().manual_seed(0)  # the notebook's draws, in its order
    assert torch.equal(credits["site_credits"], torch.randn(10, generator=gen))
    assert torch.equal(credits["grid_credits"], torch.randn(36, generator=gen))
    assert torch.equal(credits["dense_credits"], torch.randn(100, generator=gen))


def test_the_section_figures_draw_what_they_are_given():
    from tdca_lib.machinery import plots

    fig = plots.fig4cd(diffusion.fig4cd_credits())
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["c  sparse: 10 credits for 100 neurons (1-D, sigma 5)",
                      "c'  sparse, 2-D: 6 x 6 for 30 x 30",
                      "d  dense: one credit per neuron (100-to-100)"]
    logs = {"mnist/100-to-100": fake_log(5), "mnist/10-to-100": fake_log(5),
            "cifar10/10-to-100": fake_log(5)}
    fig = plots.diffusion_evolution(logs, [diffusion.DENSE, *diffusion.CONFIGS])
    assert [ax.get_title() for ax in fig.axes] == ["MNIST", "CIFAR-10"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["100-to-100", "10-to-100"]
