"""Run the Python code blocks of a course sheet, in order, as one script.

Every ```python block of a sheet is executed in one shared namespace, top to bottom,
the way a student would paste them into a Python session or a notebook. A solution
sheet continues the namespace of its exercise sheet, so give both:

    python course/runsheet.py course/01_hopfield.md
    python course/runsheet.py course/01_hopfield.md course/solutions/01_hopfield.md

Figures are drawn with matplotlib's non-interactive Agg backend unless --show is given.
A failing block is reported with the sheet's file name and line number.
The test suite (tests/test_course.py) runs every sheet with its solution this way.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

FENCE = re.compile(r"^```(\S*)\s*$")
ALLOWED_FENCES = ("python", "text")


def code_blocks(path) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown file as (first line number, source).

    Raises ValueError for an unclosed fence or a fence language other than
    ``python`` (run) and ``text`` (printed output, not run), so that no code in a
    sheet escapes the tests.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if lang is None:
            if match:
                lang = match.group(1)
                if lang not in ALLOWED_FENCES:
                    raise ValueError(f"{path}:{number}: code fence language {lang!r}; "
                                     f"use one of {ALLOWED_FENCES}")
                start, body = number + 1, []
        elif line.strip() == "```":
            if lang == "python":
                blocks.append((start, "\n".join(body) + "\n"))
            lang = None
        else:
            body.append(line)
    if lang is not None:
        raise ValueError(f"{path}:{start - 1}: code fence is never closed")
    return blocks


def run_sheets(paths, namespace: dict | None = None, show: bool = False,
               verbose: bool = False) -> dict:
    """Execute the python blocks of `paths` in order in one namespace; return it.

    Tracebacks point at the Markdown file and its line numbers.
    """
    import matplotlib
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = {"__name__": "__main__"} if namespace is None else namespace
    for path in paths:
        for start, source in code_blocks(path):
            code = compile("\n" * (start - 1) + source, str(path), "exec")
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*non-interactive.*")
                exec(code, ns)
            if verbose:
                print(f"[{path}:{start}] {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        if not show:
            plt.close("all")
    return ns


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sheets", nargs="+", help="Markdown sheets, run in this order")
    parser.add_argument("--show", action="store_true", help="open figure windows")
    parser.add_argument("--verbose", action="store_true", help="time each block")
    args = parser.parse_args(argv)
    for p in args.sheets:
        if not Path(p).is_file():
            print(f"runsheet: no such sheet: {p}", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    run_sheets(args.sheets, show=args.show, verbose=args.verbose)
    n = sum(len(code_blocks(p)) for p in args.sheets)
    print(f"ran {n} code blocks from {len(args.sheets)} file(s) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
