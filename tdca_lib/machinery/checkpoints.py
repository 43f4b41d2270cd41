"""Evolved TDCA networks shipped under ``data/checkpoints/``, each with a JSON manifest.

``<name>.pt`` holds the evolved centre, its evolution log and the manifest of the run that
made it (experiment, profile, settings, seed, generations, final fitness, package versions,
device, commit), with a checksum of all three: the ``.pt`` alone is the network's record, so a
run killed between writing it and its ``.json`` never leaves a network that reads as corrupt.
``<name>.json`` is the readable copy of that manifest plus the checksum, the ``.pt``'s SHA-256
and what was measured afterwards (:func:`annotate`); a ``.json`` whose checksum is not the
``.pt``'s describes an earlier network (shipping was cut short) and gives way to the ``.pt``.
The bytes of a ``.pt`` depend on its contents alone, so shipping the same network again leaves
git clean.

:func:`load_evolved` checks all of it. A network that is not there raises
:class:`CheckpointMissing` (a note: the notebooks carry on without it); one that is corrupt or
was evolved with other settings raises :class:`CheckpointError` (a failure). Both say how to
regenerate it.

A run's resume state (``state.pt`` in its run folder, :mod:`tdca_lib.method.outer_loop`) is a
checkpoint too: one of another run raises :class:`ResumeMismatch`, an unreadable one
:class:`StateUnreadable`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import warnings
from pathlib import Path
from typing import Any

import torch

from .files import (
    ROOT,
    atomic_torch_save,
    atomic_write_text,
    checkpoints_dir,
    remove_stale_temporaries,
)

FORMAT = 2  # format 1 (before the manifest moved into the .pt) still loads


class CheckpointError(RuntimeError):
    """A shipped checkpoint is corrupt, or was evolved with other settings, or would be
    replaced by a shorter run or one with other settings."""


class CheckpointMissing(CheckpointError):
    """A shipped checkpoint is not there."""


class ResumeMismatch(RuntimeError):
    """A run folder holds the state of a run with other settings."""


class StateUnreadable(RuntimeError):
    """A run folder's state file cannot be read."""


def current_commit(paths: tuple[str, ...] = ()) -> str:
    """The git commit of the working tree, with ``+dirty`` when it has uncommitted changes (only
    those under ``paths``, repository-relative, when given: a long run's own outputs are not a
    change to the code that makes them)."""
    try:
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        commit = run("rev-parse", "--short=12", "HEAD")
        changed = run("status", "--porcelain", "--untracked-files=no", "--", *paths)
        return commit + ("+dirty" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _canonical(obj: Any) -> Any:
    """``obj`` rebuilt from its JSON text: the same contents always pickle to the same bytes
    (pickle records which objects are shared, and a resumed run's log shares other objects
    than an uninterrupted run's)."""
    return json.loads(json.dumps(obj, sort_keys=True))


def _checksum(center: torch.Tensor, log: list, manifest: dict) -> str:
    digest = hashlib.sha256(center.numpy().tobytes())
    digest.update(json.dumps([log, manifest], sort_keys=True).encode())
    return digest.hexdigest()


def settings_differences(saved: dict[str, Any],
                         asked: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The settings in ``asked`` whose value differs from ``saved`` (a manifest's settings):
    name -> (saved value, asked value), compared as the manifest stores them (tuples as lists).
    A setting ``saved`` lacks counts as ``None`` there."""
    asked = _canonical(asked)
    return {k: (saved.get(k), v) for k, v in asked.items() if saved.get(k) != v}


def _refuse_other_settings(pt: Path, manifest: dict[str, Any], settings: dict[str, Any]) -> None:
    """Raise :class:`CheckpointError` when the network ``pt`` (its ``manifest``) was evolved with
    other ``settings``: one line naming each difference and how to go on. ``generations`` is
    not compared: a longer run continues a shorter one, and a shorter one meets its own guard."""
    diff = settings_differences(manifest.get("settings", {}), settings)
    diff.pop("generations", None)
    if diff:
        named = "; ".join(f"{k}: {s!r} shipped, {v!r} asked" for k, (s, v) in diff.items())
        own = f" (its command: {manifest['command']})" if manifest.get("command") else ""
        raise CheckpointError(
            f"not shipped: {pt} holds a network evolved with other settings ({named}); ask for "
            f"its settings to keep it{own}, or pass --replace-shipped to ship over it")


def check_replaceable(name: str, settings: dict[str, Any], folder: Path | None = None) -> None:
    """Before a run that would ship ``<name>``: raise :class:`CheckpointError` if the network
    shipped under that name was evolved with settings other than ``settings`` (see
    :func:`save_evolved`). Nothing (readable) shipped there: nothing to keep."""
    folder = Path(folder) if folder is not None else checkpoints_dir()
    try:
        manifest = _read(name, folder)[2]
    except Exception:  # not there, or corrupt: shipping replaces nothing worth keeping
        return
    _refuse_other_settings(folder / f"{name}.pt", manifest, settings)


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _read(name: str, folder: Path) -> tuple[torch.Tensor, list, dict[str, Any]]:
    """Centre, log and manifest of ``<name>``, checked; raises on any damage."""
    pt, js = folder / f"{name}.pt", folder / f"{name}.json"
    payload = torch.load(pt, map_location="cpu")
    center, log = payload["center"], payload["log"]
    sha256 = _sha256(pt)
    try:
        manifest = json.loads(js.read_text())
    except (OSError, ValueError):
        manifest = None
    if payload.get("format", 1) == 1:  # the manifest lives in the .json only
        if manifest is None or manifest.get("sha256") != sha256:
            raise ValueError("its SHA-256 does not match the manifest")
        return center, log, manifest
    checksum = payload["checksum"]
    if checksum != _checksum(center, log, payload["manifest"]):
        raise ValueError("its checksum does not match its contents")
    if manifest is None or manifest.get("checksum") != checksum:
        # Shipping stopped between the .pt and its .json: the .pt is the record.
        warnings.warn(f"{js} is out of date (shipping was interrupted); using the manifest "
                      f"stored in {pt.name}", stacklevel=3)
        return center, log, payload["manifest"] | {"checksum": checksum, "sha256": sha256}
    if manifest.get("sha256") != sha256:
        raise ValueError("its SHA-256 does not match the manifest")
    return center, log, manifest


def save_evolved(
    name: str,
    center: torch.Tensor,
    log: list[dict[str, float]],
    *,
    experiment: str,
    profile: str,
    settings: dict[str, Any],
    folder: Path | None = None,
    device: str = "cpu",
    replace: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Write ``<name>.pt``, then its manifest ``<name>.json``, each atomically; return the
    manifest. ``command``: the command that makes this network again.

    A checkpoint that already holds this very network and log is left as it is (its manifest
    brought up to date if shipping was interrupted). One evolved with other ``settings``, or for
    more generations, is not replaced unless ``replace``: :class:`CheckpointError` says so.
    """
    folder = Path(folder) if folder is not None else checkpoints_dir()
    pt = folder / f"{name}.pt"
    center, log = center.detach().cpu().float().contiguous(), _canonical(log)
    remove_stale_temporaries(pt)
    remove_stale_temporaries(pt.with_suffix(".json"))
    try:
        saved_center, saved_log, manifest = _read(name, folder)
    except Exception:  # nothing (readable) there yet: write it
        saved_center = None
    if saved_center is not None:
        if (torch.equal(saved_center, center) and saved_log == log
                and manifest["settings"] == _canonical(settings)
                and manifest["profile"] == profile):
            _write_manifest(pt.with_suffix(".json"), manifest)
            return manifest
        if not replace:
            _refuse_other_settings(pt, manifest, settings)
        if manifest.get("generations", 0) > len(log) and not replace:
            raise CheckpointError(
                f"not shipped: {pt} holds a network evolved {manifest['generations']} "
                f"generations and this run has {len(log)}; the run is kept in its run folder. "
                "Ask for at least as many generations, or pass --replace-shipped to ship over "
                "it.")
    manifest = _canonical({
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
        "threads": torch.get_num_threads(),  # of the process that finished it, likewise
        "command": command,
        "commit": current_commit(),
    })
    checksum = _checksum(center, log, manifest)
    payload = {"format": FORMAT, "center": center, "log": log, "manifest": manifest,
               "checksum": checksum}
    atomic_torch_save(payload, pt)
    manifest = manifest | {"checksum": checksum, "sha256": _sha256(pt)}
    _write_manifest(pt.with_suffix(".json"), manifest)
    return manifest


def annotate(name: str, folder: Path | None = None, **fields: Any) -> dict[str, Any]:
    """Add ``fields`` (say, how well the shipped network trains) to ``<name>``'s manifest."""
    folder = Path(folder) if folder is not None else checkpoints_dir()
    manifest = _read(name, folder)[2] | fields
    _write_manifest(folder / f"{name}.json", manifest)
    return manifest


def add_settings(name: str, added: dict[str, Any], command: str | None = None,
                 folder: Path | None = None) -> bool:
    """Record in ``<name>``'s manifest settings that its settings class gained after it was
    shipped (``added``: their values for this network, which must reproduce how it was evolved)
    and, with ``command``, the command that makes it today. The network and its log stay as they
    are; the checksum and SHA-256 follow the new manifest. Returns whether anything changed."""
    folder = Path(folder) if folder is not None else checkpoints_dir()
    pt, js = folder / f"{name}.pt", folder / f"{name}.json"
    center, log, manifest = _read(name, folder)
    settings = manifest["settings"]
    new = _canonical({k: v for k, v in added.items() if k not in settings})
    if not new and (command is None or manifest.get("command") == command):
        return False
    changes = {"settings": settings | new} | ({"command": command} if command else {})
    payload = torch.load(pt, map_location="cpu")
    if payload.get("format", 1) == 1:  # the manifest lives in the .json alone
        _write_manifest(js, manifest | changes)
        return True
    payload["manifest"] |= changes
    payload["checksum"] = _checksum(center, log, payload["manifest"])
    atomic_torch_save(payload, pt)
    _write_manifest(js, manifest | payload["manifest"]
                    | {"checksum": payload["checksum"], "sha256": _sha256(pt)})
    return True


def load_evolved(
    name: str,
    *,
    expect: dict[str, Any],
    regenerate: str,
    folder: Path | None = None,
) -> tuple[torch.Tensor, list[dict[str, float]], dict[str, Any]]:
    """Load ``<name>``: returns (centre ``[D]``, evolution log, manifest).

    ``expect`` lists settings the checkpoint must have been evolved with; ``regenerate`` is the
    command that rebuilds it, quoted in every error. Raises :class:`CheckpointMissing` when it
    is not there, :class:`CheckpointError` when it is corrupt or was made with other settings.
    """
    folder = Path(folder) if folder is not None else checkpoints_dir()
    pt = folder / f"{name}.pt"
    where = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    fix = f"regenerate it with: {regenerate}"  # on the first line: tables quote that line
    if not pt.exists():
        raise CheckpointMissing(f"evolved TDCA network {name!r} not found in {where}; {fix}")
    try:
        center, log, manifest = _read(name, folder)
    except Exception as err:  # any failure to read it is the same problem for the user
        raise CheckpointError(f"evolved TDCA network {name!r} in {where} is corrupt ({err}); "
                              f"{fix}") from err
    diff = settings_differences(manifest.get("settings", {}), expect)
    if diff:
        lines = "\n".join(
            f"    {k}: evolved with {s!r}, asked for {v!r}" for k, (s, v) in diff.items()
        )
        raise CheckpointError(
            f"evolved TDCA network {name!r} in {where} was made with other settings; {fix}\n"
            f"{lines}"
        )
    return center, log, manifest
