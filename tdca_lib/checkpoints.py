"""Evolved TDCA networks shipped under ``data/checkpoints/``, each with a JSON manifest.

``<name>.pt`` holds the evolved centre and its evolution log; ``<name>.json`` says what made it:
experiment, profile, settings, seed, generations, final fitness, package versions, the commit,
and the SHA-256 of the ``.pt`` file. :func:`load_evolved` checks all of it and fails with one
clear error that says how to regenerate the file.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from .files import CHECKPOINTS, ROOT, atomic_torch_save, atomic_write_text


class CheckpointError(RuntimeError):
    """A shipped checkpoint is missing, corrupt, or was evolved with other settings."""


def current_commit() -> str:
    """The git commit of the working tree, with ``+dirty`` when it has uncommitted changes."""
    try:
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        commit = run("rev-parse", "--short=12", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _read(name: str, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload and manifest of ``<name>``, after checking the file against its SHA-256."""
    pt = folder / f"{name}.pt"
    manifest = json.loads(pt.with_suffix(".json").read_text())
    if manifest["sha256"] != _sha256(pt):
        raise ValueError("its SHA-256 does not match the manifest")
    return torch.load(pt, map_location="cpu"), manifest


def save_evolved(
    name: str,
    center: torch.Tensor,
    log: list[dict[str, float]],
    *,
    experiment: str,
    profile: str,
    settings: dict[str, Any],
    folder: Path = CHECKPOINTS,
    device: str = "cpu",
) -> dict[str, Any]:
    """Write ``<name>.pt`` and its manifest ``<name>.json`` atomically; return the manifest.

    A checkpoint that already holds this very network and log is left as it is (torch writes a
    random id into every file, so rewriting it would change the bytes, not the content).
    """
    pt = Path(folder) / f"{name}.pt"
    payload = {"center": center.detach().cpu().float(), "log": log}
    try:
        saved, manifest = _read(name, Path(folder))
        if (torch.equal(saved["center"], payload["center"]) and saved["log"] == log
                and manifest["settings"] == json.loads(json.dumps(settings))
                and manifest["profile"] == profile):
            return manifest
    except Exception:  # nothing (readable) there yet: write it
        pass
    atomic_torch_save(payload, pt)
    manifest = {
        "name": name,
        "experiment": experiment,
        "profile": profile,
        "seed": settings.get("seed"),
        "generations": len(log),
        "final_center_fitness": log[-1]["center"] if log else None,
        "num_params": center.numel(),
        "settings": settings,
        "versions": versions(),
        "device": device,  # where the run finished (a resumed run may have begun elsewhere)
        "commit": current_commit(),
        "sha256": _sha256(pt),
    }
    _write_manifest(pt.with_suffix(".json"), manifest)
    return manifest


def annotate(name: str, folder: Path = CHECKPOINTS, **fields: Any) -> dict[str, Any]:
    """Add ``fields`` (say, how well the shipped network trains) to ``<name>``'s manifest."""
    path = Path(folder) / f"{name}.json"
    manifest = json.loads(path.read_text()) | fields
    _write_manifest(path, manifest)
    return manifest


def load_evolved(
    name: str,
    *,
    expect: dict[str, Any],
    regenerate: str,
    folder: Path = CHECKPOINTS,
) -> tuple[torch.Tensor, list[dict[str, float]], dict[str, Any]]:
    """Load ``<name>``: returns (centre ``[D]``, evolution log, manifest).

    ``expect`` lists settings the checkpoint must have been evolved with; ``regenerate`` is the
    command that rebuilds it, quoted in every error.
    """
    pt, js = Path(folder) / f"{name}.pt", Path(folder) / f"{name}.json"
    where = pt.parent.relative_to(ROOT) if pt.parent.is_relative_to(ROOT) else pt.parent
    fix = f"regenerate it with: {regenerate}"  # on the first line: tables quote that line
    if not pt.exists() or not js.exists():
        raise CheckpointError(f"evolved TDCA network {name!r} not found in {where}; {fix}")
    try:
        payload, manifest = _read(name, Path(folder))
        center, log = payload["center"], payload["log"]
    except Exception as err:  # any failure to read it is the same problem for the user
        raise CheckpointError(f"evolved TDCA network {name!r} in {where} is corrupt ({err}); "
                              f"{fix}") from err
    saved = manifest.get("settings", {})
    expect = json.loads(json.dumps(expect))  # as the manifest stores them: tuples as lists
    diff = {k: (saved.get(k), v) for k, v in expect.items() if saved.get(k) != v}
    if diff:
        lines = "\n".join(
            f"    {k}: evolved with {s!r}, asked for {v!r}" for k, (s, v) in diff.items()
        )
        raise CheckpointError(
            f"evolved TDCA network {name!r} in {where} was made with other settings; {fix}\n"
            f"{lines}"
        )
    return center, log, manifest
