"""Benchmark of the supervised inner loop at the paper's three settings. Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_supervised.py [--device cpu|cuda] [--gpu-tflops 30]
        [--population 8 33] [--samples 1000 10000 60000]

For each setting (20 steps / 1000 samples, 50 / 10000, 150 / 60000) it times inner steps of
populations of TDCA-trained 784-100-10 networks (8 members, and 33: the quick profile's
population 32 and its centre, as evolution trains them), counts their matmul FLOPs, and
estimates one PGPE generation (population + centre, every step) and the `paper` profile's wall
time (5000 generations, population 128). The CPU estimate is measured here; the GPU one assumes
a sustained rate (--gpu-tflops, our assumption, not a measurement) unless run on a GPU.

A step is timed inside a training of --steps steps (the optimiser's set-up amortised, as in an
evolution's 20-step trainings). Its rate is its matmul FLOPs over its best wall time of
--repeats, as a share of the same run's best rate on one 4096x4096 float32 matmul, all with
torch's threads as printed on the first line (``torch.get_num_threads()``; set OMP_NUM_THREADS
to change them). On a shared machine other processes slow both; rerun and compare runs, not
single numbers.
"""

from __future__ import annotations

import argparse

from bench_pgpe import inner_step
from common import count_flops, describe, matmul_gflops, timed

from tdca_lib.experiments import supervised
from tdca_lib.machinery.device import keep_freed_memory, resolve_device

SETTINGS = ((20, 1000), (50, 10000), (150, 60000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gpu-tflops", type=float, default=30.0)
    parser.add_argument("--population", type=int, nargs="+", default=[8, 33],
                        help="members timed (the estimate scales them to the profiles' sizes)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls, the best counts")
    parser.add_argument("--steps", type=int, default=5, help="inner steps a timed call")
    parser.add_argument("--samples", type=int, nargs="+", default=[s for _, s in SETTINGS],
                        choices=[s for _, s in SETTINGS], help="the settings timed, by samples")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc as it is (the evolution runs keep freed memory)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(describe(device))
    kept = not args.default_malloc and keep_freed_memory()
    print(f"malloc keeps freed memory (as the evolution runs): {kept}")
    peak = matmul_gflops(device, args.repeats)
    print(f"float32 matmul 4096x4096: {peak:.1f} GFLOP/s")
    for profile in ("quick", "paper"):
        s = supervised.PROFILES.get(profile)
        print(f"profile {profile}: population {s.population}, {s.generations} generations")
    paper = supervised.PROFILES.get("paper")
    for steps, samples in (s for s in SETTINGS if s[1] in args.samples):
        for population in args.population:
            step, _ = inner_step(population, samples, device, steps=args.steps)
            seconds = timed(step, device, args.repeats) / args.steps
            flops = count_flops(step) / args.steps
            rate = flops / seconds / 1e9
            members = paper.population + 1  # the centre rides along
            generation = seconds * steps * members / population
            here = generation * paper.generations / 3600
            gpu = flops * steps * members / population * paper.generations / (
                args.gpu_tflops * 1e12) / 3600
            print(f"{steps:4d} steps, {samples:5d} samples: one step of {population:3d} members "
                  f"{seconds * 1e3:8.1f} ms, {rate:6.1f} GFLOP/s ({rate / peak:.0%} of matmul); "
                  f"one paper generation {generation:8.1f} s; paper profile here "
                  f"{here:9.1f} h, on a GPU at {args.gpu_tflops:.0f} TFLOP/s {gpu:6.2f} h")

if __name__ == "__main__":
    main()
