"""memkit.progress off a terminal: the interval ($MEMKIT_STATUS_EVERY), the bar-less mode,
and run_reporting (a subprocess whose log gets a line at least every interval)."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memkit.progress import STATUS_ENV, STATUS_EVERY, Progress, run_reporting, status_every

ROOT = Path(__file__).resolve().parents[2]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_interval_default_environment_and_bad_values(monkeypatch):
    monkeypatch.delenv(STATUS_ENV, raising=False)
    assert status_every() == STATUS_EVERY == 30.0
    assert status_every(0.5) == 0.5
    monkeypatch.setenv(STATUS_ENV, "0.25")
    assert status_every() == 0.25
    for bad in ("abc", "0", "-1", "inf"):
        monkeypatch.setenv(STATUS_ENV, bad)
        with pytest.raises(ValueError, match=STATUS_ENV):
            status_every()
    with pytest.raises(ValueError, match="every"):
        status_every(0)


def test_bar_false_prints_status_lines_even_on_a_terminal(monkeypatch):
    monkeypatch.setenv(STATUS_ENV, "0.05")
    term = _Terminal()
    with Progress(3, desc="job", unit="unit", stream=term, bar=False) as p:
        for _ in range(3):
            time.sleep(0.07)
            p.update(1)
    lines = term.getvalue().splitlines()
    assert len(lines) >= 2 and lines[-1].startswith("job: 3/3 units")
    assert "\r" not in term.getvalue()                 # no bar drawn
    quiet = io.StringIO()
    with Progress(3, desc="job", stream=quiet, enabled=False) as p:
        time.sleep(0.12)
        p.update(3)
    assert quiet.getvalue() == ""


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_run_reporting_heartbeat_while_the_child_is_silent(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    child = _python("""
        import sys, time
        print("child starts", flush=True)
        time.sleep(1.0)
        print("child warns", file=sys.stderr, flush=True)
        sys.exit(3)
    """)
    status = run_reporting(child, label="silent.py", every=0.2, stream=err)
    assert status == 3
    assert out.getvalue() == "child starts\n"          # the child's stdout, unchanged
    lines = err.getvalue().splitlines()
    beats = [ln for ln in lines if ln.startswith("still running silent.py (")]
    assert len(beats) >= 3, lines
    assert lines[-1] == "child warns"


def test_the_sweep_engine_status_lines_reach_a_log_through_run_reporting(tmp_path, monkeypatch):
    """The child's stderr is a pipe, so the engine prints its status lines; they pass
    through, and no heartbeat is needed while they come."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv(STATUS_ENV, "0.15")             # inherited by the child
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    child = _python(f"""
        import time
        from memkit import sweep
        def slow(x):
            time.sleep(0.3)
            return x
        units = [sweep.Unit({{"x": x}}, slow, (x,)) for x in range(4)]
        print(sweep.run(units, {str(tmp_path / 'c')!r}, desc="tiny sweep").results)
    """)
    assert run_reporting(child, label="tiny.py", stream=err) == 0
    assert out.getvalue().strip() == "[0, 1, 2, 3]"
    lines = err.getvalue().splitlines()
    status = [ln for ln in lines if ln.startswith("tiny sweep: ")]
    assert len(status) >= 3, lines
    assert status[-1].startswith("tiny sweep: 4/4 units done (4 computed")


def test_run_reporting_on_a_terminal_lets_the_child_inherit_it(monkeypatch):
    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)) or Done())
    assert run_reporting(["x", "--y"], stream=_Terminal(), cwd="/tmp") == 0
    assert calls == [(["x", "--y"], {"cwd": "/tmp"})]
