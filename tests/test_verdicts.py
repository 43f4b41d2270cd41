import math

import pytest

from tdca_lib.machinery import claims


def test_a_tenth_of_a_point_within_a_one_point_spread_is_within_noise():
    # three meta-test subsets: A leads B by 0.1 point on average, the subsets spread by ~1 point
    a = [0.876 + 0.01, 0.876, 0.876 - 0.01]
    b = [0.875 - 0.005, 0.875 + 0.008, 0.875 - 0.003]
    diff = claims.difference(a, b)
    assert diff.value == pytest.approx(0.001)
    assert claims.verdict(diff) == claims.WITHIN_NOISE


def test_a_lead_that_clears_two_standard_errors_is_supported_and_a_loss_is_not():
    a, b = [0.90, 0.91, 0.92], [0.85, 0.855, 0.87]
    assert claims.verdict(claims.difference(a, b)) == claims.SUPPORTED
    assert claims.verdict(claims.difference(b, a)) == claims.NOT_SUPPORTED


def test_the_rule_sits_at_noise_rule_standard_errors_from_the_threshold():
    edge = claims.NOISE_RULE * 0.01
    below = claims.Difference(edge - 1e-9, 0.01, 3, True)
    above = claims.Difference(edge + 1e-9, 0.01, 3, True)
    assert claims.verdict(below) == claims.WITHIN_NOISE
    assert claims.verdict(above) == claims.SUPPORTED
    # "by at least a point": a lead of 1.5 +- 0.1 clears it, one of 0.5 +- 0.1 falls short
    assert claims.verdict(claims.Difference(0.015, 0.001, 3, True), 0.01) == claims.SUPPORTED
    assert claims.verdict(claims.Difference(0.005, 0.001, 3, True), 0.01) == claims.NOT_SUPPORTED


def test_pairing_leaves_out_the_variation_both_sides_share():
    subsets = [0.80, 0.85, 0.90]  # hard and easy subsets, the same for both methods
    a = [s + 0.01 for s in subsets]
    assert claims.verdict(claims.difference(a, subsets, paired=True)) == claims.SUPPORTED
    assert claims.verdict(claims.difference(a, subsets, paired=False)) == claims.WITHIN_NOISE
    unpaired = claims.difference(a, subsets, paired=False)
    assert unpaired.standard_error == pytest.approx(math.sqrt(2 * 0.05**2 / 3))


def test_one_value_a_side_gives_no_noise_estimate_and_no_verdict_either_way():
    diff = claims.difference([0.9], [0.5])
    assert math.isnan(diff.standard_error) and claims.verdict(diff) == claims.WITHIN_NOISE
    with pytest.raises(ValueError, match="as many on each side"):
        claims.difference([0.9, 0.8], [0.5])


def test_a_compared_claim_shows_the_difference_and_its_standard_error():
    table = claims.Claims()
    diff = table.compare("A beats B", [0.90, 0.91, 0.92], [0.85, 0.855, 0.87],
                         evidence="meta-test, 3 subsets")
    row = table.frame().iloc[0]
    assert row["verdict"] == claims.SUPPORTED
    assert row["evidence"].startswith(f"{100 * diff.value:+.2f} ± ")
    assert row["evidence"].endswith("points (3 pairs); meta-test, 3 subsets")
