"""memkit.sweep, the one sweep engine: cache and resume, locks, shards, workers, progress,
the command-line options, and the SLURM job-array recipe (with a fake `sbatch`)."""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import tests.memkit.sweep_helpers as sh
from memkit import sweep
from memkit.cache import ResultCache
from memkit.progress import Progress, StatusLine, format_seconds

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(sh.__file__)
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_lock(path: Path, pid: int, host: str, age: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "host": host, "started": time.time() - age,
                                "token": "someone-else"}))
    if age:
        t = time.time() - age
        os.utime(path, (t, t))


def _without_pid(results):
    return [{k: v for k, v in r.items() if k != "pid"} for r in results]


# ------------------------------------------------------------------ cache and resume
def test_results_are_cached_and_a_rerun_computes_nothing(tmp_path):
    log = tmp_path / "log"
    units = sh.units(6, log=str(log))
    first = sweep.run(units[:3], tmp_path / "c", progress=False)
    assert (first.computed, first.cached) == (3, 0)
    again = sweep.run(units, tmp_path / "c", progress=False)          # resume: only the rest
    assert (again.computed, again.cached, again.by_others, again.missing) == (3, 3, 0, 0)
    assert sorted(Counter(h for h, _ in sh.computed_log(log)).values()) == [1] * 6
    assert again.results[:3] == first.results
    # the file format is memkit.cache's: a ResultCache reads the engine's results
    rc = ResultCache(tmp_path / "c")
    assert [rc.get(u.key) for u in units] == again.results
    assert {p.name for p in (tmp_path / "c").iterdir()} == {f"{u.hash}.json" for u in units}
    # computed results are returned as stored (numpy converted), equal to a later read
    assert again.results == sweep.run(units, tmp_path / "c", progress=False).results
    assert isinstance(again.results[5]["count"], int) and isinstance(again.results[5]["values"], list)


def test_same_key_same_file_as_result_cache(tmp_path):
    key = {"v": 1, "rule": "hebb", "N": 100, "alpha": 0.1}
    rc = ResultCache(tmp_path)
    assert rc.path(key).name == f"{sweep.Unit(key, sh.compute).hash}.json"
    assert sweep.lock_path(rc, key) == rc.path(key).with_suffix(".lock")


def test_a_unit_listed_twice_is_computed_once(tmp_path):
    log = tmp_path / "log"
    u = sh.units(3, log=str(log))
    r = sweep.run([u[0], u[1], u[0], u[2]], tmp_path / "c", progress=False)
    assert (r.computed, r.repeats, r.read) == (3, 1, 1)
    assert r.results[0] == r.results[2]
    assert len(sh.computed_log(log)) == 3


def test_an_interrupted_unit_releases_its_lock_and_stores_nothing(tmp_path):
    bad = sweep.Unit({"x": 5, "fail": True}, sh.compute, ({"x": 5, "fail": True},))
    units = sh.units(2) + [bad] + sh.units(4)[2:]
    with pytest.raises(ValueError, match="unit 5 fails on purpose"):
        sweep.run(units, tmp_path / "c", progress=False)
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == sorted(f"{u.hash}.json" for u in units[:2])   # no lock, no result of the failure
    with pytest.raises(ValueError, match="fails on purpose"):       # the same with workers
        sweep.run(units, tmp_path / "w", workers=2, progress=False)
    assert not list((tmp_path / "w").glob("*.lock")) and not list((tmp_path / "w").glob("*.tmp"))
    assert not (tmp_path / "w" / f"{bad.hash}.json").exists()


# ------------------------------------------------------------------ two processes, one cache
def test_two_processes_on_one_cache_do_disjoint_work(tmp_path):
    """Two real processes on one cache: every unit computed exactly once, by one of them."""
    log, cache = tmp_path / "log", tmp_path / "c"
    cmd = [sys.executable, str(HELPER), "--cache", str(cache), "--n", "12", "--sleep", "0.15",
           "--log", str(log)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    done = sh.computed_log(log)
    hashes = [u.hash for u in sh.units(12)]
    assert sorted(h for h, _ in done) == sorted(hashes)               # each unit exactly once
    pids = {o["pid"] for o in outs}
    assert {pid for _, pid in done} == pids                           # both did some of the work
    assert sum(o["computed"] for o in outs) == 12
    for o in outs:                                                    # and each returns every unit
        assert o["missing"] == 0 and o["computed"] + o["by_others"] == 12
        assert [r["x"] for r in o["results"]] == list(range(12))
    assert outs[0]["results"] == outs[1]["results"]
    by_hash = dict(done)
    assert all(r["pid"] == by_hash[h] for r, h in zip(outs[0]["results"], hashes))
    assert not list(cache.glob("*.lock"))


# ------------------------------------------------------------------ shards
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_shards_cover_every_unit_exactly_once(tmp_path, n):
    units = sh.units(40)
    owners = {u.hash: [i for i in range(1, n + 1) if sweep.in_shard(u.hash, (i, n))] for u in units}
    assert all(len(v) == 1 for v in owners.values())
    shuffled = units[:]
    random.Random(n).shuffle(shuffled)
    log = tmp_path / "log"
    for i in range(1, n + 1):
        order = sh.units(40, log=str(log))
        if i % 2:
            random.Random(i).shuffle(order)                           # order does not matter
        r = sweep.run(order, tmp_path / "c", shard=f"{i}/{n}", progress=False)
        assert r.computed == sum(1 for v in owners.values() if v == [i])
    assert sorted(h for h, _ in sh.computed_log(log)) == sorted(owners)
    final = sweep.run(shuffled, tmp_path / "c", progress=False)        # the assembling run
    assert (final.computed, final.cached, final.missing) == (0, 40, 0)


def test_a_shard_does_not_wait_for_other_shards(tmp_path):
    units = sh.units(10)
    cache = ResultCache(tmp_path / "c")
    other = next(u for u in units if not sweep.in_shard(u.hash, (1, 2)))
    _write_lock(sweep.lock_path(cache, other.key), os.getppid(), sweep.HOST)   # live, in flight
    t0 = time.monotonic()
    r = sweep.run(units, cache, shard=(1, 2), progress=False, poll=0.05)
    assert time.monotonic() - t0 < 5
    n1 = sum(sweep.in_shard(u.hash, (1, 2)) for u in units)
    assert r.computed == n1 and r.missing == 10 - n1 and not r.complete
    assert [x is None for x in r.results] == [not sweep.in_shard(u.hash, (1, 2)) for u in units]
    assert "missing" in r.summary() and "shard 1/2" in r.summary()


@pytest.mark.parametrize("bad", [(0, 3), (4, 3), (1, 0), "x", "1/", "a/b", (1.0, 2), (True, 2)])
def test_bad_shards_are_refused_by_the_api(bad):
    with pytest.raises(ValueError, match="shard must be"):
        sweep.check_shard(bad)


@pytest.mark.parametrize("value", ["0/3", "4/3", "1/0", "x", "-1/2"])
def test_bad_shard_option_is_one_line_exit_2(value, tmp_path):
    r = CliRunner().invoke(sh.main, ["--cache", str(tmp_path / "c"), "--shard", value])
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith("Error:") and "--shard" in lines[0] and value in lines[0], lines
    assert not (tmp_path / "c").exists()
    r = CliRunner().invoke(sh.main, ["--cache", str(tmp_path / "c"), "--workers", "0"])
    assert r.exit_code == 2 and "--workers" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ locks
@pytest.mark.parametrize("kind", ["dead-pid", "no-heartbeat"])
def test_a_stale_lock_is_taken_over(tmp_path, kind):
    log = tmp_path / "log"
    units = sh.units(3, log=str(log))
    cache = ResultCache(tmp_path / "c")
    lock = sweep.lock_path(cache, units[1].key)
    if kind == "dead-pid":
        _write_lock(lock, _dead_pid(), sweep.HOST)                    # this host, owner gone
    else:
        _write_lock(lock, 1, "another-host", age=120)                 # elsewhere, silent 120 s
    r = sweep.run(units, cache, progress=False, stale_after=60, poll=0.05, timeout=10)
    assert r.computed == 3 and r.by_others == 0 and not lock.exists()
    assert len(sh.computed_log(log)) == 3


def test_a_process_killed_mid_unit_leaves_a_lock_the_next_run_takes_over(tmp_path):
    """SIGKILL inside a unit: no result, a lock with a dead pid; the next run takes it
    over at once (same host) and computes the unit."""
    cache, log = tmp_path / "c", tmp_path / "log"
    p = subprocess.Popen([sys.executable, str(HELPER), "--cache", str(cache), "--n", "1", "--sleep", "30",
                          "--log", str(log)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()              # kill it inside the unit: locked, and computing
        while not (list(cache.glob("*.lock")) and sh.computed_log(log)) \
                and time.monotonic() - t0 < 30:
            time.sleep(0.05)
    finally:
        p.kill()
        p.wait()
    [lock] = list(cache.glob("*.lock"))
    assert sweep.read_lock(lock)["pid"] == p.pid
    r = sweep.run(sh.units(1, log=str(log)), cache, progress=False, poll=0.05, timeout=10)
    assert r.computed == 1 and not lock.exists()
    assert [pid for _, pid in sh.computed_log(log)] == [p.pid, os.getpid()]


def test_a_live_lock_is_respected_and_waited_for(tmp_path):
    log = tmp_path / "log"
    units = sh.units(4, log=str(log))
    cache = ResultCache(tmp_path / "c")
    lock = sweep.lock_path(cache, units[0].key)
    _write_lock(lock, os.getppid(), "another-host")                   # fresh: another machine at work
    expected = sh.compute(units[0].key)

    def other_machine():                                              # finishes after a while
        time.sleep(0.6)
        cache.put(units[0].key, expected)
        lock.unlink()

    t = threading.Thread(target=other_machine)
    t.start()
    seen = []
    r = sweep.run(units, cache, progress=False, poll=0.05, stale_after=60,
                  on_result=lambda i, res, source: seen.append((i, source)))
    t.join()
    assert (r.computed, r.by_others) == (3, 1)
    assert r.results[0] == sweep._as_stored(expected)
    assert seen[-1] == (0, "other") and {i for i, _ in seen} == {0, 1, 2, 3}
    assert units[0].hash not in {h for h, _ in sh.computed_log(log)}  # never computed here
    # a live owner that never finishes: the wait ends with a TimeoutError naming the lock
    _write_lock(sweep.lock_path(cache, sh.units(5)[4].key), os.getppid(), "another-host")
    with pytest.raises(TimeoutError, match=r"1 units still locked .*another-host"):
        sweep.run(sh.units(5), cache, progress=False, poll=0.05, timeout=0.3)


def test_lock_heartbeat_and_takeover_api(tmp_path):
    p = tmp_path / "u.lock"
    a = sweep.UnitLock(p, stale_after=60, heartbeat=0.05)
    assert a.acquire()
    info = sweep.read_lock(p)
    assert info["pid"] == os.getpid() and info["host"] == sweep.HOST and "started" in info
    t = time.time() - 100
    os.utime(p, (t, t))
    time.sleep(0.3)
    assert sweep.read_lock(p)["age"] < 5                              # the heartbeat refreshed it
    b = sweep.UnitLock(p, stale_after=60)
    assert not b.acquire() and b.owner["token"] == a.token            # a live lock is respected
    a.release()
    assert not p.exists()
    assert b.acquire() and b.took_over is None
    b.release()
    _write_lock(p, _dead_pid(), sweep.HOST)
    c = sweep.UnitLock(p)
    assert c.acquire() and "dead" in c.took_over
    c.release()
    assert not list(tmp_path.iterdir())                               # nothing left behind
    rows = sweep.status(sh.units(2), tmp_path / "s")
    assert [r["state"] for r in rows] == ["missing", "missing"]


# ------------------------------------------------------------------ workers
def test_workers_give_the_serial_results(tmp_path):
    units = sh.units(8, sleep=0.02, log=str(tmp_path / "log"))
    serial = sweep.run(units, tmp_path / "a", progress=False)
    par = sweep.run(units, tmp_path / "b", workers=2, progress=False)
    assert par.computed == 8 and par.results is not None
    assert _without_pid(par.results) == _without_pid(serial.results)
    assert {r["pid"] for r in par.results}.isdisjoint({os.getpid()})  # computed in the workers
    files = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "a").iterdir())
    assert Counter(h for h, _ in sh.computed_log(tmp_path / "log")) == Counter(
        {u.hash: 2 for u in units})                                   # once per run, never twice


def test_every_unit_runs_on_one_thread_and_the_caller_keeps_its_threads(tmp_path):
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        units = [sweep.Unit({"x": x, "t": "threads"}, sh.threads_seen, ({"x": x},)) for x in range(3)]
        serial = sweep.run(units, tmp_path / "a", progress=False).results
        assert torch.get_num_threads() == 2                       # restored after the units
        par = sweep.run(units, tmp_path / "b", workers=2, progress=False).results
    finally:
        torch.set_num_threads(before)
    for r in serial + par:
        assert r["torch"] == 1 and r["blas"] in ([], [1])
    assert serial == par          # bit for bit: the serial run computes as the workers do


def test_workers_load_functions_of_scripts_not_importable_by_name(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("_loaded_by_path", HELPER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    units = [sweep.Unit({"x": x}, mod.compute, ({"x": x},)) for x in range(3)]
    r = sweep.run(units, tmp_path / "c", workers=2, progress=False)
    assert [x["x"] for x in r.results] == [0, 1, 2]


# ------------------------------------------------------------------ progress
def test_status_line_off_a_terminal(tmp_path):
    buf = io.StringIO()
    n = {"i": 0}
    with StatusLine(lambda: f"step {n['i']}", every=0.05, stream=buf):
        for i in range(5):
            n["i"] = i
            time.sleep(0.05)
    lines = buf.getvalue().splitlines()
    assert len(lines) >= 3 and lines[-1] == "step 4"                  # periodic, then the totals
    quiet = io.StringIO()
    with StatusLine(lambda: "x", every=30, stream=quiet):             # a short job prints nothing
        pass
    assert quiet.getvalue() == ""
    buf = io.StringIO()
    with Progress(3, desc="job", unit="unit", stream=buf, every=0.05) as bar:
        for _ in range(3):
            time.sleep(0.06)
            bar.update(1)
    assert "job: 3/3 units" in buf.getvalue().splitlines()[-1]
    assert format_seconds(3723) == "1h02m03s" and format_seconds(61) == "1m01s"


def test_sweep_status_line_counts(tmp_path, monkeypatch):
    """Off a terminal the engine prints done / total, computed, from the cache, locked by
    others and the elapsed time (every 30 s; here every 0.05 s)."""
    buf = io.StringIO()
    units = sh.units(3, sleep=0.1)
    sweep.run(units[:1], tmp_path / "c", progress=False)
    monkeypatch.setattr(sys, "stderr", buf)
    monkeypatch.setattr(sweep, "Progress", lambda *a, **k: Progress(*a, **dict(k, every=0.05)))
    r = sweep.run(units, tmp_path / "c", desc="tiny")
    monkeypatch.undo()
    last = buf.getvalue().strip().splitlines()[-1]
    assert r.computed == 2
    assert last.startswith("tiny: 3/3 units done (2 computed, 1 from the cache, 0 locked by others)")
    assert last.endswith("elapsed")


# ------------------------------------------------------------------ the SLURM recipe
FAKE_SBATCH = r'''#!{python}
"""A fake sbatch: runs the script of a job array at once, every task in parallel, with
SLURM's array variables; prints the job id with --parsable. --dependency is accepted
(the fake runs synchronously, so it always holds)."""
import os, subprocess, sys
args = sys.argv[1:]
array, parsable = None, False
while args and args[0].startswith("-"):
    a = args.pop(0)
    if a.startswith("--array="):
        array = a.split("=", 1)[1]
    elif a == "--parsable":
        parsable = True
    elif a.startswith("--dependency="):
        pass
    else:
        sys.exit(f"fake sbatch: unsupported option {{a}}")
jobid = str(1000 + len(os.listdir(".")))
ids = [None]
if array:
    lo, hi = (int(x) for x in array.split("-"))
    ids = list(range(lo, hi + 1))
procs = []
for i in ids:
    env = dict(os.environ, SLURM_JOB_ID=jobid)
    if i is not None:
        env.update(SLURM_ARRAY_JOB_ID=jobid, SLURM_ARRAY_TASK_ID=str(i),
                   SLURM_ARRAY_TASK_COUNT=str(len(ids)), SLURM_ARRAY_TASK_MIN=str(ids[0]),
                   SLURM_ARRAY_TASK_MAX=str(ids[-1]))
    out = open(f"slurm-{{jobid}}_{{'x' if i is None else i}}.out", "w")
    procs.append(subprocess.Popen(["bash"] + args, env=env, stdout=out, stderr=subprocess.STDOUT))
codes = [p.wait() for p in procs]
print(jobid if parsable else f"Submitted batch job {{jobid}}")
sys.exit(max(codes))
'''


@pytest.mark.parametrize("array", ["1-4", "0-2"])
def test_slurm_job_array_recipe(tmp_path, array):
    """docs/sweeps.md's recipe with a fake sbatch: the array's tasks fill one cache, each
    its shard; the assembling run computes nothing and returns every unit."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "sbatch").write_text(FAKE_SBATCH.format(python=sys.executable))
    (bin_ / "sbatch").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    cache, log = tmp_path / "shared" / "cache", tmp_path / "shared" / "log"
    sweep_cmd = f"{sys.executable} {HELPER} --n 16 --sleep 0.02 --cache {cache} --log {log}"
    recipe = (f"set -e\njid=$(sbatch --parsable --array={array} {ROOT}/scripts/slurm_sweep.sh {sweep_cmd})\n"
              f"sbatch --dependency=afterok:$jid {ROOT}/scripts/slurm_sweep.sh {sweep_cmd}\n")
    env = dict(ENV, PATH=f"{bin_}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run(["bash", "-c", recipe], cwd=work, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr, [p.read_text() for p in work.iterdir()])
    lo, hi = (int(x) for x in array.split("-"))
    n = hi - lo + 1
    tasks = sorted(work.glob("slurm-*_[0-9]*.out"))
    assert len(tasks) == n
    computed = []
    for t in tasks:
        text = t.read_text()
        assert "shard " in text and "1 worker(s)" in text, text
        res = json.loads(text.strip().splitlines()[-1])
        assert res["by_others"] == 0        # shards never compete for a unit
        computed.append(res["computed"])
    assert sorted(h for h, _ in sh.computed_log(log)) == sorted(u.hash for u in sh.units(16))
    assert sum(computed) == 16
    final = json.loads(next(work.glob("slurm-*_x.out")).read_text().strip().splitlines()[-1])
    assert (final["computed"], final["cached"], final["missing"]) == (0, 16, 0)
    assert [x["x"] for x in final["results"]] == list(range(16))


def test_slurm_script_refuses_a_stepped_array(tmp_path):
    env = dict(ENV, SLURM_ARRAY_TASK_ID="5", SLURM_ARRAY_TASK_COUNT="3", SLURM_ARRAY_TASK_MIN="1")
    r = subprocess.run(["bash", str(ROOT / "scripts" / "slurm_sweep.sh"), "true"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "contiguous" in r.stderr
