"""The `amsim` command line: train a network, measure its basins, run the census.

    amsim train --data random -N 200 --alpha 0.5 --rule pl -o net.npz
    amsim basins net.npz --on training --csv basins.csv --png basins.png
    amsim census net.npz --starts 500
    amsim demo

Every command prints one line and exits with status 2 on a bad value.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
import numpy as np

from memkit.cli import OneLineErrorGroup, UserError, one_line_errors
from memkit.io import atomic_write, check_outputs
from memkit.validate import check_count, check_memory, check_number

DATA_MODELS = ("random", "features", "archetypes")


def _positive(name):
    def check(ctx, param, value):
        if value is not None and not np.isfinite(value):
            raise UserError(f"--{name} must be finite and > 0, got {value}")
        if value is not None and value <= 0:
            raise UserError(f"--{name} must be > 0, got {value}")
        return value

    return check


@click.group(cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="genmem", prog_name="amsim")
def main():
    """Binary associative memories: store patterns, then watch them be retrieved.

    A network of N +-1 neurons with couplings J (h = J sigma) stores patterns
    as fixed points of sigma_i <- sign(h_i). Hebb's rule stores about 0.138 N
    random patterns; pseudo-likelihood (PL) learning stores up to 2 N and
    widens the basins of attraction. A typical session:

    \b
      amsim train --data random -N 200 --alpha 0.1 --rule pl -o pl.npz
      amsim basins pl.npz --on training --png pl_basins.png
      amsim train --data features -N 200 --features 20 --alpha 0.5 -o rf.npz
      amsim census rf.npz --starts 500

    Run `amsim COMMAND --help` for the options of each command.
    """


# ------------------------------------------------------------------ train
@main.command()
@click.option("--data", type=click.Choice(DATA_MODELS), default="random", show_default=True,
              help="random: independent patterns. features: examples built from D hidden "
                   "features (L per example). archetypes: noisy copies of K archetypes.")
@click.option("-N", "--neurons", "n_neurons", type=int, default=200, show_default=True,
              callback=_positive("neurons"), help="Number of neurons N.")
@click.option("-P", "--patterns", "n_patterns", type=int, default=None, callback=_positive("patterns"),
              help="Number of training patterns P (or give --alpha). For archetypes, "
                   "P = K x examples per archetype.")
@click.option("--alpha", type=float, default=None, callback=_positive("alpha"),
              help="Load alpha = P / N (alternative to --patterns). Default 0.1.")
@click.option("--features", "n_features", type=int, default=20, show_default=True,
              callback=_positive("features"), help="[features] number of hidden features D.")
@click.option("--per-example", "per_example", type=int, default=3, show_default=True,
              callback=_positive("per-example"), help="[features] features mixed per example, L.")
@click.option("--archetypes", "n_archetypes", type=int, default=5, show_default=True,
              callback=_positive("archetypes"), help="[archetypes] number of archetypes K.")
@click.option("--quality", type=float, default=0.6, show_default=True,
              help="[archetypes] expected overlap r of an example with its archetype, in [0, 1].")
@click.option("--test", "n_test", type=int, default=100, show_default=True,
              help="Unseen test examples drawn from the same model (stored with the network; "
                   "ignored for random data).")
@click.option("--rule", type=click.Choice(["hebb", "pl", "maxmargin"]), default="pl", show_default=True,
              help="hebb: J = xi^T xi / N. pl: pseudo-likelihood (eq. 10). maxmargin: the exact "
                   "max-margin row solutions that long PL training approaches.")
@click.option("--beta", type=float, default=1.0, show_default=True,
              help="Inverse temperature (> 0) of the conditional probabilities (eq. 9).")
@click.option("--steps", type=int, default=1000, show_default=True, help="[pl] training iterations.")
@click.option("--solver", type=click.Choice(["gd", "lbfgs"]), default="gd", show_default=True,
              help="[pl] full-batch gradient descent or quasi-Newton L-BFGS.")
@click.option("--schedule", type=click.Choice(["constant", "normalised"]), default="constant",
              show_default=True, help="[pl, gd] constant step, or per-row normalised gradient steps.")
@click.option("--lr", type=float, default=None, help="[pl, gd] step size (default: a safe automatic step).")
@click.option("--l2", type=float, default=0.0, show_default=True, help="[pl] L2 strength (objective L/P + l2 |J|^2).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the data (same seed, same network).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="network.npz", show_default=True,
              help="Where to save the network (.npz).")
@one_line_errors
def train(data, n_neurons, n_patterns, alpha, n_features, per_example, n_archetypes, quality,
          n_test, rule, beta, steps, solver, schedule, lr, l2, seed, out):
    """Generate data, learn couplings and save the network (with its data) to OUT.

    \b
    Example: amsim train --data random -N 500 --alpha 1.0 --rule pl --steps 2000 -o pl.npz
    """
    from amsim.patterns import ArchetypeModel, RandomFeaturesModel, random_patterns
    from amsim.memory import RULES

    from amsim._validate import check_couplings_memory

    check_outputs(**{"--out": out})
    beta = check_number("--beta", beta, 0.0, low_open=True)
    l2 = check_number("--l2", l2, 0.0)
    if lr is not None:
        lr = check_number("--lr", lr, 0.0, low_open=True)
    quality = check_number("--quality", quality, 0.0, 1.0)
    n_neurons = check_count("--neurons", n_neurons, minimum=2)
    n_test = check_count("--test", n_test, minimum=0)
    steps = check_count("--steps", steps, minimum=0)
    seed = check_count("--seed", seed, minimum=0)
    if n_patterns is not None and alpha is not None:
        raise UserError("give either --patterns or --alpha, not both")
    if n_patterns is None:
        a = check_number("--alpha", alpha if alpha is not None else 0.1, 0.0, low_open=True)
        check_memory(f"--alpha {a:g} with N = {n_neurons} (P x N patterns)", a * n_neurons * n_neurons)
        n_patterns = int(round(a * n_neurons))
        if n_patterns < 1:
            raise UserError(f"--alpha {alpha} with N = {n_neurons} gives P = {n_patterns} < 1 pattern")
    load = n_patterns / n_neurons
    check_couplings_memory(n_neurons, n_patterns + n_test, rule, solver,
                           what=f"-N {n_neurons} with P = {n_patterns} patterns (--rule {rule}: "
                                f"N x N couplings)")
    if rule == "maxmargin" and data == "random" and load >= 2:
        raise UserError(f"--rule maxmargin needs separable data: random patterns at alpha = {load:g} >= 2 "
                        "(Gardner's capacity) have no max-margin solution")
    if data == "features" and per_example > n_features:
        raise UserError(f"--per-example {per_example} is larger than --features {n_features}")
    if data == "archetypes" and n_patterns % n_archetypes:
        raise UserError(f"--patterns {n_patterns} is not a multiple of --archetypes {n_archetypes}")
    cls = RULES[rule]
    if rule == "pl":
        net = cls(beta=beta, l2=l2, solver=solver, schedule=schedule, learning_rate=lr, n_steps=steps)
    else:
        net = cls(beta=beta)
    rng = np.random.default_rng(seed)
    arrays = {}
    if data == "random":
        train_x = random_patterns(n_patterns, n_neurons, seed=rng)
    elif data == "features":
        model = RandomFeaturesModel(n_neurons, n_features, per_example, seed=rng)
        train_x = model.sample(n_patterns, seed=rng)
        arrays["hidden"] = model.features_
        if n_test:
            arrays["test"] = model.sample(n_test, seed=rng)
    else:
        model = ArchetypeModel(n_neurons, n_archetypes, quality, seed=rng)
        train_x = model.sample(n_patterns // n_archetypes, seed=rng)
        arrays["hidden"] = model.archetypes_
        if n_test:
            arrays["test"] = model.sample(max(1, n_test // n_archetypes), seed=rng)
    if rule == "pl":
        net.fit(train_x, progress=sys.stderr.isatty())
    else:
        net.fit(train_x)
    meta = {"data": data, "n_neurons": n_neurons, "n_patterns": n_patterns, "seed": seed}
    if data == "features":
        meta.update(n_features=n_features, per_example=per_example)
    if data == "archetypes":
        meta.update(n_archetypes=n_archetypes, quality=quality)
    net.save(out, meta=meta, training=train_x, **arrays)
    stab = net.margins(train_x)
    fixed = net.is_fixed_point(train_x).mean()
    click.echo(f"trained {rule} on {data} data: N = {n_neurons}, P = {n_patterns} (alpha = {load:.3g}), "
               f"beta = {beta:g}")
    click.echo(f"training patterns that are fixed points: {fixed:.1%}; smallest normalised margin "
               f"{np.nanmin(stab):.4f}, mean row minimum {np.nanmean(np.nanmin(stab, axis=0)):.4f}")
    click.echo(f"saved to {out}")


def _load(path):
    from amsim.io import load_network

    return load_network(path)


def _parse_fractions(text: str) -> np.ndarray:
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            if not 1 <= int(n) <= 10_000:
                raise UserError(f"--fractions count must be in [1, 10000], got {n} in {text!r}")
            f = np.linspace(float(lo), float(hi), int(n))
        else:
            f = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise UserError(f"--fractions must be 'a,b,c' or 'start:stop:count', got {text!r}") from None
    if f.size == 0 or not np.all((f >= 0) & (f <= 1)) or np.any(np.diff(f) <= 0):
        raise UserError(f"--fractions must be increasing values in [0, 1], got {text!r}")
    return f


# ------------------------------------------------------------------ basins
@main.command()
@click.argument("network", type=click.Path(dir_okay=False))
@click.option("--on", "sets", multiple=True, default=("training",), show_default=True,
              help="Reference set(s) stored in the network file: training, test, hidden. Repeatable.")
@click.option("--fractions", default="0:0.5:11", show_default=True,
              help="Flipped fractions f: 'start:stop:count' or a comma list.")
@click.option("--references", "n_refs", type=int, default=50, show_default=True,
              help="At most this many references per set (the first ones).")
@click.option("--trials", type=int, default=5, show_default=True, help="Corrupted copies per reference and f.")
@click.option("--mode", type=click.Choice(["async", "sync"]), default="async", show_default=True,
              help="Dynamics: asynchronous (random order each sweep) or synchronous.")
@click.option("--max-sweeps", type=int, default=100, show_default=True, help="Sweep cap per trial.")
@click.option("--threshold", type=float, default=0.95, show_default=True,
              help="Basin radius = largest f with mean overlap >= threshold.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write the table to this CSV file.")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), default=None,
              help="Write the overlap-versus-f figure to this PNG file.")
@one_line_errors
def basins(network, sets, fractions, n_refs, trials, mode, max_sweeps, threshold, seed, csv_path, png_path):
    """Measure the basins of attraction of a saved NETWORK.

    Flip exactly k = round(f N) bits of each reference, run the dynamics and
    report the mean final overlap (signed and absolute), the recovery rate of
    the flipped bits, and the basin radius.
    """
    from amsim._validate import check_states_memory
    from amsim.basins import basin_curve

    check_outputs(**{"--csv": csv_path, "--png": png_path})
    for name, val in (("--references", n_refs), ("--trials", trials), ("--max-sweeps", max_sweeps)):
        check_count(name, val)
    check_count("--seed", seed, minimum=0)
    threshold = check_number("--threshold", threshold, -1.0, 1.0)
    f = _parse_fractions(fractions)
    net, meta, arrays = _load(network)
    for name in sets:
        if name not in arrays:
            raise UserError(f"the network file has no '{name}' set (it has: {', '.join(arrays) or 'none'})")
        n = min(n_refs, len(arrays[name]))
        check_states_memory(f.size * n * trials, net.n_neurons,
                            f"--trials {trials} x --references {n} x {f.size} fractions "
                            f"of N = {net.n_neurons} neurons")
    rows, curves = [], {}
    rng = np.random.default_rng(seed)
    for name in sets:
        if name not in arrays:
            raise UserError(f"the network file has no '{name}' set (it has: {', '.join(arrays) or 'none'})")
        c = basin_curve(net, arrays[name][:n_refs], f, n_trials=trials, mode=mode,
                        max_sweeps=max_sweeps, seed=rng)
        curves[name] = c
        m, ma, se, rec = c.mean_overlap(), c.mean_overlap(True), c.sem_overlap(), c.mean_recovery()
        conv = c.converged.mean(axis=(1, 2))
        for a in range(f.size):
            rows.append({"set": name, "fraction": f[a], "overlap": m[a], "abs_overlap": ma[a],
                         "sem": se[a], "recovery": rec[a], "converged": conv[a]})
    click.echo(f"{'set':>9} {'f':>6} {'overlap':>8} {'|overlap|':>9} {'sem':>7} {'recovery':>9} {'converged':>9}")
    for r in rows:
        click.echo(f"{r['set']:>9} {r['fraction']:6.3f} {r['overlap']:8.4f} {r['abs_overlap']:9.4f} "
                   f"{r['sem']:7.4f} {r['recovery']:9.4f} {r['converged']:9.3f}")
    for name, c in curves.items():
        click.echo(f"basin radius ({name}, threshold {threshold}): {c.radius(threshold):.3f}")
    if csv_path:
        with atomic_write(csv_path, "w") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        click.echo(f"table written to {csv_path}")
    if png_path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from amsim.plots import plot_basin_curves

        fig, ax = plt.subplots(figsize=(5.5, 4))
        plot_basin_curves(curves, ax=ax, threshold=threshold)
        N = net.n_neurons
        ax.set_title(f"{meta.get('rule', '?')} network, N = {N}, P = {meta.get('n_patterns', '?')}, "
                     f"{mode} dynamics\n{trials} trials x {min(n_refs, len(arrays[sets[0]]))} refs, seed {seed}",
                     fontsize=9)
        fig.tight_layout()
        with atomic_write(png_path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=120)
        plt.close(fig)
        click.echo(f"figure written to {png_path}")


# ------------------------------------------------------------------ census
@main.command()
@click.argument("network", type=click.Path(dir_okay=False))
@click.option("--starts", type=int, default=500, show_default=True, help="Random initial states.")
@click.option("--delta", type=float, default=0.05, show_default=True,
              help="A fixed point is 'close' to a reference when |overlap| >= 1 - delta.")
@click.option("--mode", type=click.Choice(["async", "sync"]), default="async", show_default=True)
@click.option("--max-sweeps", type=int, default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the class fractions and attractor counts to this JSON file.")
@one_line_errors
def census(network, starts, delta, mode, max_sweeps, seed, json_path):
    """Census of the fixed points reached from random starts.

    Each attractor is memorised (close to a training example), generalised
    (close to a test example or a hidden feature/archetype only), spurious
    (close to none, yet reached from two or more starts) or rare (reached once).
    """
    from amsim._validate import check_states_memory
    from amsim.basins import attractor_census

    check_outputs(**{"--json": json_path})
    starts = check_count("--starts", starts)
    check_count("--max-sweeps", max_sweeps)
    check_count("--seed", seed, minimum=0)
    delta = check_number("--delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    net, meta, arrays = _load(network)
    check_states_memory(starts, net.n_neurons, f"--starts {starts} of N = {net.n_neurons} neurons")
    if "training" not in arrays:
        raise UserError(f"{network} holds no training set to classify against")
    c = attractor_census(net, starts, arrays["training"], arrays.get("test"), arrays.get("hidden"),
                         delta=delta, mode=mode, max_sweeps=max_sweeps, seed=seed)
    fr = c.fractions()
    click.echo(f"{starts} random starts -> {len(c.counts)} distinct fixed points "
               f"({c.n_not_converged} starts did not converge in {max_sweeps} sweeps)")
    for lab, v in fr.items():
        n_att = int(np.sum(c.labels == lab)) if lab != "not_converged" else 0
        click.echo(f"  {lab:>14}: {v:6.1%} of starts, {n_att} attractors")
    if json_path:
        from memkit.io import atomic_write_json

        atomic_write_json(json_path, {"fractions": fr, "counts": c.counts.tolist(), "labels": c.labels.tolist(),
                                      "best_overlap": {k: v.tolist() for k, v in c.best_overlap.items()},
                                      "n_starts": starts, "delta": delta, "seed": seed})
        click.echo(f"census written to {json_path}")


# ------------------------------------------------------------------ demo
@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="figures", show_default=True,
              help="Folder for amsim_demo.png and amsim_demo.csv.")
@click.option("-N", "--neurons", "n_neurons", type=int, default=400, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@one_line_errors
def demo(out_dir, n_neurons, seed):
    """Hebb versus pseudo-likelihood in one figure (about a minute on a laptop).

    Stores random patterns at alpha = 0.1 (both rules) and alpha = 1.0
    (beyond Hebb's capacity 0.138, PL only), measures the basins of the
    stored patterns and writes amsim_demo.png and amsim_demo.csv.
    """
    from amsim.demo import run_demo

    from amsim._validate import check_couplings_memory

    if n_neurons < 20:
        raise UserError(f"--neurons must be at least 20 for the demo, got {n_neurons}")
    check_count("--seed", seed, minimum=0)
    check_couplings_memory(n_neurons, n_neurons, "pl", what=f"-N {n_neurons} (N x N couplings)")
    out = Path(out_dir)
    for name in ("amsim_demo.csv", "amsim_demo.png"):
        check_outputs(**{"--out": out / name})
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out_dir} is not a folder")
    png, csv_file = run_demo(Path(out_dir), n_neurons=n_neurons, seed=seed, echo=click.echo)
    click.echo(f"figure: {png}\ndata:   {csv_file}")


if __name__ == "__main__":  # pragma: no cover
    main()
