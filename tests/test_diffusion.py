import pytest
import torch

from tdca_lib import diffusion, supervised
from tdca_lib.checkpoints import CheckpointError
from tdca_lib.data import Dataset


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


def test_a_gap_is_judged_on_meta_test_and_a_differing_meta_train_is_named():
    from tdca_lib.diffusion import judge_gap

    accuracy = {"meta-test": {"mnist/a": 0.80, "mnist/b": 0.82},
                "meta-train": {"mnist/a": 0.90, "mnist/b": 0.85}}
    verdict, evidence = judge_gap(accuracy, "a", "b", lambda g: g > 0, "a minus b")
    assert verdict is False
    assert "meta-test: MNIST -2.00%" in evidence
    assert "on meta-train the verdict differs (MNIST +5.00%)" in evidence
    same = {"meta-test": accuracy["meta-test"], "meta-train": accuracy["meta-test"]}
    assert "differs" not in judge_gap(same, "a", "b", lambda g: g > 0, "a minus b")[1]
    assert judge_gap(same, "a", "c", lambda g: g > 0, "x")[0] is None  # no pair
