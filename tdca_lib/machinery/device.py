"""Choosing where tensors live: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import ctypes
import os
import sys

import torch

DEVICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError):
    """The device asked for is not one we know, or not on this machine."""


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU. An unknown name, or ``"cuda"``
    without a GPU, raises :class:`DeviceUnavailable` (one line: what was asked, what to use).

    Under torchrun, CUDA means this process's own GPU: ``cuda:LOCAL_RANK`` (round robin when
    a machine runs more processes than it has GPUs), which becomes the current device."""
    if name not in DEVICES:
        raise DeviceUnavailable(f"unknown device {name!r}; use one of: {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device 'cuda' asked for, but torch sees no GPU here; use "
                                "'cpu' or 'auto'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]) % torch.cuda.device_count())
        torch.cuda.set_device(device)
        return device
    return torch.device(name)


def describe_device(device: torch.device | str) -> str:
    """``"cpu"`` or ``"cuda (NVIDIA H200)"``: where a network was evolved, for its manifest."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse rather than hand it back to the system.

    An inner step frees and allocates tens of MB of temporaries; by default glibc returns the
    freed top of its heap (and maps large blocks afresh), so the next step touches new pages,
    one page fault per 4 KB: on our 2-core VM about 5 ms of CPU a 1000-sample step of 8
    members, against ~0.3 ms with this. Process-wide (memory stays reserved at its peak); for
    the CPU evolution runs and benchmarks, which call it. Returns whether it took effect (glibc
    only; elsewhere it does nothing)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    trim_threshold, mmap_threshold = -1, -3  # glibc's M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    return bool(mallopt(trim_threshold, 1 << 30)) and bool(mallopt(mmap_threshold, 1 << 25))
