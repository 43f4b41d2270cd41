from tdca_lib.experiments import complexity
from tdca_lib.experiments.complexity import Method
from tdca_lib.sections import complexity as complexity_section


def test_parameter_counts_of_the_networks_the_library_builds():
    counts = {m.name: m.parameters(784) for m in complexity.METHODS}
    assert counts["Credit neurons"] == 4970  # 20-30-30-110, as the paper says
    assert counts["Credit groups (10 credits, 100 hidden)"] == 2180  # 20-30-30-20
    assert counts["Credit groups (36 credits, 900 hidden)"] == 2986  # 20-30-30-46
    assert counts["BP (900 hidden)"] == 9000  # the output layer's weights carry the error back
    # one credit per bottom-up parameter (79510 of them): 20-30-30-79510
    assert counts["Credit parameters"] == 630 + 930 + 31 * 79510


def test_flops_match_the_operations_they_count():
    bp = Method("bp", 100, "bp").credit_flops(784)
    assert bp == {"network": 2 * 100 * 10, "diffusion": 0}  # delta_out @ W2^T, per sample
    groups = Method("g", 100, "groups", sites=10).credit_flops(784)
    assert groups == {"network": 2 * (20 * 30 + 30 * 30 + 30 * 20), "diffusion": 2 * 10 * 100}
    # the weight updates: input x credit for both layers, the same for every method
    assert Method("bp", 100, "bp").update_flops(784) == 2 * (784 * 100 + 100 * 10)


def test_truncated_kernel_keeps_only_nearby_sites():
    dense = Method("g", 900, "groups", sites=36)
    assert 0 < complexity.truncated_diffusion_flops(dense) < 2 * 36 * 900
    assert complexity.truncated_diffusion_flops(Method("bp", 100, "bp")) == 0


def fake_table_s4():
    """Table S4's columns, a few rows with round numbers (and a CIFAR-10 row the ratios and
    claims must not read)."""
    import pandas as pd

    def row(method, data, params, paper_params, ours, diffusion, paper):
        return {"Method": method, "Data": data, "Param: ours": params,
                "Param: paper": paper_params, "MFLOPs: ours": ours,
                "of which diffusion": diffusion, "MFLOPs: paper": paper,
                "weight updates, MFLOPs (every method)": 1.0}

    mnist, cifar = complexity_section.MNIST, "CIFAR-10"
    return pd.DataFrame([
        row("BP (100 hidden)", mnist, 1000, 1000, 100.0, 0.0, 200.0),
        row("BP (100 hidden)", cifar, 1000, 1000, 1.0, 0.0, 2.0),
        row("Credit parameters", mnist, 4000, 8000, 1000.0, 0.0, float("nan")),
        row("Credit groups (10 credits, 100 hidden)", mnist, 2180, 2180, 140.0, 40.0, 110.0),
        row("BP (900 hidden)", mnist, 9000, 9000, 1000.0, 0.0, 2000.0),
        row("Credit groups (36 credits, 900 hidden)", mnist, 2986, 2986, 240.0, 200.0, 40.0),
    ])


def test_mflops_and_paper_ratio_read_the_mnist_rows():
    table = fake_table_s4()
    groups = "Credit groups (10 credits, 100 hidden)"
    assert complexity_section.mflops(table, groups) == 140.0
    # the network alone
    assert complexity_section.mflops(table, groups, with_diffusion=False) == 100.0
    assert complexity_section.mflops(table, "BP (100 hidden)") == 100.0  # not CIFAR-10's 1.0
    assert complexity_section.paper_ratio(table, groups, "BP (100 hidden)") == 110.0 / 200.0


def test_ratios_to_paper_has_a_line_per_mnist_method():
    lines = complexity_section.ratios_to_paper(fake_table_s4()).split("\n")
    assert len(lines) == 5
    assert lines[0] == (f"{'BP (100 hidden)':40s} params paper/ours 1.000; "
                        "MFLOPs paper / ours-without-diffusion 2.00")
    assert lines[1].endswith("params paper/ours 2.000; MFLOPs paper / ours-without-diffusion -")
    assert lines[2].endswith("ours-without-diffusion 1.10")  # 110 / (140 - 40)


def test_complexity_claims_are_judged_from_the_table():
    from tdca_lib.machinery.claims import NOT_SUPPORTED, SUPPORTED, Claims

    claims = Claims()
    complexity_section.judge_claims(claims, fake_table_s4())
    frame = claims.frame()
    assert list(frame["claim"]) == [
        "Credit groups cost about what BP costs (10 credits vs BP, 100 hidden)",
        "36 credits for 900 neurons cost about 1/6 of BP"]
    assert list(frame["verdict"]) == [SUPPORTED, SUPPORTED]  # 1.4x <= 1.5x; 0.24x <= 0.25x
    assert frame["evidence"][0] == ("ours: 1.40x BP with diffusion, 1.00x without (about = "
                                    "within 1.5x); paper: 0.55x")
    assert frame["evidence"][1] == ("ours: 0.24x BP with dense diffusion, 0.04x for the TDCA "
                                    "network alone; paper: 0.02x (about = within 1.5x of 1/6)")
    table = fake_table_s4()
    table.loc[3, "MFLOPs: ours"] = 160.0  # 1.6x BP: no longer "about" BP's cost
    claims = Claims()
    complexity_section.judge_claims(claims, table)
    assert claims.frame()["verdict"][0] == NOT_SUPPORTED
