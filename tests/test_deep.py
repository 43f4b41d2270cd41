import pytest
import torch

from tdca_lib.experiments import supervised
from tdca_lib.machinery.checkpoints import CheckpointMissing
from tdca_lib.machinery.data import Dataset
from tdca_lib.sections import supervised as supervised_section


def images(n=30, features=784):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    return Dataset("mnist", torch.randn(n, features, generator=gen), y,
                   torch.randn(10, features, generator=gen), y[:10], "synthetic")


@pytest.mark.parametrize("architecture, credits", [("deep_fc", 410), ("deep_cnn", 218)])
def test_tdca_network_emits_one_credit_per_neuron_or_channel(architecture, credits):
    settings = supervised.settings_for("quick", architecture)
    net = supervised.bottom_up_network(settings, 784)
    assert supervised.tdca_network(settings, net).sizes == (20, 30, 30, credits)
    name = f"{architecture.replace('_', '-')}-mnist-20steps-1000"
    assert supervised.network_name(settings) == name
    assert supervised.regenerate_command(settings).endswith(f"--architecture {architecture}")


@pytest.mark.parametrize("architecture", supervised_section.TABLE2_ARCHITECTURES)
def test_every_method_trains_a_deep_network(architecture):
    settings = supervised.settings_for("quick", architecture, steps=2, seeds=2)
    dataset = images()
    net = supervised.bottom_up_network(settings, dataset.features)
    beta = torch.randn(1, supervised.tdca_network(settings, net).num_params) * 0.1
    for method in ("kaiming_bp", "zero_bp", "tdca"):
        result = supervised.run_bottom_up(settings, dataset, method, 2, beta=beta)
        assert result["theta"].shape == (2, net.num_params)
        assert result["train_acc"].shape == (2,)
    fitness = supervised.fitness_function(settings, [dataset])
    assert fitness(beta.expand(3, -1), 0)[0].shape == (3,)


def test_bad_architectures_and_inputs_are_refused():
    with pytest.raises(ValueError, match="mlp, deep_fc, deep_cnn"):
        supervised.settings_for("quick", "resnet")
    with pytest.raises(ValueError, match="images"):
        supervised.bottom_up_network(supervised.settings_for("quick", "deep_cnn"), 100)
    with pytest.raises(ValueError, match="3-layer network only"):
        supervised.settings_for("quick", "deep_fc", credits="10-to-100")


def test_table2_says_what_could_not_run_beside_the_paper(monkeypatch):
    def missing(settings, dataset, device):
        raise CheckpointMissing(f"evolved TDCA network not found; regenerate it with: {dataset}")

    monkeypatch.setattr(supervised_section, "shipped_tdca", missing)
    datasets = {"mnist": images(), "fashion_mnist": "needs Fashion-MNIST: ...",
                "cifar10": "needs CIFAR-10: ..."}
    table, results = supervised_section.table2("smoke", datasets)
    assert len(table) == 2 * 3 * 3 and results == {}  # no method complete anywhere
    mnist = table[(table.Dataset == "MNIST") & (table.Method == "Zero BP")]
    assert mnist["Train: paper"].tolist() == ["98.97 ± 0.15%", "95.79 ± 0.45%"]
    assert all("%" in cell for cell in mnist["Train: ours, meta-train"])  # BP ran
    assert all("too few" in cell for cell in mnist["Test: ours, meta-test"])  # 40 samples
    tdca = table[(table.Dataset == "MNIST") & (table.Method == "TDCA-net")]
    assert all("regenerate it with" in cell for cell in tdca["Train: ours, meta-train"])
