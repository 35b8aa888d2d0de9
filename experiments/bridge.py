"""One experiment, two memories: a Hopfield network and a diffusion model on the same data.

Random ±1 patterns, or random-features data (N bits, P examples, unseen test examples,
the hidden features), are stored in a pseudo-likelihood network (eq. 10; Hebb for
reference) and in K = 2 diffusion models of length N (each bit a token): the linear NELBO
denoiser of `uddm.linear` (no attention, no depth) and, optionally, the DiT. Every model
is probed with the same protocol on the same corrupted starts (round(f N) flipped bits;
the diffusion models start their reverse process at alpha_t = 1 - 2 f): final overlap,
recovery (eq. 12) and conditional entropy (eq. 9 / eq. 13), against the load P/N.

    python experiments/bridge.py --quick          # seconds: what the tests run
    python experiments/bridge.py                  # the default sizes (N = 64)
    python experiments/bridge.py --dit-steps 1500 # add the DiT (K = 2, cpu-xxs)
"""
from __future__ import annotations

import click
import numpy as np

import amsim
from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, sweep_options
from memkit.figures import save_data, save_figure, use_agg
from memkit.binary import spins_to_tokens
from memkit.measures import coupling_agreement, mean_sem
from memkit.protocol import same_start_curves
from uddm.bridge import spin_retriever, train_dit_on_patterns
from uddm.linear import train_linear_denoiser

SETS = ("train", "test", "features")
THRESHOLD = 0.95


def _rng(*key):
    return np.random.default_rng([int(k) for k in key])


def unit_data(key):
    """(train, test, features or None) of one unit, int8 (M, N)."""
    N, P, s, R = key["N"], key["P"], key["seed"], key["refs"]
    if key["data"] == "random":
        return amsim.random_patterns(P, N, seed=_rng(s, 1)), amsim.random_patterns(R, N, seed=_rng(s, 2)), None
    model = amsim.RandomFeaturesModel(N, key["D"], features_per_example=3, seed=_rng(s, 1))
    train = model.sample(P, seed=_rng(s, 2))
    return train, amsim.unseen(model.sample(4 * R, seed=_rng(s, 3)), train)[:R], model.features_


def _flip(s, f, rng):
    return amsim.flip_bits(s, int(round(f * s.shape[-1])), seed=rng)


def compute(key):
    """One (data, P, seed): every model trained and probed on the same starts."""
    train, test, feats = unit_data(key)
    beta = key["beta"]
    pl = amsim.PseudoLikelihoodMemory(beta=beta, solver="lbfgs", n_steps=key["pl_steps"]).fit(train)
    hebb = amsim.HebbianMemory(beta=beta).fit(train)
    lin = train_linear_denoiser(spins_to_tokens(train), steps=key["lin_steps"], batch_size=256,
                                lr=0.02, seed=key["seed"]).model
    models = {"PL": (amsim.AMRetriever(pl), ["deterministic"]),
              "Hebb": (amsim.AMRetriever(hebb), ["deterministic"]),
              "linear NELBO": (spin_retriever(lin, _flip, steps=key["steps"]), ["greedy", "ancestral"])}
    if key["dit_steps"]:
        dit = train_dit_on_patterns(train, steps=key["dit_steps"], seed=key["seed"]).model
        models["DiT"] = (spin_retriever(dit, _flip, steps=key["steps"]), ["greedy", "ancestral"])
    sets = {"train": train[:key["refs"]], "test": test, "features": feats}
    out = {"curves": {}, "couplings": {
        "linear_vs_PL": coupling_agreement(lin.effective_couplings(0.01), beta * pl.J_),
        "Hebb_vs_PL": coupling_agreement(beta * hebb.J_, beta * pl.J_)}}
    for name, (ret, dyns) in models.items():
        for dyn in dyns:
            label = name if len(dyns) == 1 else f"{name} ({dyn})"
            out["curves"][label] = {s: same_start_curves(ret, refs, key["fractions"], key["trials"], dyn,
                                                         (key["seed"], 7, i), THRESHOLD)
                                    for i, (s, refs) in enumerate(sets.items()) if refs is not None}
    return out


def aggregate(keys, results, loads):
    """{data: {model: {set: [mean, sem] radius per load}}, couplings per load}, SEM over seeds."""
    out = {}
    for data in sorted({k["data"] for k in keys}):
        d = out.setdefault(data, {"radius": {}, "couplings": {}})
        for P_over_N in loads:
            rows = [r for k, r in zip(keys, results) if k["data"] == data and k["P"] == round(P_over_N * k["N"])]
            for label in rows[0]["curves"]:
                for s in rows[0]["curves"][label]:
                    m = d["radius"].setdefault(label, {}).setdefault(s, [])
                    m.append(list(mean_sem([r["curves"][label][s]["radius"] for r in rows])))
            for pair in rows[0]["couplings"]:
                for what in ("rel_distance", "correlation"):
                    d["couplings"].setdefault(f"{pair} {what}", []).append(
                        list(mean_sem([r["couplings"][pair][what] for r in rows])))
    return out


def plot(agg, loads, caption, out):
    import matplotlib.pyplot as plt
    for data, d in agg.items():
        sets = [s for s in SETS if any(s in v for v in d["radius"].values())]
        fig, axes = plt.subplots(1, len(sets) + 1, figsize=(4.2 * (len(sets) + 1), 3.8))
        for ax, s in zip(axes, sets):
            for label, v in d["radius"].items():
                if s in v:
                    m, e = np.array(v[s]).T
                    ax.errorbar(loads, m, e, marker="o", ms=3, capsize=2, label=label)
            ax.set(xscale="log", xlabel="load P/N", ylabel=f"basin radius ({s} starts)", title=s)
        ax = axes[-1]
        for label, v in d["couplings"].items():
            m, e = np.array(v).T
            ax.errorbar(loads, m, e, marker="s", ms=3, capsize=2, label=label)
        ax.set(xscale="log", xlabel="load P/N", ylabel="coupling agreement", title="couplings vs PL")
        for a in axes:
            a.set_xticks(loads, [f"{x:g}" for x in loads])
            a.minorticks_off()
        axes[0].legend(loc="upper center", bbox_to_anchor=(1.1, -0.18), ncol=3, fontsize=7)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7)
        fig.suptitle(f"bridge, {data} data: {caption}", fontsize=8)
        fig.subplots_adjust(bottom=0.32, wspace=0.3)
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
    keys = [{"kind": "bridge", "version": 1, "data": d, "N": n, "P": max(2, round(a * n)), "seed": s,
             "D": D, "refs": refs, "trials": trials, "beta": 1.0, "pl_steps": 300, "lin_steps": lin_steps,
             "dit_steps": dit_steps, "steps": 64, "fractions": fractions}
            for d in datas for a in loads for s in range(seeds)]
    run = sweep.run([sweep.Unit(k, compute, (k,)) for k in keys], cache, shard=shard, workers=workers,
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
