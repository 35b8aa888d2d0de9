"""Summarising a sweep: one row per point, the probe's confusion table, the results tables.

`write_summary` writes `figures/uddm_summary.json` (schema in docs/results-uddm.md):
per (model, n_train, seed) and per size for the exact model, the recovery at every
corruption time, entropies, the census, the probe's verdicts and each point's ground
truth (`ground_truth`, from its own recovery). `results_markdown` turns that document
into the tables of docs/results-uddm.md.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from memkit.io import atomic_write_json
from memkit.measures import mean_sem
from uddm.sweep.config import EXACT, SweepConfig, describe

__all__ = ["ground_truth", "paired_difference", "summary_rows", "probe_confusion", "write_summary",
           "results_markdown"]


def _ms(per_ref_row) -> list:
    """[mean, sem] over references of one level's per-reference values (None skipped)."""
    v = np.array([x for x in per_ref_row if x is not None], dtype=float)
    if v.size == 0:
        return [None, None]
    return list(mean_sem(v))


def paired_difference(a_row, b_row) -> list:
    """[mean, sem, n] of the per-reference differences a - b (both defined)."""
    d = np.array([x - y for x, y in zip(a_row, b_row) if x is not None and y is not None], dtype=float)
    if d.size < 2:
        return [None, None, int(d.size)]
    return [*mean_sem(d), int(d.size)]


def ground_truth(row: dict, t: str = "0.1") -> str:
    """A point's regime from its own recovery at t (the probe's validation criterion).

    memorising: training minus test recovery > 0.5 and at least half the samples copy
    training; generalising: training and test recovery within 2 SEM of each other (SEM of
    the difference); "transition band" otherwise (any verdict is accepted there).
    """
    rec = row["recovery"][t] if t in row["recovery"] else next(iter(row["recovery"].values()))
    (a, sa), (b, sb) = rec["train"], rec["test"]
    gap, se = a - b, math.hypot(sa, sb)
    if gap > 0.5 and row["census"]["copy"] >= 0.5:
        return "memorising"
    if abs(gap) <= 2 * se:
        return "generalising"
    return "transition band"


def summary_rows(cfg: SweepConfig, results: list[dict]) -> list[dict]:
    """One row per (model, n_train, seed) and per size for the exact model (docs/results-uddm.md)."""
    from uddm.probe import verdict
    exact = {(r["point"]["n_train"], r["point"]["seed"]): r for r in results
             if r["point"]["model"] == EXACT}
    rows = []
    for r in results:
        p = r["point"]
        L = r["entropy"]["length"]
        times = r["exp2"]["times"]
        row = {"model": p["model"], "n_train": p["n_train"], "seed": p["seed"],
               "params": r.get("params"), "weights": r.get("weights"),
               "train_steps": r.get("train_steps"),
               "recovery": {str(t): {s: _ms(r["exp2"][s]["recovery"]["per_ref"][j])
                                     for s in ("train", "test")} for j, t in enumerate(times)},
               "recovery_greedy": {str(t): {s: _ms(r["exp1"][s]["recovery"]["per_ref"][j])
                                            for s in ("train", "test")}
                                   for j, t in enumerate(r["exp1"]["levels"])},
               "bayes_map": {str(t): _ms(r["exp2"]["test"]["reference"]["per_ref"][j])
                             for j, t in enumerate(times)},
               "entropy_t": 1e-5 if cfg.entropy_at == "t0" else "t",
               "entropy": {k: float(np.mean(v)) / L for k, v in r["entropy"]["sequence"].items()},
               "sequence_entropy": {k: float(np.mean(v)) for k, v in r["entropy"]["sequence"].items()},
               "overlap": r["entropy"]["train_vs_generated"],
               "census": {k: r["generated"]["census"][k] for k in ("copy", "novel", "spurious", "invalid")},
               "unigram_entropy": float(np.mean(r["generated"]["unigram_entropy"])),
               "val_nelbo": r.get("val_nelbo")}
        copies = r["generated"]["census"]["copy"]
        row["verdict"] = verdict(copies, r["entropy"]["train_vs_test"], "held-out sequences")[0]
        row["verdict_from_samples"] = verdict(copies, r["entropy"]["train_vs_generated"],
                                              "generated samples")[0]
        row["ground_truth"] = ground_truth(row)
        partner = exact.get((p["n_train"], p["seed"]))
        if partner is not None and p["model"] != EXACT:
            row["paired_vs_exact"] = {
                str(t): {s: paired_difference(r["exp2"][s]["recovery"]["per_ref"][j],
                                              partner["exp2"][s]["recovery"]["per_ref"][j])
                         for s in ("train", "test")} for j, t in enumerate(times)}
        rows.append(row)
    return rows


def probe_confusion(rows: list[dict], key: str = "verdict") -> dict:
    """{ground truth: {verdict: count}} and the points misclassified outside the transition band."""
    from uddm.probe import VERDICTS
    table = {g: {v: 0 for v in VERDICTS} for g in ("memorising", "transition band", "generalising")}
    wrong = []
    for row in rows:
        g, v = row["ground_truth"], row[key]
        table[g][v] += 1
        if g != "transition band" and v != g:
            wrong.append({"model": row["model"], "n_train": row["n_train"], "seed": row["seed"],
                          "truth": g, "verdict": v})
    return {"table": table, "misclassified": wrong}


def write_summary(cfg: SweepConfig, results: list[dict], path) -> Path:
    """Write the sweep's machine-readable summary (schema: docs/results-uddm.md)."""
    rows = summary_rows(cfg, results)
    doc = {"preset": cfg.name, "caption": describe(cfg, results), "sweep": cfg.to_dict(),
           "rows": rows,
           "probe_confusion": {"with_held_out": probe_confusion(rows, "verdict"),
                               "from_samples": probe_confusion(rows, "verdict_from_samples")}}
    return atomic_write_json(path, doc) or Path(path)


def results_markdown(doc: dict, ema: dict | None = None) -> str:
    """The tables of docs/results-uddm.md, generated from a summary (`write_summary`) document.

    `ema`: optionally the document of experiments/uddm_ema_check.py (EMA minus raw weights).
    A cell with several seeds shows their mean ± SEM over seeds; labels are joined.
    """
    rows = doc["rows"]
    models = [m for m in dict.fromkeys(r["model"] for r in rows)]
    sizes = sorted({r["n_train"] for r in rows})

    def cell(v, fmt="{:.3f}"):
        return "–" if v is None else fmt.format(v)

    def table(title, get, fmt="{:.3f}"):
        out = [f"#### {title}", "", "| model | " + " | ".join(str(n) for n in sizes) + " |",
               "|---|" + "---|" * len(sizes)]
        for m in models:
            by = {}
            for r in rows:
                if r["model"] == m:
                    by.setdefault(r["n_train"], []).append(get(r))
            vals = []
            for n in sizes:
                v = [x for x in by.get(n, []) if x is not None]
                if v and isinstance(v[0], str):          # labels: one per seed, joined
                    vals.append(" ".join(v))
                    continue
                if len(v) > 1:                               # several seeds: mean ± SEM
                    m_, s_ = mean_sem(v)
                    vals.append(f"{cell(m_, fmt)} ± {cell(s_, fmt.replace('+', ''))}")
                    continue
                vals.append(cell(float(v[0]) if v else None, fmt))
            out.append(f"| {m} | " + " | ".join(vals) + " |")
        return "\n".join(out) + "\n"

    parts = [f"Preset `{doc['preset']}`: {doc['caption']}.", ""]
    for t in ("0.1", "0.25"):
        if t in rows[0]["recovery"]:
            parts.append(table(f"Experiment 2 recovery at t = {t}, training references",
                               lambda r, t=t: r["recovery"][t]["train"][0]))
            parts.append(table(f"Experiment 2 recovery at t = {t}, test references",
                               lambda r, t=t: r["recovery"][t]["test"][0]))
            parts.append(table(f"Paired test-recovery difference model - exact model at t = {t} "
                               "(same corrupted starts)",
                               lambda r, t=t: (r.get("paired_vs_exact") or {}).get(t, {}).get(
                                   "test", [None])[0], "{:+.3f}"))
    parts.append(table("Sequence entropy per token (eq. 13 at t0), training sequences",
                       lambda r: r["entropy"]["train"]))
    parts.append(table("Sequence entropy per token, generated sequences",
                       lambda r: r["entropy"]["generated"]))
    parts.append(table("Two-sample statistic A = P(H_train < H_generated) (0.5: one distribution)",
                       lambda r: r["overlap"]["auc"]))
    for c in ("copy", "spurious", "novel", "invalid"):
        parts.append(table(f"Census: fraction of generated sequences that are {c}",
                           lambda r, c=c: r["census"][c], "{:.2f}"))
    short = {"memorising": "M", "in transition": "T", "generalising": "G", "transition band": "b"}
    parts.append(table("Probe verdict with held-out sequences / from samples only / ground "
                       "truth (M memorising, T in transition, G generalising, b transition band)",
                       lambda r: f"{short[r['verdict']]}/{short[r['verdict_from_samples']]}/"
                                 f"{short[r['ground_truth']]}", "{}"))
    for key, title in (("with_held_out", "with held-out sequences"),
                       ("from_samples", "from references and samples only")):
        conf = doc["probe_confusion"][key]
        out = [f"#### Probe confusion table, {title}", "",
               "| ground truth \\ verdict | memorising | in transition | generalising |", "|---|---|---|---|"]
        for g, row in conf["table"].items():
            out.append(f"| {g} | " + " | ".join(str(row[v]) for v in
                                                 ("memorising", "in transition", "generalising")) + " |")
        bad = conf["misclassified"]
        out.append("")
        out.append("Misclassified outside the transition band: " + (
            "none." if not bad else "; ".join(f"{b['model']} n={b['n_train']} seed {b['seed']} "
                                              f"({b['truth']} called {b['verdict']})" for b in bad) + "."))
        parts.append("\n".join(out) + "\n")
    if ema is not None:
        seeds = sorted({r["seed"] for r in ema["rows"] if "seed" in r})
        run = f", preset `{ema['preset']}`" if "preset" in ema else ""
        run += f", seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else ""
        out = [f"#### EMA ({ema['ema']:g}) minus raw weights, paired on the same corrupted starts "
               f"(experiments/uddm_ema_check.py{run})", "",
               "| model | n_train | test recovery t = 0.1 | test recovery t = 0.25 | "
               "train recovery t = 0.1 | per-token entropy, generated | copies raw / EMA |",
               "|---|---|---|---|---|---|---|"]
        for r in ema["rows"]:
            def d(t, s_):
                v = r["recovery_ema_minus_raw"].get(t, {}).get(s_, [None, None])
                return "–" if v[0] is None else f"{v[0]:+.3f} ± {v[1]:.3f}"
            out.append(f"| {r['model']} | {r['n_train']} | {d('0.1', 'test')} | {d('0.25', 'test')} | "
                       f"{d('0.1', 'train')} | {r['entropy_ema_minus_raw']['generated']:+.3f} | "
                       f"{r['copies']['raw']:.2f} / {r['copies']['ema']:.2f} |")
        parts.append("\n".join(out) + "\n")
    return "\n".join(parts)
