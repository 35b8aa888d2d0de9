"""The demonstration behind `amsim demo`: Hebb versus pseudo-likelihood basins."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from amsim.basins import basin_curve
from amsim.memory import HebbianMemory, PseudoLikelihoodMemory
from amsim.patterns import random_patterns
from memkit.io import atomic_write


def run_demo(out_dir: Path, n_neurons: int = 400, seed: int = 0, n_refs: int = 40,
             n_trials: int = 5, echo=print):
    """Train Hebb and PL networks on random patterns, measure basins, write PNG + CSV.

    Returns the paths of the PNG and the CSV.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from amsim.plots import plot_basin_curves

    rng = np.random.default_rng(seed)
    fractions = np.linspace(0.0, 0.5, 11)
    runs = [("Hebb, alpha = 0.1", HebbianMemory(), 0.1),
            ("PL, alpha = 0.1", PseudoLikelihoodMemory(n_steps=1000, schedule="normalised"), 0.1),
            ("PL, alpha = 1.0", PseudoLikelihoodMemory(n_steps=3000, schedule="normalised"), 1.0)]
    curves, rows = {}, []
    for label, net, alpha in runs:
        xi = random_patterns(int(round(alpha * n_neurons)), n_neurons, seed=rng)
        echo(f"training {label} (N = {n_neurons}, P = {len(xi)}) ...")
        net.fit(xi)
        echo(f"  stored as fixed points: {net.is_fixed_point(xi).mean():.1%}; measuring basins ...")
        c = basin_curve(net, xi[:n_refs], fractions, n_trials=n_trials, seed=rng)
        curves[label] = c
        for f, m, s, r in zip(fractions, c.mean_overlap(), c.sem_overlap(), c.mean_recovery()):
            rows.append({"network": label, "fraction": f, "mean_overlap": m, "sem": s, "recovery": r})
        echo(f"  basin radius (overlap >= 0.95): {c.radius():.2f}")
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out_dir / "amsim_demo.csv", out_dir / "amsim_demo.png"
    with atomic_write(csv_path, "w") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    plot_basin_curves(curves, ax=ax)
    ax.set_title(f"Basins of stored random patterns, N = {n_neurons}, asynchronous dynamics\n"
                 f"{n_refs} patterns x {n_trials} trials per point, seed {seed}", fontsize=9)
    fig.tight_layout()
    with atomic_write(png_path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
    return png_path, csv_path
