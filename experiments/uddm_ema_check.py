#!/usr/bin/env python
"""Raw weights against the EMA: where does the choice move the sweep's measurements?

The paper's evaluation measures the raw weights (its code never copies the EMA in), and
so does every figure of this project. This script measures the same sweep with the EMA
weights (`use_ema=True`, the same checkpoints, the same corrupted starts) and writes, per
point, the EMA-minus-raw difference of the Experiment 2 recovery (training and test, at
each t, paired per reference), of the mean per-token entropy of training and generated
sequences, and of the census' copy fraction, to figures/uddm_ema_check.json.

    python experiments/uddm_ema_check.py --preset cpu     # after the cpu sweep (figures/uddm_ema_check.json)
    python experiments/uddm_ema_check.py --preset quick
"""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from memkit.cli import one_line_errors
from memkit.figures import FIGURES, save_data
from uddm.sweep import get_preset, paired_difference, run_sweep
from uddm.sweep.options import cache_option, preset_option


@click.command(context_settings={"max_content_width": 100})
@preset_option
@cache_option
@click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES), show_default=True)
@click.option("--no-progress", is_flag=True)
@one_line_errors
def main(preset, cache, out, no_progress):
    raw_cfg = get_preset(preset)
    ema_cfg = get_preset(preset, use_ema=True)
    raw = run_sweep(raw_cfg, cache, progress=not no_progress)
    ema = run_sweep(ema_cfg, cache, progress=not no_progress)
    rows = []
    for r, e in zip(raw, ema):
        assert r["point"] == e["point"]
        L = r["entropy"]["length"]
        row = {"model": r["point"]["model"], "n_train": r["point"]["n_train"], "seed": r["point"]["seed"],
               "recovery_ema_minus_raw": {
                   str(t): {s: paired_difference(e["exp2"][s]["recovery"]["per_ref"][j],
                                                 r["exp2"][s]["recovery"]["per_ref"][j])
                            for s in ("train", "test")}
                   for j, t in enumerate(r["exp2"]["times"])},
               "entropy_ema_minus_raw": {k: float(np.mean(e["entropy"]["sequence"][k])
                                                  - np.mean(r["entropy"]["sequence"][k])) / L
                                         for k in ("train", "test", "generated")},
               "copies": {"raw": r["generated"]["copies"], "ema": e["generated"]["copies"]}}
        rows.append(row)
        d = row["recovery_ema_minus_raw"].get("0.1", {}).get("test", [None])
        click.echo(f"{row['model']} n={row['n_train']}: test recovery at t=0.1, EMA - raw = "
                   + (f"{d[0]:+.3f} ± {d[1]:.3f}" if d[0] is not None else "n/a"))
    path = save_data(Path(out) / "uddm_ema_check.json",
                     {"preset": preset, "ema": ema_cfg.ema, "rows": rows})
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
