"""Profiles: the ``smoke`` / ``quick`` / ``paper`` scales of one experiment, side by side.

Each experiment keeps all its settings in one frozen dataclass whose defaults are the ``quick``
profile; the other profiles are plain dicts of the fields they change, so the difference between
them is visible at a glance::

    PROFILES = Profiles(GaussianSettings,
                        smoke=dict(load_evolved_from="quick"),
                        quick=dict(),
                        paper=dict(population=256, generations=2000))
    settings = PROFILES.get("quick", generations=50)
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

S = TypeVar("S")

PROFILE_NAMES = ("smoke", "quick", "paper")
DEFAULT_PROFILE = "quick"


def not_evolved(default: Any) -> Any:
    """Mark a settings field that does not change what is evolved (how a run is carried out,
    how its result is evaluated): a shipped network still fits settings that differ in it."""
    return dataclasses.field(default=default, metadata={"evolved": False})


def evolved_settings(settings: Any) -> dict[str, Any]:
    """The fields of a settings dataclass that determine the evolved network."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
            if f.metadata.get("evolved", True)}


def default_profile() -> str:
    """``$TDCA_PROFILE`` if set (CI runs the notebooks under ``smoke`` this way), else ``quick``."""
    return os.environ.get("TDCA_PROFILE", DEFAULT_PROFILE)


class Profiles(Generic[S]):
    """The profiles of one experiment: overrides of the settings dataclass's defaults."""

    def __init__(self, settings_class: type[S], **profiles: dict[str, Any]):
        if set(profiles) != set(PROFILE_NAMES):
            raise ValueError(f"define exactly the profiles {PROFILE_NAMES}, got {sorted(profiles)}")
        self.settings_class = settings_class
        self.profiles = profiles
        for name, overrides in profiles.items():  # fail at import, not in the middle of a run
            self._check_names(overrides, f"profile {name!r}")

    def get(self, profile: str, **overrides: Any) -> S:
        """The settings of ``profile`` with ``overrides`` applied on top."""
        if profile not in self.profiles:
            raise ValueError(
                f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILE_NAMES)}"
            )
        self._check_names(overrides, "override")
        return self.settings_class(**{**self.profiles[profile], **overrides})

    def _check_names(self, overrides: dict[str, Any], what: str) -> None:
        valid = [f.name for f in dataclasses.fields(self.settings_class)]
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(
                f"{what}: unknown setting(s) {', '.join(unknown)} for "
                f"{self.settings_class.__name__}; valid settings: {', '.join(valid)}"
            )


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["steps=50", "tdca_hidden=(8,)"]`` -> settings overrides: numbers, None and tuples as
    Python writes them; anything else stays a string."""
    overrides = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[name] = value
    return overrides


def evolution_command(
    description: str,
    argv: list[str] | None,
    make_settings: Callable[[argparse.Namespace, dict[str, Any]], S],
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
) -> tuple[argparse.Namespace, S]:
    """The command line every evolution command shares: ``--profile``, the command's own
    arguments, ``--set NAME=VALUE ...``; returns the parsed arguments and the settings
    ``make_settings(args, overrides)`` builds. A bad setting is a usage error that lists the
    valid ones."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default=DEFAULT_PROFILE)
    add_arguments(parser)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="override settings, e.g. --set generations=50")
    args = parser.parse_args(argv)
    try:
        return args, make_settings(args, parse_overrides(args.set))
    except ValueError as err:
        parser.error(str(err))
