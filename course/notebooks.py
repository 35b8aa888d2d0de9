"""Build the course's Jupyter notebooks from its Markdown sheets (jupytext).

The Markdown sheets are the sources; `course/notebooks/` holds one `.ipynb` per sheet and
per solution, without outputs, generated from them:

    python course/notebooks.py            # rewrite every notebook
    python course/notebooks.py --check    # exit 1 if a notebook is out of date

Every ```python block of a sheet becomes a code cell and the prose between becomes
Markdown cells, so a notebook runs exactly what `runsheet.py` runs. A solution's notebook
starts with one code cell that runs its sheet first (the solution continues the
sheet's namespace). The tests keep the notebooks in sync and execute one end to end.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent
OUT = COURSE / "notebooks"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def sources() -> list[tuple[Path, Path]]:
    """(Markdown source, notebook path) for every sheet and solution."""
    pairs = []
    for sheet in sorted(COURSE.glob("[0-9][0-9]_*.md")):
        pairs.append((sheet, OUT / f"{sheet.stem}.ipynb"))
        solution = COURSE / "solutions" / sheet.name
        if solution.is_file():
            pairs.append((solution, OUT / "solutions" / f"{sheet.stem}.ipynb"))
    return pairs


def build(source: Path):
    """The notebook (nbformat node) of one Markdown sheet or solution."""
    import jupytext
    import nbformat
    nb = jupytext.reads(source.read_text(encoding="utf-8"), fmt="md")
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"},
                   "genmem": {"source": f"course/{source.relative_to(COURSE).as_posix()}"}}
    if source.parent.name == "solutions":
        nb.cells.insert(0, nbformat.v4.new_code_cell(
            "# A solution continues its sheet's namespace: run the sheet's code first.\n"
            "import importlib.util, pathlib\n"
            "_course = pathlib.Path.cwd().parents[1]          # this notebook is in course/notebooks/solutions\n"
            "_spec = importlib.util.spec_from_file_location('runsheet', _course / 'runsheet.py')\n"
            "runsheet = importlib.util.module_from_spec(_spec)\n"
            "_spec.loader.exec_module(runsheet)\n"
            f"runsheet.run_sheets([_course / {source.name!r}], namespace=globals(), show=True)"))
    for i, cell in enumerate(nb.cells):          # stable ids: regeneration gives the same file
        cell["id"] = f"cell-{i}"
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def render(source: Path) -> str:
    import nbformat
    return nbformat.writes(build(source)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    args = parser.parse_args(argv)
    stale = []
    for source, target in sources():
        text = render(source)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".ipynb.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
    for t in stale:
        print(("out of date: " if args.check else "wrote ") + str(t.relative_to(COURSE.parent)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
