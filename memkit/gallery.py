"""A gallery page for a folder of figures: every PNG with its caption and key number.

The experiment scripts write, for each figure, a PNG and a JSON file with the numbers
behind it into one folder. `write_gallery(out_dir, entries)` writes `index.md` beside
them: a table of contents (figure, key number, paper / theory) and one section per
figure with the image, its caption, the key number read from its JSON and the value it
is compared with. An entry whose PNG or JSON is absent is listed as missing (never
silently dropped), and files in the folder that no entry claims are listed at the end,
so a new figure shows up even before it has an entry.

    entries = [Entry("am_capacity", "Retrieval against load", "What the figure shows.",
                     key=lambda d: f"alpha_c = {d['hebb']['ags']['alpha_c']:.3f}",
                     reference="AGS: alpha_c = 0.138")]
    write_gallery("figures", entries, title="Figures")

Every link in the page is relative to the page, so the folder can be moved or browsed
on GitHub as it is. `image_links(markdown)` lists the image targets (what the tests
check resolve to files).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from memkit.io import atomic_write

__all__ = ["Entry", "write_gallery", "render_gallery", "image_links", "crossing", "fmt"]

INDEX = "index.md"


@dataclass(frozen=True)
class Entry:
    """One figure of a gallery.

    name : the basename of its JSON (and of its PNG unless `images` is given)
    title : a short heading
    caption : what the figure shows (the JSON's own "caption", the settings line, is
        added below it when present)
    key : the one number that matters, as text, read from the figure's JSON (an
        exception here is reported in the page, not raised)
    reference : the paper's or the theory's value and what the comparison means
    images : the PNG file names (default: name + ".png")
    """

    name: str
    title: str
    caption: str
    key: Callable[[dict], str] | None = None
    reference: str = ""
    images: tuple[str, ...] = ()

    @property
    def pngs(self) -> tuple[str, ...]:
        return self.images or (f"{self.name}.png",)

    @property
    def data(self) -> str:
        return f"{self.name}.json"


def fmt(x, digits: int = 3) -> str:
    """A number for the page: 3 decimals, "n/a" for None or NaN."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def crossing(xs: Sequence[float], ys: Sequence[float], level: float) -> float | None:
    """The first x at which the curve ys(xs) crosses `level` (linear interpolation), or None."""
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if (y0 - level) * (y1 - level) <= 0 and y0 != y1:
            return x0 + (level - y0) * (x1 - x0) / (y1 - y0)
    return None


def _key(entry: Entry, data: dict | None) -> str:
    if entry.key is None:
        return ""
    if data is None:
        return f"n/a ({entry.data} missing)"
    try:
        return str(entry.key(data))
    except Exception as exc:           # a changed JSON must not break the page
        return f"n/a (not found in {entry.data}: {type(exc).__name__} {exc})"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower().replace(" ", "-"))


def render_gallery(out_dir, entries: Sequence[Entry], title: str = "Figures",
                   intro: str = "") -> str:
    """The Markdown of the gallery of `out_dir` (see the module doc)."""
    out_dir = Path(out_dir)
    rows, sections, missing, claimed = [], [], [], {INDEX}
    for e in entries:
        claimed.update(e.pngs)
        claimed.add(e.data)
        data, data_note = None, ""
        path = out_dir / e.data
        if path.exists():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                data_note = f" ({e.data} unreadable: {type(exc).__name__})"
        present = [p for p in e.pngs if (out_dir / p).exists()]
        absent = [p for p in e.pngs if p not in present] + ([] if path.exists() else [e.data])
        if not present:
            missing.append((e, absent))
            continue
        key = _key(e, data) + data_note
        rows.append(f"| [{_cell(e.title)}](#{_anchor(e.name)}) | {_cell(key)} | "
                    f"{_cell(e.reference)} |")
        s = [f"## {e.name}", "", f"**{e.title}**", ""]
        for p in present:
            s += [f"![{Path(p).stem}]({p})", ""]
        s += [e.caption.strip(), ""]
        if isinstance(data, dict) and isinstance(data.get("caption"), str):
            s += [f"Settings: {data['caption'].strip()}", ""]
        if key:
            s += [f"- **Key number:** {key}"]
        if e.reference:
            s += [f"- **Paper / theory:** {e.reference}"]
        s += [f"- **Data:** [{e.data}]({e.data})" if path.exists() else f"- **Data:** {e.data} missing"]
        if absent:
            s += [f"- **Missing:** {', '.join(absent)}"]
        sections.append("\n".join(s).rstrip() + "\n")
    lines = [f"# {title}", ""]
    if intro:
        lines += [intro.strip(), ""]
    lines += ["| figure | key number | paper / theory |", "|---|---|---|"] + rows + [""]
    if missing:
        lines += ["## Missing figures", "",
                  "Expected here but not found (run the script that draws them):", ""]
        lines += [f"- `{e.name}` ({e.title}): {', '.join(a)} absent" for e, a in missing]
        lines += [""]
    lines += sections
    others = sorted(p.name for p in out_dir.iterdir()
                    if p.is_file() and p.suffix in (".png", ".json") and p.name not in claimed) \
        if out_dir.is_dir() else []
    if others:
        lines += ["## Other files", "", "In this folder but in no gallery entry:", ""]
        lines += [f"- [{n}]({n})" for n in others] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_gallery(out_dir, entries: Sequence[Entry], title: str = "Figures", intro: str = "",
                  filename: str = INDEX) -> Path:
    """Write the gallery of `out_dir` to `out_dir/filename` (atomically); return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    text = render_gallery(out_dir, entries, title, intro)
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return path


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def image_links(markdown: str) -> list[str]:
    """The targets of every Markdown image link ![alt](target) in `markdown`."""
    return _IMAGE.findall(markdown)
