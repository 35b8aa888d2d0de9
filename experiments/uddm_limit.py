#!/usr/bin/env python
"""Has the sweep trained to the limit? Its two ends against the exact Bayes model.

Trains and measures (or reads from the sweep cache) the points of a preset at its
smallest and largest training sets, every model and seed, and the exact model of the
source on each seed's corrupted starts; then checks the sweep issue's targets
(`uddm.sweep.limit`). Left: at the largest set, the paired test-recovery difference
model - exact model at t = 0.1 and 0.25 per seed (error bars: SEM of the paired
difference over references), the exact model at 0 and the +-0.03 target band. Middle:
the training-vs-generated sequence-entropy statistic A = P(H_train < H_gen) per seed
against the exact model's (its band: 2 combined standard errors). Right: at the
smallest set, training and test recovery at t = 0.1 and the fraction of generated
sequences that copy a training sequence, with the targets as lines.

    python experiments/uddm_limit.py --workers 2           # cpu-limit preset, both ends
    python experiments/uddm_limit.py --preset cpu          # the same check of the cpu sweep
    python experiments/uddm_limit.py --preset quick        # minutes (the tests)
"""
from __future__ import annotations

from pathlib import Path

import click

from memkit import figures as mfig
from memkit.cli import sweep_options
from memkit.figures import legend_outside, use_agg
from uddm.sweep import describe, get_preset, run_units
from uddm.sweep.limit import LIMIT_PRESET, LIMIT_TIMES, MEMORISE, limit_check
from uddm.sweep.options import cache_option


def _nan(values):
    """None (a paired difference with fewer than 2 references) as NaN, which matplotlib skips."""
    return [float("nan") if v is None else v for v in values]


def load(progress: bool, preset: str, cache: str, shard=None, workers: int = 1):
    from memkit.io import check_outputs
    check_outputs(**{"--cache": Path(cache) / "models" / "x.pt"})
    cfg = get_preset(preset)
    if not cfg.is_markov or not cfg.exact:
        raise click.UsageError(f"preset {preset} has no exact model (a Markov corpus is needed)")
    ends = sorted({0, len(cfg.sizes) - 1})
    run = run_units(cfg, cache, exact=True, shard=shard, workers=workers, progress=progress,
                    size_indices=ends)
    if not run.complete:
        raise mfig.NotReady(f"uddm limit {cfg.name}: {run.summary()}; run again without "
                            "--shard once every shard is done")
    return cfg, run.results


def make(cfg, results):
    plt = use_agg()
    check = limit_check(cfg, results)
    big, small = check["largest"], check.get("smallest")
    models = list(big["models"])
    fig, axes = plt.subplots(1, 3, figsize=(14.0, 4.2), gridspec_kw={"width_ratios": [1.3, 1, 1.2]})
    ax = axes[0]
    for k, t in enumerate(LIMIT_TIMES):
        for i, m in enumerate(models):
            seeds = big["models"][m]["seeds"]
            xs = [i + 0.25 * (k - 0.5) + 0.05 * (j - (len(seeds) - 1) / 2) for j in range(len(seeds))]
            ys = _nan(s["paired_vs_exact"][t][0] for s in seeds)
            es = _nan(s["paired_vs_exact"][t][1] for s in seeds)
            ax.errorbar(xs, ys, es, color=f"C{k}", ls="none", marker="o", ms=4, capsize=2,
                        label=f"t = {t} (one point per seed)")
    ax.axhspan(-check["tolerance"], check["tolerance"], color="0.85", label="target: within 0.03")
    ax.axhline(0, color="k", ls="-.", lw=1.5, label="exact Bayes model")
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("test recovery, model - exact model (paired)")
    ax.set_title(f"largest set: {big['n_train']} sequences")
    ax.grid(alpha=0.3)

    ax = axes[1]
    ax.axhline(0.5, color="0.4", ls=":", lw=1, label="A = 0.5: same distribution")
    for i, m in enumerate(models):
        seeds = big["models"][m]["seeds"]
        xs = [i + 0.08 * (j - (len(seeds) - 1) / 2) for j in range(len(seeds))]
        ax.errorbar(xs, _nan(s["A"] for s in seeds), _nan(s["A_se"] for s in seeds), color="C2",
                    ls="none", marker="s", ms=4, capsize=2, label="model, per seed (DeLong SE)")
        ax.errorbar([x + 0.03 for x in xs], [s["A_exact"] for s in seeds],
                    [s["A_band"] for s in seeds], color="k", ls="none", marker="_", ms=8,
                    capsize=0, elinewidth=4, alpha=0.3,
                    label="exact model's A on the same seed (bar: 2 combined SE)")
    ax.set_xticks(range(len(models)), models)
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel("A = P(H_train < H_generated)")
    ax.set_title("sequence entropy (eq. 13), largest set")
    ax.grid(alpha=0.3)

    ax = axes[2]
    if small is not None:
        names = (("train_recovery", "training recovery", MEMORISE["train"], "C0"),
                 ("test_recovery", "test recovery", MEMORISE["test"], "C1"),
                 ("copies", "generated copies", MEMORISE["copies"], "C3"))
        for k, (key, label, target, c) in enumerate(names):
            for i, m in enumerate(models):
                seeds = small["models"][m]["seeds"]
                xs = [i + 0.25 * (k - 1) + 0.05 * (j - (len(seeds) - 1) / 2) for j in range(len(seeds))]
                ax.plot(xs, [s[key] for s in seeds], color=c, ls="none", marker="o", ms=4,
                        label=f"{label} (target {'>=' if key != 'test_recovery' else '<='} {target:g})")
                ax.plot([i + 0.25 * (k - 1) - 0.1, i + 0.25 * (k - 1) + 0.1], [target] * 2,
                        color=c, lw=1)
        ax.set_title(f"smallest set: {small['n_train']} sequences (t = 0.1)")
    ax.set_xticks(range(len(models)), models)
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("fraction")
    ax.grid(alpha=0.3)
    for a in axes:
        a.set_xlabel("model")
        a.set_xlim(-0.5, len(models) - 0.5)
    legend_outside(fig, axes)              # one legend for the three panels, right of them
    fig.suptitle(f"Trained to the limit? {cfg.name} preset: {'all targets met' if check['met'] else 'targets missed'}")
    mfig.caption(fig, describe(cfg, results),
                 f"{cfg.n_refs} training / {cfg.n_refs} test references per point and seed; "
                 f"paired = the same corrupted starts for model and exact model; targets of the "
                 f"sweep issue (uddm.sweep.limit)")
    fig.tight_layout()
    return fig, {"check": check}


main = mfig.figure_command(
    "uddm_limit", __doc__, load=load, describe=describe,
    options=[click.option("--preset", default=LIMIT_PRESET, show_default=True,
                          help="Sweep preset (uddm.sweep.PRESETS)."),
             cache_option, sweep_options],
    record=lambda cfg, results: {"preset": cfg.name, "sweep": cfg.to_dict()})(make)


if __name__ == "__main__":
    main()
