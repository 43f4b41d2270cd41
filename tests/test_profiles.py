import math

import pytest

from tdca_lib.experiments import gaussian
from tdca_lib.machinery.profiles import PROFILE_NAMES


def test_every_profile_builds_settings():
    for name in PROFILE_NAMES:
        assert isinstance(gaussian.PROFILES.get(name), gaussian.GaussianSettings)


def test_smoke_uses_the_network_quick_evolved_with_quick_settings():
    smoke, quick = gaussian.PROFILES.get("smoke"), gaussian.PROFILES.get("quick")
    assert smoke.load_evolved_from == "quick"
    assert smoke == quick.__class__(**{**quick.__dict__, "load_evolved_from": "quick"})


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        gaussian.PROFILES.get("fast")


def test_unknown_setting_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) popsize.*valid settings: seed"):
        gaussian.PROFILES.get("quick", popsize=3)


def test_overrides_apply_on_top_of_the_profile():
    assert gaussian.PROFILES.get("paper", generations=5).generations == 5
    assert gaussian.PROFILES.get("paper", generations=5).population == 256


def test_smoke_and_quick_differ_only_in_settings_that_do_not_change_the_evolved_network():
    from tdca_lib.experiments import supervised
    from tdca_lib.machinery.profiles import evolved_settings

    smoke, quick = supervised.PROFILES.get("smoke"), supervised.PROFILES.get("quick")
    assert smoke.table1_settings != quick.table1_settings
    assert evolved_settings(smoke) == evolved_settings(quick)
    assert "seeds" not in evolved_settings(smoke) and "steps" in evolved_settings(smoke)


def test_replace_shipped_on_the_command_line_is_the_setting():
    from tdca_lib.machinery.profiles import evolution_command

    _, overrides = evolution_command("test", ["--replace-shipped", "--set", "sigma=nan"],
                                     lambda args, overrides: overrides)
    assert overrides["replace_shipped"] is True and math.isnan(overrides["sigma"])
