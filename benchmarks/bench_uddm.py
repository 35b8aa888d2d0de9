"""Speed of the uddm model, as ratios measured in one run.

    python benchmarks/bench_uddm.py [--quick] [--threads 1] [--device auto]

Prints, for each CPU-scale configuration:
  - training throughput (tokens/s, forward + backward + AdamW step, NELBO loss) and the
    achieved FLOP/s as a fraction of this machine's measured float32 matmul rate;
  - the same for a plain reference transformer of the same shape written the obvious way
    (hand-written multi-head attention with an explicit softmax, nn.LayerNorm, learned
    positions, no fused attention), and the speed ratio uddm / reference;
  - sampling throughput (sequences x steps per second) with the float64 posterior, and its
    ratio to bare network forwards (what the float64 posterior and the draws cost).
On CUDA it adds the paper's `tiny` and `small` in bf16 autocast at K = 30522, with model
FLOP utilisation against the card's measured bf16 matmul peak.

Thread pools are pinned (`--threads`, default 1): never oversubscribe a shared machine.
"""
from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from uddm.diffusion import forward_corrupt, make_schedule, nelbo_per_token, sample_times
from uddm.model import DiT, get_config, model_flops_per_token
from uddm.sample import generate

CPU_CONFIGS = ["cpu-xxs", "cpu-xs", "cpu-s", "cpu-m"]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device, dtype=torch.float32, n=1024, reps=10) -> float:
    """Measured dense matmul FLOP/s (the best of `reps` timed products)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(4):
            a @ b
        _sync(device)
        best = min(best, (time.perf_counter() - t) / 4)
    return 2 * n ** 3 / best


class RefBlock(nn.Module):
    """Pre-LN transformer block, the obvious way: explicit attention, no fusion."""

    def __init__(self, d, h, dropout):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        B, L, D = x.shape
        hd = D // self.h
        u = self.ln1(x)
        q, k, v = (m(u).view(B, L, self.h, hd).transpose(1, 2) for m in (self.q, self.k, self.v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        x = x + self.drop(self.o((att @ v).transpose(1, 2).reshape(B, L, D)))
        return x + self.drop(self.mlp(self.ln2(x)))


class RefTransformer(nn.Module):
    """Same hidden size, blocks, heads, K and length as a DiT; time added to the input."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden
        self.tok = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Parameter(torch.zeros(cfg.length, d))
        self.time = nn.Linear(1, d)
        self.blocks = nn.ModuleList(RefBlock(d, cfg.heads, cfg.dropout) for _ in range(cfg.blocks))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.vocab_size)

    def forward(self, z, sigma):
        x = self.tok(z) + self.pos[: z.shape[1]] + self.time(sigma[:, None])[:, None]
        for b in self.blocks:
            x = b(x)
        return self.out(self.ln(x))


def train_rate(model, cfg, batch, iters, device, autocast_dtype=None) -> float:
    """Tokens per second of NELBO forward + backward + AdamW step."""
    sch = make_schedule()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    K, L = cfg.vocab_size, cfg.length
    x = torch.randint(K, (batch, L), generator=g)
    model.train()

    def step():
        t = sample_times(batch, g)
        a, da = sch.alpha(t), sch.dalpha(t)
        z = forward_corrupt(x, a, K, g)
        xs, zs, a, da = x.to(device), z.to(device), a.to(device), da.to(device)
        ctx = (torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype
               else torch.autocast(device.type, enabled=False))
        with ctx:
            logits = model(zs, -torch.log(a))
        loss = nelbo_per_token(F.log_softmax(logits.float(), -1), xs, zs, a, da).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(max(2, iters // 5)):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return batch * L * iters / (time.perf_counter() - t0)


@torch.no_grad()
def sample_rates(model, cfg, batch, steps, device) -> tuple[float, float]:
    """(sequences x steps / s of `generate`, the same for bare forwards)."""
    sch = make_schedule()
    model.eval()
    g = torch.Generator(device=device).manual_seed(0)
    generate(model, sch, batch, steps=2, generator=g)
    _sync(device)
    t0 = time.perf_counter()
    generate(model, sch, batch, steps=steps, generator=g, batch_size=batch)
    _sync(device)
    samp = batch * steps / (time.perf_counter() - t0)
    z = torch.randint(cfg.vocab_size, (batch, cfg.length), device=device)
    s = torch.full((batch,), 0.5, device=device)
    model(z, s)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        model(z, s)
    _sync(device)
    fwd = batch * steps / (time.perf_counter() - t0)
    return samp, fwd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few iterations: checks it works")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (pinned)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--vocab-size", type=int, default=128, help="K for the CPU configurations")
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    iters = 3 if args.quick else 30
    s_steps = 4 if args.quick else 64
    torch.manual_seed(0)
    peak = matmul_rate(device, reps=3 if args.quick else 10)
    print(f"device {device}, torch threads {torch.get_num_threads()}, "
          f"measured float32 matmul {peak / 1e9:.2f} GFLOP/s")
    hdr = (f"{'config':<8} {'params':>8} {'uddm tok/s':>11} {'MFU':>6} {'ref tok/s':>10} "
           f"{'ref MFU':>7} {'uddm/ref':>8} {'sample seq*step/s':>18} {'sample/fwd':>10}")
    print(hdr)
    print("-" * len(hdr))
    for name in CPU_CONFIGS:
        cfg = get_config(name, vocab_size=args.vocab_size)
        fl = model_flops_per_token(cfg)
        torch.manual_seed(0)
        ours = DiT(cfg).to(device)
        r_ours = train_rate(ours, cfg, args.batch, iters, device)
        ref = RefTransformer(cfg).to(device)
        r_ref = train_rate(ref, cfg, args.batch, iters, device)
        samp, fwd = sample_rates(ours, cfg, args.batch, s_steps, device)
        n = sum(p.numel() for p in ours.parameters())
        print(f"{name:<8} {n / 1e6:>7.2f}M {r_ours:>11.0f} {r_ours * fl / peak:>6.1%} "
              f"{r_ref:>10.0f} {r_ref * fl / peak:>7.1%} {r_ours / r_ref:>8.2f} "
              f"{samp:>18.1f} {samp / fwd:>10.2f}")
    print("MFU = model FLOP/s (6 N_matmul + attention, per token) / measured matmul rate;"
          " sample/fwd = sampling rate / bare-forward rate (float64 posterior overhead).")
    if device.type == "cuda":
        bf16_peak = matmul_rate(device, torch.bfloat16, n=8192, reps=3 if args.quick else 10)
        print(f"\nCUDA bf16: measured matmul peak {bf16_peak / 1e12:.1f} TFLOP/s")
        for name, batch in (("tiny", 64), ("small", 32)):
            cfg = get_config(name, vocab_size=30522)
            model = DiT(cfg).to(device)
            r = train_rate(model, cfg, batch, iters, device, autocast_dtype=torch.bfloat16)
            mfu = r * model_flops_per_token(cfg) / bf16_peak
            print(f"{name:<8} batch {batch:>3} L 128: {r:>10.0f} tokens/s, MFU {mfu:.1%}")
            del model
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
