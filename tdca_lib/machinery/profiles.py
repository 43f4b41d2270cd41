"""Profiles: the ``smoke`` / ``quick`` / ``paper`` scales of one experiment, side by side.

Each experiment keeps all its settings in one frozen dataclass (its fields added to the run's,
:class:`~tdca_lib.method.outer_loop.RunSettings`) whose defaults are the ``quick`` profile; the
other profiles are plain dicts of the fields they change, so the difference between them is
visible at a glance::

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
import math
import os
import types
import typing
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


# Settings that several experiments share, and the least value that makes a run: a run of 0
# generations would ship its untrained start, one of sigma 0 would never move. PGPE's members
# come in antithetic pairs, so a population is even. Every float is finite besides: a sigma of
# 1e999 (inf) would evolve a NaN network.
AT_LEAST_ONE = ("generations", "steps", "train_size", "updates", "seeds",
                "checkpoint_every", "fitness_episodes", "episode_steps", "train_grid")
POSITIVE = ("sigma", "center_lr", "inner_lr", "lr")
EVEN = ("population",)


def _conforms(value: Any, kind: Any) -> bool:
    """Whether ``value`` fits the annotation ``kind`` (int, float, str, bool, X | None,
    tuple[X, ...], tuple[X, Y]); an int is a float, a bool is not a number."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args))
    if kind is type(None):
        return value is None
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) if not typing.get_args(kind) else str(kind)


def _finite(value: Any) -> bool:
    """Whether every float in ``value`` (a number, or a tuple of them) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, tuple):
        return all(_finite(v) for v in value)
    return True


def check_settings(settings: Any) -> None:
    """Refuse a settings dataclass with a value of the wrong type or out of range, before any
    run starts or anything is written: one line naming the setting, its value and what it must
    be (a ValueError)."""
    hints = typing.get_type_hints(type(settings))
    for field in dataclasses.fields(settings):
        value, kind = getattr(settings, field.name), hints[field.name]
        if not _conforms(value, kind):
            raise ValueError(f"setting {field.name}={value!r} must be of type "
                             f"{_type_name(kind)}, not {type(value).__name__}")
        if field.name in AT_LEAST_ONE and value is not None and value < 1:
            raise ValueError(f"setting {field.name}={value!r} must be at least 1")
        if field.name in EVEN and value is not None and (value < 2 or value % 2):
            raise ValueError(f"setting {field.name}={value!r} must be even and at least 2 "
                             "(PGPE's members come in antithetic pairs)")
        if field.name in POSITIVE and value is not None and not (value > 0 and _finite(value)):
            raise ValueError(f"setting {field.name}={value!r} must be a finite number above 0")
        if not _finite(value):
            raise ValueError(f"setting {field.name}={value!r} must be finite, not nan or inf")


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
    """``["steps=50", "tdca_hidden=(8,)"]`` -> settings overrides: numbers (nan and inf too),
    None and tuples as Python writes them; anything else stays a string."""
    overrides = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise ValueError(f"--set {item!r}: write NAME=VALUE, e.g. generations=50")
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            # nan and inf are names to Python, not literals: read them as the floats they name,
            # so the check says what is wrong with the number, not that it is a string
            non_finite = value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
            overrides[name] = float(value) if non_finite else value
    return overrides


def evolution_command(
    description: str,
    argv: list[str] | None,
    make_settings: Callable[[argparse.Namespace, dict[str, Any]], S],
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
) -> tuple[argparse.Namespace, S]:
    """The command line every evolution command shares: ``--profile``, the command's own
    arguments, ``--set NAME=VALUE ...``; returns the parsed arguments and the settings
    ``make_settings(args, overrides)`` builds. A bad setting (unknown, of the wrong type, out of
    range) is a usage error, exit status 2, whose line names it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default=DEFAULT_PROFILE)
    add_arguments(parser)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="override settings, e.g. --set generations=50")
    parser.add_argument("--replace-shipped", action="store_true",
                        help="ship even over a network evolved for more generations or "
                             "with other settings")
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.set)
        if args.replace_shipped:
            overrides["replace_shipped"] = True
        return args, make_settings(args, overrides)
    except ValueError as err:
        parser.error(str(err))
