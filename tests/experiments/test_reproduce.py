"""experiments/reproduce.py drives every experiment script with options they accept."""
import subprocess
from pathlib import Path

import pytest

from tests.experiments.helpers import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("full", [False, True])
def test_every_script_accepts_the_reproduce_options(tmp_path, full):
    mod = load_script("reproduce")
    cmds = mod.commands(full, tmp_path / "out", tmp_path / "cache")
    scripts = {Path(c[1]).name for c in cmds}
    assert scripts == set(mod.AM_SCRIPTS) | set(mod.UDDM_SCRIPTS)
    for c in cmds:
        assert Path(c[1]).exists()
        # click parses left to right: an unknown option fails before the trailing --help exits
        r = subprocess.run(c + ["--help"], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0, r.stderr
