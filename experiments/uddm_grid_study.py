#!/usr/bin/env python
"""How much the size of the global time grid moves the measurements (chooses the default).

The paper's evaluation walks a grid of 1000 steps on [1e-5, 1], entered at each start
time t. This script takes one trained model of the sweep (default: the largest model at
the largest training set of the cpu preset, from the sweep cache) and measures, with
the sweep's own code, stochastic retrieval (Experiment 2) of test references and the
sequence entropy of generated sequences on grids of `--grids` steps. Recovery is
compared *paired*: the same references and the same corrupted starts on every grid
(same seeds), so the differences' SEM is small. Writes figures/uddm_grid_study.json.

    python experiments/uddm_grid_study.py --preset cpu --point 7   # after the cpu sweep is trained
    python experiments/uddm_grid_study.py --grids 64,128,1000 --n 256
"""
from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

import torch

from memkit.cli import one_line_errors, parse_number_list
from memkit.figures import FIGURES, save_data
from memkit.measures import mean_sem, two_sample_auc
from memkit.protocol import run_retrieval
from uddm.sweep import checkpoint_path, get_preset
from uddm.sweep.options import cache_option, preset_option


@click.command(context_settings={"max_content_width": 100})
@preset_option
@click.option("--point", type=int, default=None, help="Sweep point (default: the last one).")
@click.option("--grids", default="128,1000", show_default=True, help="Grid sizes to compare.")
@click.option("--times", default="0.1,0.25,0.5", show_default=True)
@click.option("--n", "n_refs", type=int, default=256, show_default=True, help="Test references.")
@click.option("--n-generated", type=int, default=128, show_default=True)
@cache_option
@click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES), show_default=True)
@one_line_errors
def main(preset, point, grids, times, n_refs, n_generated, cache, out):
    from uddm.data import DataSpec, build_dataset
    from uddm.diffusion import make_schedule
    from uddm.retrieval import DiffusionRetriever
    from uddm.sample import generate
    from uddm.train import load_checkpoint
    cfg = get_preset(preset)
    grids = parse_number_list(grids, int, "--grids")
    ts = parse_number_list(times, float, "--times")
    p = cfg.point(len(cfg.points()) - 1 if point is None else point)
    path = checkpoint_path(cfg, p, cache)
    if not path.exists():
        raise click.UsageError(f"point {p.index} is not trained in {cache}: run the sweep first")
    model, ck = load_checkpoint(str(path), use_ema=cfg.use_ema)
    ds = build_dataset(DataSpec(**ck["data"]["spec"]), tokenizer_dict=ck["tokenizer"])
    sch = make_schedule()
    refs = ds.test[:n_refs].numpy()
    res = {"preset": preset, "point": {"model": p.model, "n_train": p.n_train, "seed": p.seed},
           "times": ts, "grids": grids, "n_refs": int(refs.shape[0]), "recovery": {}, "entropy": {},
           "seconds": {}}
    per = {}
    for G in grids:
        t0 = time.perf_counter()
        ad = DiffusionRetriever(model, sch, steps=G, final=cfg.final)
        rec = run_retrieval(ad, refs, ts, 1, "stochastic", seed=[cfg.measure_seed, 1])
        per[G] = rec.recovery()[:, :, 0]
        g = torch.Generator().manual_seed(cfg.measure_seed)
        gen = generate(model, sch, n_generated, steps=G, length=refs.shape[1], generator=g)
        h = gen.entropy.sum(-1).numpy()
        h_mean, h_sem = mean_sem(h)
        res["entropy"][str(G)] = {"generated_mean": h_mean, "generated_sem": h_sem,
                                  "values": h.tolist()}
        res["seconds"][str(G)] = time.perf_counter() - t0
        res["recovery"][str(G)] = [float(np.nanmean(per[G][a])) for a in range(len(ts))]
    base = grids[-1]
    res["paired_difference_vs_" + str(base)] = {}
    for G in grids[:-1]:
        rows = []
        for a, t in enumerate(ts):
            d = per[G][a] - per[base][a]
            d = d[~np.isnan(d)]
            d_mean, d_sem = mean_sem(d)
            rows.append({"t": t, "mean": d_mean, "sem": d_sem})
        st = two_sample_auc(res["entropy"][str(G)]["values"], res["entropy"][str(base)]["values"])
        res["paired_difference_vs_" + str(base)][str(G)] = {"recovery": rows, "generated_entropy_auc": st}
        click.echo(f"grid {G} vs {base}: recovery differences " + ", ".join(
            f"t={r['t']:g}: {r['mean']:+.4f} ± {r['sem']:.4f}" for r in rows)
            + f"; generated sequence entropy {res['entropy'][str(G)]['generated_mean']:.2f} vs "
              f"{res['entropy'][str(base)]['generated_mean']:.2f} nats (A = {st['auc']:.3f} ± {st['se']:.3f})")
    for G in grids:
        click.echo(f"grid {G}: {res['seconds'][str(G)]:.1f} s")
    save_data(Path(out) / "uddm_grid_study.json", res)
    click.echo(f"wrote {Path(out) / 'uddm_grid_study.json'}")


if __name__ == "__main__":
    main()
