"""Training speed of one uddm DiT against DUO's own DiT at equal shape, in one process.

    pip install einops                 # DUO's models/dit.py needs it (not a uddm dependency)
    python benchmarks/bench_duo_dit.py --duo PATH/TO/duo [--threads 2] [--reps 5]

PATH is a local checkout of https://github.com/s-sahoo/duo (never part of this project;
without it the script says so and exits). DUO's `models/dit.py` imports flash-attn, which
has no CPU build: the script provides a stand-in module whose `apply_rotary_emb_torch` is
the rotate-half rotary in plain torch (the formula flash-attn's own torch reference
computes), and stand-ins for `huggingface_hub`'s mixin and `omegaconf` when they are not
installed. Nothing else of DUO's file is changed.

For each shape (batch 64: hidden 128 / 4 blocks / length 64 / K 64, and hidden 64 /
2 blocks / length 32 / K 128) it builds DUO's DIT, copies its weights into a uddm DiT,
checks the logits agree to float32 round-off, then times training steps (forward,
NELBO backward, AdamW) of both, interleaved, and prints tokens/s and the ratio
uddm / DUO (target >= 1.2). uddm runs as `uddm.train` runs it (`fused_adam` as given).
`--compile uddm` times uddm's step as `uddm train --compile` runs it (forward, loss and
backward through torch.compile; AdamW eager) against DUO's eager step; `--compile both`
compiles DUO's step the same way, so the ratio is again one of the two model files.
Compilation happens before the timing (one shape, untimed warm-up steps).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import types
from pathlib import Path

import torch

SHAPES = [dict(hidden=128, blocks=4, heads=4, length=64, K=64),
          dict(hidden=64, blocks=2, heads=4, length=32, K=128)]


def _rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def _apply_rotary_emb_torch(x, cos, sin):
    """x (B, L, H, D); cos, sin (L, D/2): the rotate-half rotary (the form DUO's DiT calls)."""
    cos = torch.cat([cos, cos], dim=-1)[None, :, None, :]
    sin = torch.cat([sin, sin], dim=-1)[None, :, None, :]
    return x * cos + _rotate_half(x) * sin


def _stub_modules():
    fa = types.ModuleType("flash_attn")
    fa.layers = types.ModuleType("flash_attn.layers")
    fa.layers.rotary = types.ModuleType("flash_attn.layers.rotary")
    fa.layers.rotary.apply_rotary_emb_torch = _apply_rotary_emb_torch
    fa.flash_attn_interface = types.ModuleType("flash_attn.flash_attn_interface")
    sys.modules.update({"flash_attn": fa, "flash_attn.layers": fa.layers,
                        "flash_attn.layers.rotary": fa.layers.rotary,
                        "flash_attn.flash_attn_interface": fa.flash_attn_interface})
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        hh = types.ModuleType("huggingface_hub")
        hh.PyTorchModelHubMixin = type("PyTorchModelHubMixin", (), {})
        sys.modules["huggingface_hub"] = hh
    try:
        import omegaconf  # noqa: F401
    except ImportError:
        oc = types.ModuleType("omegaconf")
        oc.OmegaConf = type("OmegaConf", (), {"create": staticmethod(lambda d: d)})
        sys.modules["omegaconf"] = oc


class _Cfg:
    """Attribute access over nested dicts (what DUO reads from its OmegaConf config)."""

    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, _Cfg(v) if isinstance(v, dict) else v)


def load_duo_dit(duo_root: Path):
    path = Path(duo_root) / "models" / "dit.py"
    if not path.is_file():
        raise SystemExit(f"no DUO checkout at {duo_root} (expected {path}); "
                         f"clone https://github.com/s-sahoo/duo and pass --duo PATH")
    try:
        import einops  # noqa: F401
    except ImportError:
        raise SystemExit("DUO's models/dit.py needs einops: pip install einops") from None
    _stub_modules()
    spec = importlib.util.spec_from_file_location("duo_dit", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["duo_dit"] = mod           # torch.compile (--compile both) imports it by name
    spec.loader.exec_module(mod)
    return mod


def build_pair(duo, s, seed=0):
    from uddm.model import DiT, ModelConfig
    cfg = _Cfg({"algo": {"causal_attention": False},
                "model": {"hidden_size": s["hidden"], "cond_dim": 128, "n_heads": s["heads"],
                          "n_blocks": s["blocks"], "dropout": 0.0, "scale_by_sigma": False}})
    torch.manual_seed(seed)
    theirs = duo.DIT(cfg, vocab_size=s["K"])
    with torch.no_grad():            # zero-initialised layers get random weights to compare
        for p in theirs.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ours = DiT(ModelConfig("bench", s["hidden"], s["blocks"], s["heads"], s["length"],
                           cond_dim=128, dropout=0.0, vocab_size=s["K"]))
    state = {k: v for k, v in theirs.state_dict().items() if k != "rotary_emb.inv_freq"}
    ours.load_state_dict(state, strict=True)      # the same parameter names
    return ours, theirs


def time_training(model, s, batch, reps, steps, fused, compiled=False):
    from uddm.diffusion import forward_corrupt, make_schedule, nelbo_per_token, sample_times
    g = torch.Generator().manual_seed(1)
    sch = make_schedule()
    x = torch.randint(s["K"], (batch, s["length"]), generator=g)
    t = sample_times(batch, g, 1e-3, True)
    alpha, dalpha = sch.alpha(t), sch.dalpha(t)
    z = forward_corrupt(x, alpha, s["K"], g)
    a32, da32 = alpha.float(), dalpha.float()
    sigma = -torch.log(a32)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, **({"fused": True} if fused else {}))

    def loss_of(model, z, sigma, x, a32, da32):
        logp = torch.log_softmax(model(z, sigma).float(), dim=-1)
        return nelbo_per_token(logp, x, z, a32, da32).mean()

    if compiled:                 # fresh caches: earlier models must not use up the recompile limit
        torch.compiler.reset()
        loss_of = torch.compile(loss_of, dynamic=False)

    def step():
        loss = loss_of(model, z, sigma, x, a32, da32)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - t0) / steps)
    return batch * s["length"] / best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duo", type=Path, default=None, help="local checkout of s-sahoo/duo")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--fused-adam", action="store_true", help="uddm with TrainConfig.fused_adam")
    ap.add_argument("--compile", choices=("none", "uddm", "both"), default="none",
                    help="torch.compile uddm's step (as `uddm train --compile`), or both steps")
    a = ap.parse_args(argv)
    if a.duo is None:
        raise SystemExit("this benchmark compares against DUO's own DiT: pass --duo PATH to a "
                         "local checkout of https://github.com/s-sahoo/duo (not part of uddm)")
    for name in ("threads", "reps", "steps", "batch"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(a, name)}")
    torch.set_num_threads(a.threads)
    import warnings
    warnings.filterwarnings("ignore", message="CUDA is not available")   # DUO's cuda autocast
    duo = load_duo_dit(a.duo)
    print(f"torch {torch.__version__}, {a.threads} threads, batch {a.batch}, compiled: {a.compile}")
    print("| shape | logits max abs diff | DUO tokens/s | uddm tokens/s | uddm / DUO |")
    print("|---|---|---|---|---|")
    for s in SHAPES:
        ours, theirs = build_pair(duo, s)
        x = torch.randint(s["K"], (4, s["length"]))
        sig = torch.rand(4)
        with torch.no_grad():
            diff = (ours(x, sig) - theirs(x, sig).float()).abs().max().item()
        rates = {"duo": [], "ours": []}
        for _ in range(2):      # interleaved: both see the same machine state
            rates["duo"].append(time_training(theirs, s, a.batch, a.reps, a.steps, False,
                                              compiled=a.compile == "both"))
            rates["ours"].append(time_training(ours, s, a.batch, a.reps, a.steps, a.fused_adam,
                                               compiled=a.compile != "none"))
        d, o = max(rates["duo"]), max(rates["ours"])
        print(f"| h{s['hidden']} b{s['blocks']} L{s['length']} K{s['K']} | {diff:.1e} | "
              f"{d:,.0f} | {o:,.0f} | {o / d:.2f} |")


if __name__ == "__main__":
    main()
