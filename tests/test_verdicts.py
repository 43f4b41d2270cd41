import math

import pytest
import torch

from tdca_lib.machinery import claims
from tdca_lib.sections.supervised import varied


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


def test_a_fixed_bar_does_not_vary_so_only_the_measured_side_gives_the_noise():
    returns = [196.0, 198.0, 200.0]  # mean 198, standard error 1.15 over 3 agents
    diff = claims.difference(returns, 195.0)
    assert diff.value == pytest.approx(3.0) and diff.standard_error == pytest.approx(2 / 3**0.5)
    assert claims.verdict(diff) == claims.SUPPORTED
    assert claims.verdict(claims.difference(returns, 197.0)) == claims.WITHIN_NOISE
    assert claims.verdict(claims.difference(returns, 205.0)) == claims.NOT_SUPPORTED


def test_a_claim_that_needs_several_comparisons_takes_the_weakest_verdict():
    clear = [0.90, 0.91, 0.92], [0.85, 0.855, 0.87]
    unclear = [0.90, 0.80], [0.85, 0.86]
    loss = [0.80, 0.81, 0.82], [0.85, 0.855, 0.87]
    table = claims.Claims()
    for name, pairs in (("all clear", [clear, clear]), ("one unclear", [clear, unclear]),
                        ("one lost", [clear, unclear, loss])):
        table.compare_all(name, {f"c{k}": claims.difference(*p) for k, p in enumerate(pairs)})
    frame = table.frame().set_index("claim")
    assert list(frame["verdict"]) == [claims.SUPPORTED, claims.WITHIN_NOISE, claims.NOT_SUPPORTED]
    assert frame.loc["one lost", "evidence"].startswith("c0: +")
    assert "; c2: -" in frame.loc["one lost", "evidence"]


def test_tally_counts_each_verdict_and_only_those():
    counts = claims.tally([claims.SUPPORTED, claims.WITHIN_NOISE, claims.SUPPORTED, "typo"])
    assert list(counts) == list(claims.VERDICTS)
    assert counts == {claims.SUPPORTED: 2, claims.NOT_SUPPORTED: 0, claims.WITHIN_NOISE: 1,
                      claims.NOT_TESTED: 0}
    assert f"by {claims.NOISE_RULE:g} standard errors" in claims.RULE


def test_one_value_against_values_that_vary_is_a_fixed_bar():
    """Unpaired, a zero init's one value (no seed changes it) is weighed against the spread of
    the side that varies, as a number is; two single values have no spread at all."""
    bar = claims.difference([0.5, 0.7, 0.6], [0.4], paired=False)
    assert bar.value == pytest.approx(0.2)
    against_a_number = claims.difference([0.5, 0.7, 0.6], 0.4)
    assert bar.standard_error == pytest.approx(against_a_number.standard_error)
    assert math.isnan(claims.difference([0.5], [0.4], paired=False).standard_error)


def test_copies_of_a_zero_init_count_once():
    """Five seeds of a zero init are one network: the section's comparison keeps one pair, so the
    rule finds no spread (within noise) instead of a standard error of zero."""
    a, b = torch.full((5,), 0.9), torch.full((5,), 0.8)
    kept = varied(a, b, paired=True)
    assert [len(v) for v in kept] == [1, 1]
    diff = claims.difference(*kept, paired=True)
    assert claims.verdict(diff) == claims.WITHIN_NOISE and "nothing varied" in diff.describe()
    kaiming = torch.tensor([0.78, 0.80, 0.82])
    assert [len(v) for v in varied(a, kaiming, paired=False)] == [1, 3]
    assert [len(v) for v in varied(kaiming, kaiming + 0.01, paired=True)] == [3, 3]
