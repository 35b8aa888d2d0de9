#!/usr/bin/env python
"""Retrieval overlap against load: Hebb (with the Amit-Gutfreund-Sompolinsky curve) and
pseudo-likelihood (with Gardner's limit alpha = 2), at several N.

For each rule, size N and load alpha = P/N: store P random patterns, start the
asynchronous dynamics at stored patterns (exactly, and with a fraction --flip of their
bits flipped), run to a fixed point, and record the final overlap m = (1/N) xi . sigma.
Hebb's rule J = xi^T xi / N loses its retrieval states at alpha_c = 0.138 (AGS, replica
symmetric, infinite N; overlap 0.967 there); pseudo-likelihood (eq. 10, trained to near
zero loss by L-BFGS) keeps every stored pattern a fixed point up to Gardner's alpha_c = 2
for each row (N -> inf). Finite N blurs both edges.

    perceptron_margin.py's companion; writes figures/am_capacity.png and .json

    python experiments/am_capacity.py            # default settings (a few minutes)
    python experiments/am_capacity.py --quick    # small sizes (seconds; the tests)

Every (rule, N, load, seed) point is a unit of `memkit.sweep`, cached under --cache by its
configuration: `--workers k` computes them in k processes, `--shard i/n` one shard of a
job array (docs/sweeps.md).
"""
from __future__ import annotations

import math
import sys
import textwrap
import time
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import amsim  # noqa: E402
from memkit import sweep  # noqa: E402
from memkit.cli import (OneLineErrorCommand, one_line_errors, parse_number_list, quick_settings,  # noqa: E402
                        sweep_options)
from memkit.io import check_outputs  # noqa: E402
from memkit.figures import FIGURES, save_data, save_figure, use_agg  # noqa: E402

NAME = "am_capacity"
VERSION = 1
BETA = 1.0


def make_patterns(N: int, alpha: float, seed: int) -> np.ndarray:
    P = max(1, int(round(alpha * N)))
    return amsim.random_patterns(P, N, seed=np.random.default_rng([seed, N, P, 17]))


def unit_point(cfg):
    """Train one network and measure retrieval from its stored patterns."""
    xi = make_patterns(cfg["N"], cfg["alpha"], cfg["seed"])
    P, N = xi.shape
    t0 = time.perf_counter()
    if cfg["rule"] == "hebb":
        net = amsim.HebbianMemory(beta=BETA).fit(xi)
    else:
        net = amsim.PseudoLikelihoodMemory(beta=BETA, solver="lbfgs", n_steps=cfg["pl_iters"],
                                           record_every=10 ** 6).fit(xi)
    t_train = time.perf_counter() - t0
    rng = np.random.default_rng([cfg["seed"], N, P, 19])
    refs = xi[: min(P, cfg["refs"])]
    D = net.margins(xi)  # (P, N) normalised stabilities
    out = {"P": int(P), "train_seconds": t_train,
           "stable_bits": float(np.mean(D > 0)),
           "fixed_points": float(np.mean(np.all(D > 0, axis=1)))}
    for tag, frac in (("f0", 0.0), ("flip", cfg["flip"])):
        k = int(round(frac * N))
        start = amsim.flip_bits(refs, k, seed=rng) if k > 0 else refs
        r = net.run(start, mode="async", seed=rng, max_sweeps=cfg["max_sweeps"])
        m = (r.states.astype(np.float64) * refs).mean(axis=1)
        out[tag] = {"overlap": np.round(m, 6).tolist(), "converged": float(r.converged.mean()), "k": k}
    return out


def parse_list(text, typ=float):
    return parse_number_list(text, typ)


def summarise(points):
    """Pool the per-reference overlaps of all seeds of one (rule, N, load)."""
    out = {}
    for tag in ("f0", "flip"):
        m = np.concatenate([np.asarray(p[tag]["overlap"]) for p in points])
        out[tag] = {"mean": float(m.mean()),
                    "sem": float(m.std(ddof=1) / math.sqrt(len(m))) if len(m) > 1 else 0.0,
                    "n": int(len(m)), "k": points[0][tag]["k"]}
    out["fixed_points"] = float(np.mean([p["fixed_points"] for p in points]))
    out["stable_bits"] = float(np.mean([p["stable_bits"] for p in points]))
    return out


def draw(res, s, out):
    plt = use_agg()
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    data = {"settings": s, "hebb": {}, "pl": {}}
    # --- Hebb
    ax = axes[0]
    aa = np.linspace(0.005, max(s["hebb_loads"]) + 0.01, 400)
    ags = amsim.ags_overlap(aa)
    ax.plot(aa, ags, "k-", lw=2, label="AGS theory, N -> inf (m = 0 past alpha_c)")
    ax.axvline(amsim.ags_alpha_c(), color="k", ls=":", lw=1, label=f"alpha_c = {amsim.ags_alpha_c():.3f}")
    data["hebb"]["ags"] = {"alpha": np.round(aa, 6).tolist(), "overlap": np.round(ags, 6).tolist(),
                           "alpha_c": amsim.ags_alpha_c()}
    for j, N in enumerate(s["hebb_sizes"]):
        xs, y0, e0, y1, e1 = [], [], [], [], []
        for a in s["hebb_loads"]:
            sm = res[("hebb", N, a)]
            xs.append(sm["P"] / N)
            y0.append(sm["f0"]["mean"]); e0.append(sm["f0"]["sem"])
            y1.append(sm["flip"]["mean"]); e1.append(sm["flip"]["sem"])
        ax.errorbar(xs, y0, yerr=e0, color=f"C{j}", marker="o", ms=4, capsize=2, lw=1.5,
                    label=f"N = {N}, from the pattern")
        ax.errorbar(xs, y1, yerr=e1, color=f"C{j}", marker="s", ms=3.5, capsize=2, lw=1, ls="--",
                    mfc="white", label=f"N = {N}, {s['flip']:.0%} flipped")
        data["hebb"][str(N)] = {"alpha": xs, "overlap_from_pattern": y0, "sem_from_pattern": e0,
                                "overlap_from_flipped": y1, "sem_from_flipped": e1,
                                "ags_at_alpha": np.round(amsim.ags_overlap(np.asarray(xs)), 6).tolist()}
    ax.set_xlabel("load alpha = P / N")
    ax.set_ylabel("final overlap m with the stored pattern")
    ax.set_title("Hebb's rule: retrieval breaks down near alpha_c = 0.138", fontsize=10)
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=6.5, loc="lower left")
    ax.grid(alpha=0.3)
    # --- PL
    ax, bx = axes[1], axes[2]
    for j, N in enumerate(s["pl_sizes"]):
        xs, y0, e0, y1, e1, fp, sb = [], [], [], [], [], [], []
        for a in s["pl_loads"]:
            sm = res[("pl", N, a)]
            xs.append(sm["P"] / N)
            y0.append(sm["f0"]["mean"]); e0.append(sm["f0"]["sem"])
            y1.append(sm["flip"]["mean"]); e1.append(sm["flip"]["sem"])
            fp.append(sm["fixed_points"]); sb.append(sm["stable_bits"])
        ax.errorbar(xs, y0, yerr=e0, color=f"C{j}", marker="o", ms=4, capsize=2, lw=1.5,
                    label=f"N = {N}, from the pattern")
        ax.errorbar(xs, y1, yerr=e1, color=f"C{j}", marker="s", ms=3.5, capsize=2, lw=1, ls="--",
                    mfc="white", label=f"N = {N}, {s['flip']:.0%} flipped")
        bx.plot(xs, fp, color=f"C{j}", marker="o", ms=4, lw=1.5, label=f"N = {N}: patterns that are fixed points")
        bx.plot(xs, sb, color=f"C{j}", marker="^", ms=4, lw=1, ls=":", label=f"N = {N}: stable bits (xi_i h_i > 0)")
        data["pl"][str(N)] = {"alpha": xs, "overlap_from_pattern": y0, "sem_from_pattern": e0,
                              "overlap_from_flipped": y1, "sem_from_flipped": e1,
                              "fraction_fixed_points": fp, "fraction_stable_bits": sb}
    for x in (ax, bx):
        x.axvline(2.0, color="C3", ls=":", lw=1.5, label="Gardner limit alpha_c = 2 (N -> inf)")
        x.set_xlabel("load alpha = P / N")
        x.set_ylim(-0.05, 1.05)
        x.grid(alpha=0.3)
    ax.set_ylabel("final overlap m with the stored pattern")
    ax.set_title("Pseudo-likelihood: retrieval from the pattern up to alpha ~ 1.5-1.9;\n"
                 "from 5% flipped starts it is lost much earlier", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    bx.set_ylabel("fraction")
    bx.set_title("PL: stored patterns that are exact fixed points\n(a pattern is lost once one of its N rows fails)",
                 fontsize=10)
    bx.legend(fontsize=7, loc="center left")
    cap = (f"Asynchronous dynamics (random order, at most {s['max_sweeps']} sweeps) started at up to {s['refs']} "
           f"stored patterns per network; error bars: standard error over patterns. Hebb: N = {s['hebb_sizes']}, "
           f"alpha = {s['hebb_loads'][0]}..{s['hebb_loads'][-1]}; PL (beta = {BETA}, L-BFGS, at most "
           f"{s['pl_iters']} iterations): N = {s['pl_sizes']}, alpha = {s['pl_loads']}; seeds per point "
           f"{s['seeds']} (base seed {s['seed']}).")
    fig.suptitle("Retrieval overlap against load, Hebb vs pseudo-likelihood\n" + textwrap.fill(cap, 190), fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / f"{NAME}.png")
    save_data(out / f"{NAME}.json", data)


@click.command(cls=OneLineErrorCommand)
@click.option("--hebb-sizes", default="250,500,1000,2000", show_default=True)
@click.option("--hebb-loads", default="0.02,0.04,0.06,0.08,0.1,0.12,0.13,0.14,0.15,0.16,0.18,0.2,0.22,0.25",
              show_default=True)
@click.option("--pl-sizes", default="50,100,200", show_default=True)
@click.option("--pl-loads", default="0.5,1.0,1.25,1.5,1.75,1.9,2.0,2.1,2.25,2.5,3.0", show_default=True)
@click.option("--pl-iters", type=int, default=500, show_default=True, help="L-BFGS iteration cap for PL")
@click.option("--refs", type=int, default=100, show_default=True, help="stored patterns probed per network")
@click.option("--min-refs", type=int, default=200, show_default=True,
              help="more seeds (networks) where one network has fewer stored patterns than this")
@click.option("--flip", type=float, default=0.05, show_default=True, help="fraction of bits flipped in the corrupted starts")
@click.option("--max-sweeps", type=int, default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=FIGURES, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "cache" / NAME,
              show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (seconds): what the tests run; options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(hebb_sizes, hebb_loads, pl_sizes, pl_loads, pl_iters, refs, min_refs, flip, max_sweeps, seed, out,
         cache, quick, shard, workers):
    """Retrieval overlap vs load for Hebb (AGS curve) and PL (Gardner limit) at several N."""
    from amsim._validate import check_couplings_memory
    from memkit.validate import check_count, check_number
    o = quick_settings(quick, dict(hebb_sizes=hebb_sizes, hebb_loads=hebb_loads, pl_sizes=pl_sizes,
                                   pl_loads=pl_loads, pl_iters=pl_iters, refs=refs, min_refs=min_refs),
                       dict(hebb_sizes="100,400", hebb_loads="0.04,0.08,0.3", pl_sizes="40,80",
                            pl_loads="1.0,3.0", pl_iters=200, refs=40, min_refs=60))
    hebb_sizes, hebb_loads, pl_sizes, pl_loads = o["hebb_sizes"], o["hebb_loads"], o["pl_sizes"], o["pl_loads"]
    pl_iters, refs, min_refs = o["pl_iters"], o["refs"], o["min_refs"]
    hs, ps = parse_number_list(hebb_sizes, int, "--hebb-sizes"), parse_number_list(pl_sizes, int, "--pl-sizes")
    hl, pll = parse_number_list(hebb_loads, float, "--hebb-loads"), parse_number_list(pl_loads, float, "--pl-loads")
    for name, vals in (("--hebb-sizes", hs), ("--pl-sizes", ps)):
        for v in vals:
            check_count(name, v, minimum=10)
    for name, vals in (("--hebb-loads", hl), ("--pl-loads", pll)):
        for v in vals:
            check_number(name, v, 0.0, low_open=True)
    check_count("--pl-iters", pl_iters)
    check_count("--refs", refs, minimum=2)
    check_count("--min-refs", min_refs)
    check_count("--max-sweeps", max_sweeps)
    check_count("--seed", seed, minimum=0)
    flip = check_number("--flip", flip, 0.0, 0.5, high_open=True)
    check_outputs(**{"--out": Path(out) / f"{NAME}.png", "--cache": Path(cache) / "unit.json"})
    check_couplings_memory(max(hs), int(max(hl) * max(hs)) + 1, "hebb",
                           what=f"--hebb-sizes {max(hs)} with --hebb-loads {max(hl):g} (N x N couplings)")
    check_couplings_memory(max(ps), int(max(pll) * max(ps)) + 1, "pl", "lbfgs",
                           what=f"--pl-sizes {max(ps)} with --pl-loads {max(pll):g} (N x N couplings)")
    seeds = {}
    tasks = []
    for rule, sizes, loads in (("hebb", hs, hl), ("pl", ps, pll)):
        for N in sizes:
            for a in loads:
                P = max(1, int(round(a * N)))
                n_seeds = max(1, math.ceil(min_refs / min(P, refs)))
                seeds[f"{rule}/{N}/{a}"] = n_seeds
                for k in range(n_seeds):
                    cfg = {"v": VERSION, "rule": rule, "N": N, "alpha": a, "seed": seed + k, "refs": refs,
                           "flip": flip, "max_sweeps": max_sweeps, "beta": BETA}
                    if rule == "pl":
                        cfg["pl_iters"] = pl_iters
                    tasks.append(((rule, N, a), cfg))
    # cheap points first: order by the cost of a PL step ~ P N^2
    tasks.sort(key=lambda t: (t[1]["rule"] == "pl", t[1]["N"] ** 2 * t[1]["alpha"]))
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(cfg, unit_point, (cfg,)) for _, cfg in tasks], cache, shard=shard,
                    workers=workers, desc=NAME, unit_name="point")
    if not run.complete:
        click.echo(f"{NAME}: {run.summary()}; run without --shard to draw the figure")
        return
    raw = {}
    for (key, _), r in zip(tasks, run.results):
        raw.setdefault(key, []).append(r)
    click.echo(f"{NAME}: {len(tasks)} points, {run.read} from the cache, {run.computed} computed "
               f"in {time.perf_counter() - t0:.1f} s; drawing into {out}")
    res = {}
    for key, pts in raw.items():
        sm = summarise(pts)
        sm["P"] = pts[0]["P"]
        res[key] = sm
    s = {"hebb_sizes": hs, "hebb_loads": hl, "pl_sizes": ps, "pl_loads": pll, "pl_iters": pl_iters, "refs": refs,
         "min_refs": min_refs, "flip": flip, "max_sweeps": max_sweeps, "seed": seed, "seeds": _seed_summary(seeds),
         "seeds_per_point": seeds, "quick": quick, "beta": BETA}
    out.mkdir(parents=True, exist_ok=True)
    draw(res, s, out)
    click.echo(f"wrote {out / (NAME + '.png')} and {NAME}.json")


def _seed_summary(seeds):
    vals = sorted(set(seeds.values()))
    return f"{vals[0]}-{vals[-1]}" if len(vals) > 1 else str(vals[0])


if __name__ == "__main__":
    main()
