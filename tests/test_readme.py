"""The README's Python examples run as written (in a scratch folder)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


ROOT = README.parent
# every Markdown page a reader can reach from the README (the course sheets are tested
# by running them, in test_course.py; their links are checked here too)
PAGES = sorted([README, *(ROOT / "docs").glob("*.md"), ROOT / "benchmarks" / "README.md",
                *(ROOT / "course").rglob("*.md"), *(ROOT / "figures").glob("index.md")])


def python_blocks(path=README):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 3, "README should show the amsim and the uddm API and the shared protocol"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})


def test_uddm_guide_api_tour_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    guide = ROOT / "docs" / "uddm.md"
    blocks = python_blocks(guide)
    assert blocks, "docs/uddm.md should show the uddm API"
    for code in blocks:
        exec(compile(code, str(guide), "exec"), {"__name__": "guide"})


def test_readme_is_a_front_door():
    """At most 250 lines, and every package and doc page is reachable from it."""
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for name in ("docs/index.md", "docs/science-am.md", "docs/science-uddm.md"):
        assert f"]({name})" in text


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page (lower case, punctuation dropped,
    spaces to hyphens; repeated headings get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _links(path: Path):
    """(target, line number) of every Markdown link and image outside code blocks."""
    in_code = False
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        line = re.sub(r"`[^`]*`", "", line)           # inline code is not a link
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            yield target, i


def test_every_relative_link_resolves():
    assert README in PAGES and len(PAGES) > 10
    bad = []
    for page in PAGES:
        for target, line in _links(page):
            if re.match(r"^[a-z]+:", target):          # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                bad.append(f"{page.relative_to(ROOT)}:{line}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                bad.append(f"{page.relative_to(ROOT)}:{line}: {target} (no such heading)")
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A title\n[ok](#a-title) [bad](missing.md) `[not](a-link.md)`\n")
    assert [t for t, _ in _links(page)] == ["#a-title", "missing.md"]
    assert "a-title" in _anchors(page)


def test_ci_runs_the_readme_test_command():
    text = README.read_text()
    assert "<!-- test-command -->" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "test-command" in ci


def test_uddm_results_doc_is_generated_from_the_committed_summary():
    """docs/results-uddm.md's tables are exactly what experiments/uddm_results.py writes
    from figures/uddm_summary.json (regenerate both with the figure scripts)."""
    import json

    from tests.experiments.helpers import load_script
    root = README.parent
    mod = load_script("uddm_results")
    doc = (root / "docs" / "results-uddm.md").read_text()
    summary = json.loads((root / "figures" / "uddm_summary.json").read_text())
    ema_path = root / "figures" / "uddm_ema_check.json"
    ema = json.loads(ema_path.read_text()) if ema_path.exists() else None
    assert mod.render(doc, summary, ema) == doc
