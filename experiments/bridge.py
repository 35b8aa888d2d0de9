"""One experiment, two memories: a Hopfield network and a diffusion model on the same data.

Random ±1 patterns, or random-features data (N bits, P examples, unseen test examples,
the hidden features), are stored in a pseudo-likelihood network (eq. 10; Hebb for
reference) and in K = 2 diffusion models of length N (each bit a token): the linear NELBO
denoiser of `uddm.linear` (no attention, no depth) and, optionally, the DiT. Every model
is probed with the same protocol on the same corrupted starts (round(f N) flipped bits;
the diffusion models start their reverse process at alpha_t = 1 - 2 f): final overlap,
recovery (eq. 12) and conditional entropy (eq. 9 / eq. 13), against the load P/N.

    python experiments/bridge.py --quick              # seconds: what the tests run
    python experiments/bridge.py --workers 2          # the default sizes (N = 64): under a minute on 2 cores
    python experiments/bridge.py --dit-steps 1000     # add the DiT (K = 2, cpu-xxs; it does not learn
                                                      # random patterns in this budget: docs/science-uddm.md)

The science (data, models, the unit, the averages and transition loads) is in
`uddm.bridge_study`; this script holds the options and the plots.
"""
from __future__ import annotations

import click
import numpy as np

from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, sweep_options
from memkit.figures import save_data, save_figure, use_agg
from uddm.bridge_study import SETS, THRESHOLD, aggregate, compute_unit, examples_at_load

def plot(agg, loads, caption, out):
    """Per data set: basin radius against load for each start set, the coupling
    agreement with PL, and each model's transition loads (mean ± SEM over seeds)."""
    import matplotlib.pyplot as plt
    for data, d in agg.items():
        sets = [s for s in SETS if any(s in v for v in d["radius"].values())]
        fig, axes = plt.subplots(1, len(sets) + 2, figsize=(4.0 * (len(sets) + 2), 3.9))
        for ax, s in zip(axes, sets):
            for label, v in d["radius"].items():
                if s in v:
                    m, e = np.array(v[s]).T
                    ax.errorbar(loads, m, e, marker="o", ms=3, capsize=2, label=label)
            ax.set(xscale="log", xlabel="load P/N", ylabel=f"basin radius f ({s} starts)", title=s)
        ax = axes[len(sets)]
        for label, v in d["couplings"].items():
            m, e = np.array(v).T
            ax.errorbar(loads, m, e, marker="s", ms=3, capsize=2, label=label)
        ax.set(xscale="log", xlabel="load P/N", ylabel="coupling agreement", title="couplings vs PL")
        for a in axes[:-1]:
            a.set_xticks(loads, [f"{x:g}" for x in loads])
            a.minorticks_off()
        ax_t = axes[-1]
        labels = list(d["transition"])
        names = {"half_test": "test radius reaches half its max", "meet": "test radius meets train"}
        for j, (what, marker, colour) in enumerate((("half_test", "o", "k"), ("meet", "D", "0.55"))):
            shown = False
            for i, label in enumerate(labels):
                m, e, n = d["transition"][label][what]
                if n:
                    ax_t.errorbar(m, i + 0.15 * (2 * j - 1), xerr=e, fmt=marker, ms=4, capsize=2,
                                  color=colour, label=None if shown else names[what])
                    shown = True
        ax_t.set(xscale="log", yticks=range(len(labels)), xlabel="transition load P/N",
                 title="memorising -> generalising\n(mean +- SEM over seeds; none: not on the grid)",
                 ylim=(-0.6, len(labels) - 0.4))
        ax_t.title.set_fontsize(9)
        ax_t.set_yticklabels(labels, fontsize=7)
        ax_t.set_xlim(loads[0] / 1.5, loads[-1] * 1.5)
        axes[0].legend(loc="upper center", bbox_to_anchor=(1.1, -0.27), ncol=3, fontsize=7)
        axes[len(sets)].legend(loc="upper center", bbox_to_anchor=(0.5, -0.27), fontsize=7)
        ax_t.legend(loc="upper center", bbox_to_anchor=(0.5, -0.27), fontsize=7)
        fig.suptitle(f"bridge, {data} data: {caption}", fontsize=8)
        fig.subplots_adjust(bottom=0.36, top=0.80, wspace=0.35)
        ax_t.set_position(ax_t.get_position().translated(0.04, 0))
        save_figure(fig, out / f"bridge_{data}.png")
        plt.close(fig)


@click.command(cls=OneLineErrorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "datas", type=click.Choice(["random", "features"]), multiple=True,
              default=("random", "features"), show_default=True)
@click.option("-N", "n", type=int, default=64, show_default=True, help="Bits (= tokens) per pattern.")
@click.option("--features", "D", type=int, default=8, show_default=True, help="Hidden features (features data).")
@click.option("--loads", default="0.125,0.25,0.5,1,2,4", show_default=True, help="P/N values.")
@click.option("--seeds", type=int, default=3, show_default=True)
@click.option("--refs", type=int, default=24, show_default=True, help="References per set.")
@click.option("--trials", type=int, default=2, show_default=True)
@click.option("--lin-steps", type=int, default=600, show_default=True, help="NELBO steps of the linear denoiser.")
@click.option("--dit-steps", type=int, default=0, show_default=True, help="NELBO steps of the DiT (0: no DiT).")
@click.option("--quick", is_flag=True, help="Small sizes (what the tests run).")
@click.option("--out", type=click.Path(file_okay=False), default="figures", show_default=True)
@click.option("--cache", type=click.Path(file_okay=False), default="cache/bridge", show_default=True)
@sweep_options
@one_line_errors
def main(datas, n, D, loads, seeds, refs, trials, lin_steps, dit_steps, quick, out, cache, shard, workers):
    from pathlib import Path
    if quick:
        n, loads, seeds, refs, lin_steps = 24, "0.25,1,4", 2, 8, 150
    loads = parse_number_list(loads, float, "--loads")
    for name, v in (("-N", n), ("--seeds", seeds), ("--refs", refs), ("--trials", trials), ("--lin-steps", lin_steps)):
        if v < 1:
            raise click.BadParameter(f"must be >= 1, got {v}", param_hint=name)
    if dit_steps < 0 or any(not l > 0 for l in loads):
        raise click.BadParameter(f"loads must be > 0 and --dit-steps >= 0, got {loads} and {dit_steps}")
    fractions = [round(x, 4) for x in np.linspace(0, 0.45, 10 if not quick else 4)]
    keys = [{"kind": "bridge", "version": 1, "data": d, "N": n, "P": examples_at_load(a, n), "seed": s,
             "D": D, "refs": refs, "trials": trials, "beta": 1.0, "pl_steps": 300, "lin_steps": lin_steps,
             "dit_steps": dit_steps, "steps": 64, "fractions": fractions}
            for d in datas for a in loads for s in range(seeds)]
    run = sweep.run([sweep.Unit(k, compute_unit, (k,)) for k in keys], cache, shard=shard, workers=workers,
                    desc="bridge")
    if any(r is None for r in run.results):
        click.echo(run.summary())
        return
    use_agg()
    out = Path(out)
    agg = aggregate(keys, run.results, loads)
    caption = (f"N = {n}, loads {loads}, {seeds} seeds, {refs} refs x {trials} trials per f in [0, 0.45]; "
               f"PL beta 1 L-BFGS 300; linear NELBO {lin_steps} steps; DiT {dit_steps or 'none'}; "
               f"radius at overlap {THRESHOLD}")
    plot(agg, loads, caption, out)
    save_data(out / "bridge.json", {"caption": caption, "loads": loads, "fractions": fractions,
                                    "aggregate": agg, "units": [dict(k, result=r) for k, r in zip(keys, run.results)]})
    click.echo(f"wrote {out}/bridge_*.png and bridge.json")


if __name__ == "__main__":
    main()
