import pytest
import torch

from tdca_lib.experiments import supervised
from tdca_lib.machinery import plots
from tdca_lib.machinery.data import Dataset
from tdca_lib.method import bottom_up, rules
from tdca_lib.method.inner_loop import bp_direction, train
from tdca_lib.method.population import PopulationMLP
from tdca_lib.method.rules import (
    feedback_credits,
    feedback_direction,
    output_error,
    random_feedback,
)
from tdca_lib.sections import supervised as supervised_section


def setting(sizes=(6, 5, 4, 3)):
    torch.manual_seed(0)
    net = PopulationMLP(list(sizes))
    theta = torch.randn(2, net.num_params, dtype=torch.float64)
    x = torch.randn(16, sizes[0], dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (16,))
    return net, theta, x, y


def transposed_weights(net, theta):
    """FA's matrices set to backprop's: W_(k+1)^T for every hidden layer k (member 0's)."""
    return [weight[0].T for weight, _ in net.unflatten(theta)[1:]]


def test_fa_with_the_transposed_weights_is_backprop_exactly():
    net, theta, x, y = setting()
    theta = theta[:1]
    fa = feedback_direction(net, x, y, "fa", transposed_weights(net, theta))(theta)
    assert torch.allclose(fa, bp_direction(net, x, y)(theta), rtol=1e-12, atol=1e-12)


def test_dfa_credits_are_the_output_error_through_one_matrix_per_layer():
    net, theta, x, y = setting()
    feedback = random_feedback(net, "dfa", seed=3)
    activations = net.activations(theta, x)
    credits = feedback_credits(net, activations, y, "dfa", feedback)
    error = output_error(activations[-1], y)
    classes, top, bottom = credits.split([3, 4, 5], -1)  # top-down
    assert torch.equal(classes, error)
    assert torch.allclose(top, error @ feedback[1].double())
    assert torch.allclose(bottom, error @ feedback[0].double())


def test_feedback_matrices_are_fixed_by_the_seed_and_shaped_per_rule():
    net = PopulationMLP([784, 100, 10])
    fa, dfa = random_feedback(net, "fa"), random_feedback(net, "dfa")
    assert [b.shape for b in fa] == [(10, 100)] and [b.shape for b in dfa] == [(10, 100)]
    deep = PopulationMLP([8, 7, 6, 3])
    assert [b.shape for b in random_feedback(deep, "fa")] == [(6, 7), (3, 6)]
    assert [b.shape for b in random_feedback(deep, "dfa")] == [(3, 7), (3, 6)]
    assert torch.equal(random_feedback(net, "fa", 1)[0], random_feedback(net, "fa", 1)[0])
    assert not torch.equal(random_feedback(net, "fa", 1)[0], random_feedback(net, "fa", 2)[0])
    with pytest.raises(ValueError, match="fa, dfa"):
        random_feedback(net, "kp")


@pytest.mark.parametrize("rule", ["fa", "dfa"])
def test_feedback_rules_train_a_zero_initialised_network(rule):
    # Backprop's hidden credits at zero are the output error through zero weights: nothing.
    # Random feedback reaches the hidden layer at once.
    net, _, x, y = setting((6, 8, 3))
    x, theta = x.float(), torch.zeros(1, net.num_params)
    hidden = slice(0, 6 * 8)
    assert bp_direction(net, x, y)(theta)[0, hidden].abs().sum() == 0
    direction = feedback_direction(net, x, y, rule, random_feedback(net, rule))
    assert direction(theta)[0, hidden].abs().sum() > 0
    trained = train(theta, direction, 30, 0.05, 1.0)
    loss = lambda t: torch.nn.functional.cross_entropy(net(t, x)[0], y)  # noqa: E731
    assert loss(trained) < loss(theta) - 0.1


def test_with_one_hidden_layer_fa_and_dfa_are_one_rule_and_with_more_they_are_not():
    # The registry says which rules coincide with one hidden layer; check each such claim.
    same = {name: rule.one_hidden_layer_as for name, rule in rules.RULES.items()
            if rule.one_hidden_layer_as}
    assert same == {"dfa": "fa"}
    for name, other in same.items():
        for sizes, equal in (((6, 5, 3), True), ((6, 5, 4, 3), False)):
            net, theta, x, y = setting(sizes)
            ours, theirs = (rules.RULES[n].direction(net, x, y, 7)(theta) for n in (name, other))
            assert torch.equal(ours, theirs) == equal
    assert rules.rule_groups(1) == [("fa", "dfa")]
    assert rules.rule_groups(2) == [("fa",), ("dfa",)]


def tiny_dataset(n=120, features=12):
    """Ten classes, each a bump on its own feature: learnable in a few steps."""
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = torch.randn(n, features, generator=gen) + torch.nn.functional.one_hot(y, features) * 3
    return Dataset("mnist", x, y, x[:20], y[:20], "synthetic")


def still(net, x, y, seed):
    """A toy rule: no update at all."""
    return lambda theta: torch.zeros_like(theta)


def test_a_registered_rule_trains_and_reaches_table_1_table_s1_and_fig_s2(monkeypatch):
    monkeypatch.setitem(rules.RULES, "still", rules.Rule("Still", still))  # the one place
    settings = supervised.PROFILES.get("quick", steps=2, train_size=30, hidden=8, seeds=2,
                                       table1_settings=((2, 30),), fig_s2_rules=True)
    dataset = tiny_dataset()

    result = supervised.run_bottom_up(settings, dataset, "kaiming_still", seeds=2)
    net = supervised.bottom_up_network(settings, dataset.features)
    assert torch.equal(result["theta"], bottom_up.initial(net, 2, "kaiming", 1000 + settings.seed))
    moved = supervised.run_bottom_up(settings, dataset, "kaiming_fa", seeds=2)["theta"]
    assert not torch.equal(moved, result["theta"])  # the rule, not a default, was trained

    beta = torch.zeros(1, supervised.tdca_network(settings, net).num_params)
    runs = supervised_section.Runs(settings, {"mnist": dataset, "fashion_mnist": dataset,
                                              "cifar10": "no CIFAR-10 here"}, {"mnist": beta})
    one_layer = "FA = DFA, {} init (ours; the same rule with one hidden layer)"
    ours = [one_layer.format("zero"), one_layer.format("Kaiming"),
            "Still, zero init (ours)", "Still, Kaiming init (ours)",
            "TDCA-net before evolution (ours)"]
    assert list(supervised_section.yardsticks(settings)) == ours
    for table in (runs.table1(), runs.table_s1()):
        mnist = table[table["Dataset"] == "MNIST"]
        assert mnist["Method"].tolist()[-len(ours):] == ours  # below the paper's rows
        still_row = mnist[mnist["Method"] == "Still, Kaiming init (ours)"].iloc[0]
        assert still_row["Train: paper"] == "not in the paper"
        assert "±" in still_row["Test: ours, meta-test"]  # 3 subsets x 2 seeds

    shown, curves = supervised_section.fig_s2_curves(runs, 2, 30)
    rules_drawn = [label for _, label in curves if label not in supervised_section.FIG_S2]
    assert shown == ["mnist"] and rules_drawn == ["FA = DFA (zero, ours)", "Still (zero, ours)"]
    legend = plots.fig_s2(shown, curves).axes[0].get_legend_handles_labels()[1]
    assert "Still (zero, ours), train" in legend


def test_deeper_networks_show_fa_and_dfa_apart_as_before():
    settings = supervised.settings_for("quick", "deep_fc")
    assert list(supervised_section.yardsticks(settings)) == [
        "FA, zero init (ours)", "FA, Kaiming init (ours)", "DFA, zero init (ours)",
        "DFA, Kaiming init (ours)", "TDCA-net before evolution (ours)"]
    assert supervised_section.fig_s2_rules(settings) == {
        "FA (zero, ours)": ("zero_fa", None), "DFA (zero, ours)": ("zero_dfa", None)}
    assert list(supervised.methods()) == ["kaiming_bp", "zero_bp", "tdca", "zero_fa",
                                          "kaiming_fa", "zero_dfa", "kaiming_dfa"]
