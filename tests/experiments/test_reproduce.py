"""experiments/reproduce.py drives every experiment script with options they accept."""
import json
import subprocess
from pathlib import Path

import pytest

from tests.experiments.helpers import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("full", [False, True])
def test_every_script_accepts_the_reproduce_options(tmp_path, full):
    mod = load_script("reproduce")
    cmds = mod.commands(full, tmp_path / "out", tmp_path / "cache", workers=2)
    scripts = {Path(c[1]).name for c in cmds}
    assert scripts == (set(mod.AM_SCRIPTS) | set(mod.BRIDGE_SCRIPTS) | set(mod.UDDM_SCRIPTS)
                       | set(mod.LIMIT_SCRIPTS))
    for c in cmds:
        assert Path(c[1]).exists() and c[c.index("--workers") + 1] == "2"
        # click parses left to right: an unknown option fails before the trailing --help exits
        r = subprocess.run(c + ["--help"], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ progress under reproduce
def test_reproduce_prints_a_line_while_a_script_is_silent(tmp_path, monkeypatch):
    """Off a terminal (here a CliRunner, as in a log), a script that prints nothing for
    longer than $MEMKIT_STATUS_EVERY gets a "still running" line; its own output passes."""
    import sys

    from click.testing import CliRunner
    mod = load_script("reproduce")
    script = tmp_path / "silent.py"
    script.write_text("import time\nprint('drawn', flush=True)\ntime.sleep(1.0)\n")
    monkeypatch.setattr(mod, "commands", lambda full, out, cache, workers: [[sys.executable, str(script)]])
    monkeypatch.setenv("MEMKIT_STATUS_EVERY", "0.2")
    r = CliRunner().invoke(mod.main, ["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "drawn" in r.stdout
    beats = [ln for ln in r.stderr.splitlines() if ln.startswith("still running silent.py (")]
    assert len(beats) >= 2, r.stderr
    index = (tmp_path / "out" / "index.md").read_text()
    assert "## Missing figures" in index and "`uddm_fig2`" in index   # nothing was drawn


# ------------------------------------------------------------------ the gallery
def _gallery():
    return load_script("gallery")


def _assert_images_resolve(index: Path):
    from memkit.gallery import image_links
    links = image_links(index.read_text())
    assert links, f"{index} has no image"
    for link in links:
        assert (index.parent / link).is_file(), f"{index}: image {link} does not exist"
    return links


def test_gallery_of_a_small_fake_output_folder(tmp_path):
    g = _gallery()
    out = tmp_path / "quick"
    out.mkdir()
    for name in ("am_capacity", "perceptron_margin_training", "uddm_fig2"):
        (out / f"{name}.json").write_text((ROOT / "figures" / f"{name}.json").read_text())
        (out / f"{name}.png").write_bytes(b"\x89PNG fake")
    (out / "uddm_fig3.png").write_bytes(b"\x89PNG fake")          # a PNG without its JSON
    (out / "uddm_fig4.json").write_text('{"histograms": {}}')       # a JSON without its PNG
    (out / "something_new.png").write_bytes(b"\x89PNG fake")       # in no entry
    index = g.write_index(out, "quick")
    assert index == out / "index.md"
    links = _assert_images_resolve(index)
    assert sorted(links) == ["am_capacity.png", "perceptron_margin_training.png", "uddm_fig2.png",
                             "uddm_fig3.png"]
    text = index.read_text()
    assert text.startswith("# Figures (quick scale)")
    # the key numbers are read from the JSON files, with the reference value beside them
    assert "1.038 vs 1.030" in text and "AGS alpha_c = 0.138" in text
    c = json.loads((ROOT / "figures" / "uddm_fig2.json").read_text())["curves"]["cpu-xs"]["0.1"]
    assert (f"{c['train'][-1]:.2f}/{c['test'][-1]:.2f} at n = {c['n_train'][-1]} "
            f"(exact {c['exact_test'][-1]:.2f})") in text           # read from the copied JSON
    assert "n/a (uddm_fig3.json missing)" in text
    missing = text.split("## Missing figures")[1].split("\n## ")[0]
    for name in ("uddm_fig1", "uddm_fig4", "am_generalization_basins", "uddm_examples"):
        assert f"`{name}`" in missing                       # listed, not silently dropped
    assert "`uddm_fig2`" not in missing and "`uddm_fig3`" not in missing
    assert "[something_new.png](something_new.png)" in text.split("## Other files")[1]
    assert len({e.name for e in g.ENTRIES}) == len(g.ENTRIES)


def test_gallery_keeps_going_when_a_json_changes(tmp_path):
    g = _gallery()
    (tmp_path / "am_capacity.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "am_capacity.json").write_text('{"hebb": {}}')
    text = g.write_index(tmp_path, "quick").read_text()
    assert "n/a (not found in am_capacity.json:" in text


def test_committed_figures_index_is_complete_and_up_to_date():
    """figures/index.md: every image resolves, every committed PNG is in it, none missing,
    and it equals what the gallery writes from the committed JSON files now."""
    g = _gallery()
    index = ROOT / "figures" / "index.md"
    links = set(_assert_images_resolve(index))
    pngs = {p.name for p in (ROOT / "figures").glob("*.png")}
    assert pngs == links
    text = index.read_text()
    assert "## Missing figures" not in text and "n/a" not in text
    assert g.render_index(ROOT / "figures", "full") == text, ("figures/index.md is out of date: run "
                           "python experiments/reproduce.py --gallery-only --out figures")


def test_gallery_only_rewrites_the_index_without_running_anything(tmp_path, monkeypatch):
    from click.testing import CliRunner
    mod = load_script("reproduce")
    monkeypatch.setattr(mod, "run_reporting", lambda *a, **k: pytest.fail("ran a script"))
    (tmp_path / "uddm_fig5.png").write_bytes(b"\x89PNG fake")
    r = CliRunner().invoke(mod.main, ["--gallery-only", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    _assert_images_resolve(tmp_path / "index.md")
    r = CliRunner().invoke(mod.main, ["--gallery-only", "--out", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "is not a folder" in r.output


def test_no_experiment_script_edits_sys_path():
    """The package is installed: scripts import it, they never patch sys.path."""
    for script in sorted((ROOT / "experiments").glob("*.py")):
        text = script.read_text()
        assert "sys.path" not in text and "noqa: E402" not in text, script.name
