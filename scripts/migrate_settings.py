"""Bring stored TDCA networks and run states up to today's settings classes.

When a settings class gains a field, a network shipped before it lacks it in its manifest, and
loading it would report "made with other settings". This script adds such fields with the
field's default, which by construction reproduces how the older networks were evolved (the
merged supervised settings: ``architecture="mlp"``, ``sites=None``; RL: ``episode_steps=None``),
and records the command that makes each network today. It rewrites, in place:

- the shipped networks' manifests (``data/checkpoints/``, or ``--checkpoints``), through
  :func:`tdca_lib.machinery.checkpoints.add_settings` (networks and logs untouched);
- the resume states of evolution runs (``runs/*/state.pt``, ``data/scale/*/state.pt``) and the
  scale study's curves (``data/scale/*/curve.json``), so that they resume.

Running it again changes nothing.

    .venv/bin/python scripts/migrate_settings.py [--checkpoints DIR] [--runs DIR] [--scale DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from tdca_lib.experiments import gaussian, rl, supervised
from tdca_lib.machinery.checkpoints import add_settings
from tdca_lib.machinery.files import (
    ROOT,
    atomic_torch_save,
    atomic_write_text,
    checkpoints_dir,
    runs_dir,
)
from tdca_lib.machinery.profiles import evolved_settings

# A stored network's name starts with its experiment's: which settings class made it, and the
# command that makes it again.
KINDS = {
    "supervised-": (supervised.SupervisedSettings, supervised.regenerate_command),
    "diffusion-": (supervised.SupervisedSettings, supervised.regenerate_command),
    "deep-": (supervised.SupervisedSettings, supervised.regenerate_command),
    "rl-": (rl.RLSettings, rl.regenerate_command),
    "metaworld-": (rl.RLSettings, rl.regenerate_command),
    "gaussian": (gaussian.GaussianSettings, None),
    "mnist-": (supervised.SupervisedSettings, None),  # the scale study's runs
}


def kind(name: str) -> tuple[type | None, Any]:
    """(settings class, regenerate command) of a stored network or run ``name``; (None, None)
    for one no experiment here makes."""
    return next((found for prefix, found in KINDS.items() if name.startswith(prefix)),
                (None, None))


def missing(saved: dict[str, Any], settings_class: type) -> dict[str, Any]:
    """The evolved fields of ``settings_class`` that ``saved`` lacks, at their defaults."""
    defaults = evolved_settings(settings_class())
    return {k: v for k, v in defaults.items() if k not in saved}


def rebuilt(saved: dict[str, Any], settings_class: type) -> Any:
    """The settings a stored dict describes (JSON's lists back to tuples)."""
    names = {f.name for f in dataclasses.fields(settings_class)}
    return settings_class(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in saved.items() if k in names})


def migrate_checkpoints(folder: Path) -> list[str]:
    changed = []
    for manifest_path in sorted(folder.glob("*.json")):
        manifest = json.loads(manifest_path.read_text())
        settings_class, regenerate = kind(manifest["name"])
        if settings_class is None:
            continue
        added = missing(manifest["settings"], settings_class)
        command = None
        if regenerate is not None:
            settings = rebuilt(manifest["settings"] | added, settings_class)
            command = regenerate(settings, manifest["profile"])
        if add_settings(manifest_path.stem, added, command, folder):
            changed.append(manifest_path.name)
    return changed


def migrate_states(folder: Path) -> list[str]:
    changed = []
    for state_path in sorted(folder.glob("*/state.pt")):
        settings_class = kind(state_path.parent.name)[0]
        if settings_class is None:
            continue
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        added = missing(state["meta"], settings_class)
        if added:
            state["meta"] = state["meta"] | added
            atomic_torch_save(state, state_path)
            changed.append(str(state_path))
        curve_path = state_path.parent / "curve.json"
        if curve_path.exists():
            curve = json.loads(curve_path.read_text())
            added = missing(curve["settings"], supervised.SupervisedSettings)
            if added:
                curve["settings"] |= added
                atomic_write_text(curve_path, json.dumps(curve, indent=1) + "\n")
                changed.append(str(curve_path))
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=Path, default=checkpoints_dir())
    parser.add_argument("--runs", type=Path, default=runs_dir())
    parser.add_argument("--scale", type=Path, default=ROOT / "data" / "scale")
    args = parser.parse_args(argv)
    changed = migrate_checkpoints(args.checkpoints)
    for folder in (args.runs, args.scale):
        if folder.exists():
            changed += migrate_states(folder)
    print("\n".join(f"migrated {name}" for name in changed) or "nothing to migrate")


if __name__ == "__main__":
    main()
