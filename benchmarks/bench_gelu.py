"""The DiT's tanh-GELU on the CPU: torch's kernel against the sigmoid form, by input scale.

    python benchmarks/bench_gelu.py [--threads 1] [--reps 50]

DUO's MLP activation is `nn.GELU(approximate="tanh")`. On this CPU build torch's kernel
for it (and inductor's generated code for it) slows down several times once |x| grows to
~20, which the MLP pre-activations of trained sweep models reach; `torch.tanh` and
`torch.sigmoid` do not. `uddm.model.gelu_tanh` writes the same function as
x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), and the DiT's `GELUTanh` runs it inside
torch.compile (eagerly it keeps torch's kernel, so eager numbers are unchanged).

For inputs of the cpu-xs MLP's shape at batch 128 (128 x 32 x 256) drawn as N(0, s^2),
s = 1, 5, 20, it times forward + backward of: torch's kernel eagerly, the sigmoid form
eagerly (autograd through its few ops), both compiled with torch.compile, one after another in
one process, and prints milliseconds and ratios against torch's eager kernel.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F


def _time(fn, x, g, reps: int) -> float:
    """Median milliseconds of forward + backward of `fn` at `x` with upstream gradient `g`."""
    out = []
    for _ in range(reps + 3):
        x.grad = None
        t = time.perf_counter()
        fn(x).backward(g)
        out.append(time.perf_counter() - t)
    out = sorted(out[3:])
    return 1e3 * out[len(out) // 2]


def main(argv=None):
    from uddm.model import gelu_tanh
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a sweep unit uses 1)")
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args(argv)
    if a.threads < 1 or a.reps < 1:
        ap.error(f"--threads and --reps must be >= 1, got {a.threads} and {a.reps}")
    torch.set_num_threads(a.threads)

    def native(x):
        return F.gelu(x, approximate="tanh")
    ways = {"torch kernel": native, "sigmoid form": gelu_tanh,
            "torch kernel, compiled": torch.compile(native, dynamic=False),
            "sigmoid form, compiled": torch.compile(gelu_tanh, dynamic=False)}
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {a.threads} thread(s), shape (128, 32, 256), "
          f"median of {a.reps} forward + backward\n")
    print("| scale s | " + " | ".join(f"{w}: ms (x)" for w in ways) + " |")
    print("|---|" + "---|" * len(ways))
    for s in (1.0, 5.0, 20.0):
        x = (torch.randn(128, 32, 256, generator=gen) * s).requires_grad_()
        g = torch.randn(128, 32, 256, generator=gen)
        ms = {w: _time(f, x, g, a.reps) for w, f in ways.items()}
        base = ms["torch kernel"]
        print(f"| {s:g} | " + " | ".join(f"{ms[w]:.2f} ({base / ms[w]:.2f})" for w in ways) + " |")


if __name__ == "__main__":
    main()
