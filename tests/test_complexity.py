from tdca_lib import complexity
from tdca_lib.complexity import Method


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
