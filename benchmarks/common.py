"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def timed(fn, device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` calls, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def count_flops(fn) -> int:
    """Matmul FLOPs of one call, as torch's FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_gflops(device: torch.device, repeats: int, n: int = 4096) -> float:
    """This machine's float32 rate on one large matmul, the yardstick for the others."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 / timed(lambda: a @ b, device, repeats) / 1e9


def describe(device: torch.device) -> str:
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
    return (f"device: {device} ({name}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")
