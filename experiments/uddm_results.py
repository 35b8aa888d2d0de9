#!/usr/bin/env python
"""Write the generated tables of docs/results-uddm.md from figures/uddm_summary.json.

The tables sit between the markers `<!-- begin generated tables -->` and
`<!-- end generated tables -->`; everything else in the document is kept. A test checks
that the committed document matches the committed summary.

    python experiments/uddm_results.py                      # after the figure scripts
    python experiments/uddm_results.py --summary figures/quick/uddm_summary.json --doc /tmp/r.md
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from memkit.cli import one_line_errors
from memkit.figures import FIGURES, REPO_ROOT
from uddm.sweep import results_markdown

BEGIN, END = "<!-- begin generated tables -->", "<!-- end generated tables -->"


def render(doc_text: str, summary: dict, ema: dict | None = None) -> str:
    """`doc_text` with its generated block replaced by the tables of `summary` (and `ema`)."""
    if BEGIN not in doc_text or END not in doc_text:
        raise ValueError(f"the document has no {BEGIN} ... {END} block")
    head, rest = doc_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{results_markdown(summary, ema)}\n{END}{tail}"


@click.command(context_settings={"max_content_width": 100})
@click.option("--summary", type=click.Path(dir_okay=False), default=str(FIGURES / "uddm_summary.json"),
              show_default=True)
@click.option("--ema", "ema_path", type=click.Path(dir_okay=False),
              default=str(FIGURES / "uddm_ema_check.json"), show_default=True,
              help="EMA-vs-raw check (experiments/uddm_ema_check.py), used when it exists.")
@click.option("--doc", type=click.Path(dir_okay=False), default=str(REPO_ROOT / "docs" / "results-uddm.md"),
              show_default=True)
@one_line_errors
def main(summary, ema_path, doc):
    p = Path(summary)
    if not p.is_file():
        raise click.UsageError(f"summary file {summary} does not exist: run the figure scripts first")
    d = Path(doc)
    text = d.read_text() if d.exists() else f"# UDDM results\n\n{BEGIN}\n{END}\n"
    from memkit.io import atomic_write
    with atomic_write(d, "w") as fh:
        ema = json.loads(Path(ema_path).read_text()) if Path(ema_path).is_file() else None
        fh.write(render(text, json.loads(p.read_text()), ema))
    click.echo(f"wrote {d}")


if __name__ == "__main__":
    main()
