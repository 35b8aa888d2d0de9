"""One sweep engine: units of work, their cache, locks, shards and local workers.

Every sweep of the project (the UDDM sweep, each associative-memory experiment) is a
list of units. A unit is a configuration (a JSON-able dict: the cache key, holding
everything its result depends on) and a function computing the result. `run(units,
cache)` returns every unit's result:

- **Cache and resume.** Results live in a `memkit.cache.ResultCache`: one file
  `<root>/<config_hash(key)>.json` per unit. Units already there are read, never
  recomputed; an interrupted sweep loses at most the units in flight.
- **Locks.** A unit being computed is locked by `<root>/<hash>.lock` beside its result,
  created atomically (O_CREAT | O_EXCL) and holding JSON with the owner's pid, host and
  start time. While the unit runs, a background thread refreshes the lock's mtime
  every `heartbeat` seconds. A process that finds a unit locked by a live owner skips
  it, does the rest, then waits for the owner's result (polling; `timeout`). A lock is
  stale when, on this host, its pid is dead, or (any host) when its mtime is older than
  `stale_after` seconds (no heartbeat: the owner was killed on another machine, or
  hangs); a stale lock is taken over (renamed away, then created anew). So processes
  sharing one cache, on one machine or on a shared file system, never compute the same
  unit, and together they compute every unit once. Clocks of machines sharing a cache
  must agree to well within `stale_after`.
- **Shards.** `shard=(i, n)` (1 <= i <= n, `--shard i/n` on the command line) computes
  only the units with int(hash, 16) % n == i - 1: the shards of a job array cover every
  unit exactly once, whatever the order the units are listed in. A shard run reads the
  other shards' results when they are there, never waits for them, and reports how
  many are missing.
- **Workers.** `workers=k` starts k single-threaded processes ("spawn": OMP, BLAS and
  Numba limited to one thread before anything heavy is imported) that claim units
  through the same locks. Every unit seeds itself from its configuration and is
  computed on one thread (`one_thread`) in the serial run too, so the results are
  those of the serial run, bit for bit, and a shared cache never mixes thread counts.
- **Progress.** A tqdm bar on a terminal; off a terminal, a status line every 30 s
  (`memkit.progress`): units done / total, computed, from the cache, locked by others,
  elapsed.

A unit's function must be a module-level function (and its arguments picklable) for
`workers` > 1; a function of a script that is not importable by name (run as a file, or
loaded with importlib by the tests) is loaded from its file in the workers.

Beyond one machine there is no scheduler here: run one process per machine on a shared
cache, e.g. a SLURM job array with `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`
(docs/sweeps.md, scripts/slurm_sweep.sh).
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import pickle
import queue as queue_mod
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from memkit.cache import ResultCache
from memkit.io import _json_default, _pid_alive, config_hash
from memkit.progress import Progress, format_seconds

__all__ = ["Unit", "SweepRun", "UnitLock", "run", "status", "parse_shard", "check_shard",
           "in_shard", "lock_path", "read_lock", "STALE_AFTER", "HEARTBEAT", "POLL"]

STALE_AFTER = 600.0   # seconds without a heartbeat after which a lock is stale (any host)
HEARTBEAT = 30.0      # seconds between two refreshes of a held lock's mtime
POLL = 2.0            # seconds between two looks at units locked by other processes
HOST = socket.gethostname()


# ---------------------------------------------------------------------------- units
@dataclass(frozen=True)
class Unit:
    """One unit of work: its configuration `key` and `fn(*args)`, which computes its result.

    `key` is the cache key: a JSON-able configuration holding everything the result
    depends on (`config_hash(key)` names the result file and the lock). The result must
    be JSON-able and not None (numpy scalars and arrays are converted); it is returned
    as the cache file holds it. `label` is shown by the progress bar.
    """

    key: Any
    fn: Callable
    args: tuple = ()
    label: str = ""

    @property
    def hash(self) -> str:
        return config_hash(self.key)

    def compute(self):
        return self.fn(*self.args)


def lock_path(cache: ResultCache, key: Any) -> Path:
    """The lock file of the unit with configuration `key`: `<hash>.lock` beside its result."""
    return cache.path(key).with_suffix(".lock")


def _as_stored(result: Any) -> Any:
    """`result` as the cache file holds it (and as any later run reads it back)."""
    return json.loads(json.dumps(result, sort_keys=True, default=_json_default))


# ---------------------------------------------------------------------------- shards
def check_shard(shard) -> tuple[int, int] | None:
    """`shard` as (i, n) with 1 <= i <= n, or None; ValueError naming the value."""
    if shard is None:
        return None
    if isinstance(shard, str):
        return parse_shard(shard)
    try:
        i, n = shard
    except (TypeError, ValueError):
        raise ValueError(f"shard must be i/n (two integers), got {shard!r}") from None
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (i, n)):
        raise ValueError(f"shard must be i/n with integers 1 <= i <= n, got {i!r}/{n!r}")
    if n < 1:
        raise ValueError(f"shard must be i/n with n >= 1, got {i}/{n}")
    if not 1 <= i <= n:
        raise ValueError(f"shard must be i/n with 1 <= i <= n, got {i}/{n}")
    return (i, n)


def parse_shard(text: str) -> tuple[int, int]:
    """'2/8' -> (2, 8): shard 2 of 8 (1-based, as $SLURM_ARRAY_TASK_ID); ValueError naming it."""
    parts = str(text).strip().split("/")
    try:
        i, n = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        i = n = None
    if i is None:
        raise ValueError(f"shard must be i/n (e.g. 2/8), got {text!r}")
    return check_shard((i, n))


def in_shard(unit_hash: str, shard: tuple[int, int] | None) -> bool:
    """Whether the unit named `unit_hash` belongs to shard (i, n): int(hash, 16) % n == i - 1."""
    if shard is None:
        return True
    i, n = shard
    return int(unit_hash, 16) % n == i - 1


# ---------------------------------------------------------------------------- locks
def read_lock(path: str | os.PathLike) -> dict | None:
    """The lock at `path`: its JSON (pid, host, started, token) plus "age" (seconds since
    the last heartbeat) and "inode"; None if there is no lock. A lock being created (not
    yet written) has only age and inode."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            st = os.fstat(fh.fileno())
            text = fh.read()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
        if not isinstance(info, dict):
            info = {}
    except json.JSONDecodeError:
        info = {}
    info["age"] = time.time() - st.st_mtime
    info["inode"] = (st.st_dev, st.st_ino)
    return info


def _why_stale(info: dict, stale_after: float) -> str | None:
    """Why the lock `info` is stale, or None if its owner may still be at work."""
    pid = info.get("pid")
    if info.get("host") == HOST and isinstance(pid, int) and pid != os.getpid() \
            and not _pid_alive(pid):
        return f"its owner, pid {pid} on this host, is dead"
    if info["age"] > stale_after:
        return f"no heartbeat for {info['age']:.0f} s (stale after {stale_after:g} s)"
    return None


class UnitLock:
    """The lock file of one unit in flight (`<hash>.lock` beside its result).

    Parameters
    ----------
    path : the lock file
    stale_after : seconds without a heartbeat after which any host's lock is stale
    heartbeat : seconds between refreshes of the lock's mtime while held (a background
        thread; default min(HEARTBEAT, stale_after / 4))

    `acquire()` returns True when this process holds the lock (taking over a stale
    one), False when a live owner holds it (`owner` then has its JSON). `release()`
    removes the lock if it is still this process's. As a context manager it acquires
    or raises RuntimeError naming the owner.
    """

    def __init__(self, path: str | os.PathLike, stale_after: float = STALE_AFTER,
                 heartbeat: float | None = None):
        if not stale_after > 0:
            raise ValueError(f"stale_after must be > 0 seconds, got {stale_after!r}")
        self.path = Path(path)
        self.stale_after = float(stale_after)
        self.heartbeat = float(heartbeat) if heartbeat is not None else min(HEARTBEAT, stale_after / 4)
        if not self.heartbeat > 0:
            raise ValueError(f"heartbeat must be > 0 seconds, got {heartbeat!r}")
        self.token = uuid.uuid4().hex
        self.owner: dict | None = None      # the live owner's lock, after a failed acquire
        self.took_over: str | None = None    # why a stale lock was taken over
        self.held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- acquire / release
    def acquire(self) -> bool:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
            except FileExistsError:
                if self._take_over_if_stale():
                    continue
                return False
            info = {"pid": os.getpid(), "host": HOST, "started": time.time(),
                    "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "token": self.token}
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            self.held = True
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat, name="memkit-lock-heartbeat",
                                            daemon=True)
            self._thread.start()
            return True
        return False

    def _take_over_if_stale(self) -> bool:
        """Remove the lock if stale (True: try to create it again); False if its owner lives."""
        info = read_lock(self.path)
        if info is None:
            return True                                  # released meanwhile
        why = _why_stale(info, self.stale_after)
        if why is None:
            self.owner = info
            return False
        aside = self.path.with_name(f"{self.path.name}.stale.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return True                                  # another process took it over first
        moved = read_lock(aside)
        if moved is not None and (moved.get("token") != info.get("token")
                                  or moved["inode"] != info["inode"]):
            # between our look and the rename another process replaced the stale lock by
            # its own fresh one, and we moved that: put it back, it is theirs
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            with contextlib.suppress(OSError):
                os.unlink(aside)
            self.owner = moved
            return False
        with contextlib.suppress(OSError):
            os.unlink(aside)
        self.took_over = why
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                os.utime(self.path)
            except OSError:
                return                                   # the lock is gone: nothing to refresh

    def release(self) -> None:
        if not self.held:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.held = False
        info = read_lock(self.path)
        if info is not None and info.get("token") == self.token:   # never remove another's
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def __enter__(self) -> "UnitLock":
        if not self.held and not self.acquire():
            o = self.owner or {}
            raise RuntimeError(f"{self.path} is locked by pid {o.get('pid')} on {o.get('host')}")
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def wait_for_lock(lock: UnitLock, poll: float = POLL, timeout: float | None = None) -> UnitLock:
    """Acquire `lock`, waiting while a live owner holds it (TimeoutError after `timeout` s)."""
    t0 = time.monotonic()
    while not lock.acquire():
        if timeout is not None and time.monotonic() - t0 > timeout:
            o = lock.owner or {}
            raise TimeoutError(f"{lock.path} is still locked by pid {o.get('pid')} on "
                               f"{o.get('host')} after {timeout:g} s")
        time.sleep(poll)
    return lock


# ---------------------------------------------------------------------------- one claim
def _claim(unit: Unit, cache: ResultCache, stale_after: float, heartbeat: float | None):
    """Try to get one unit's result: ("other", r) if in the cache, ("computed", r) if this
    process computed it under its lock, ("locked", owner) if a live owner computes it.

    An exception inside the unit releases the lock, stores nothing and propagates.
    """
    r = cache.get(unit.key)
    if r is not None:
        return "other", r
    lock = UnitLock(lock_path(cache, unit.key), stale_after, heartbeat)
    if not lock.acquire():
        return "locked", lock.owner
    try:
        r = cache.get(unit.key)          # finished between our look and our lock
        if r is not None:
            return "other", r
        with one_thread():
            result = unit.compute()
        cache.put(unit.key, result)
        return "computed", _as_stored(result)
    finally:
        lock.release()


@contextlib.contextmanager
def one_thread():
    """Run the enclosed code on one thread of torch, BLAS/OpenMP and Numba; restore after.

    Every unit is computed inside this, in this process or in a worker, so a unit's
    result never depends on how many threads the process that happened to compute it
    had: sums in BLAS and torch are not bit-identical across thread counts, and a
    shared cache would otherwise mix results of one and of several threads. (Speed comes
    from `workers`, one single-threaded process per core, not from threads per unit.)
    """
    from threadpoolctl import threadpool_limits
    torch = sys.modules.get("torch")
    numba = sys.modules.get("numba")
    old_torch = torch.get_num_threads() if torch is not None else None
    old_numba = None
    if numba is not None:
        try:
            old_numba = numba.get_num_threads()
            numba.set_num_threads(1)
        except Exception:                     # no threading layer launched yet: nothing to limit
            old_numba = None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old_torch)
        if old_numba is not None:
            numba.set_num_threads(old_numba)


# ---------------------------------------------------------------------------- the run
@dataclass
class SweepRun:
    """What `run` did: every unit's result (in the order given) and where it came from.

    results : one per unit; None only for units of other shards not in the cache
    computed : units this run (or its workers) computed
    cached : units in the cache when the run started
    by_others : units other processes computed while this run went on (waited for, or
        found finished)
    repeats : units listed twice (same key) beyond their first listing: computed once
    missing : units of other shards not in the cache (shard runs only)
    """

    results: list
    computed: int = 0
    cached: int = 0
    by_others: int = 0
    repeats: int = 0
    missing: int = 0
    shard: tuple | None = None
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def read(self) -> int:
        """Units not computed by this run (read back from the cache)."""
        return self.cached + self.by_others + self.repeats

    def summary(self) -> str:
        n = len(self.results)
        s = (f"{n} units: {self.computed} computed, {self.cached + self.repeats} from the cache, "
             f"{self.by_others} by other processes")
        if self.shard is not None:
            s += f"; shard {self.shard[0]}/{self.shard[1]}, {self.missing} units of other shards missing"
        return s + f"; {format_seconds(self.seconds)}"


class _Tally:
    """The counts behind the progress bar and the status line."""

    def __init__(self, desc: str, total: int, unit: str):
        self.desc, self.total, self.unit = desc, total, unit
        self.done = self.computed = self.cached = 0
        self.locked: set = set()
        self.t0 = time.monotonic()

    def line(self) -> str:
        return (f"{self.desc}: {self.done}/{self.total} {self.unit}s done ({self.computed} computed, "
                f"{self.cached} from the cache, {len(self.locked)} locked by others), "
                f"{format_seconds(time.monotonic() - self.t0)} elapsed")


def run(units: Iterable[Unit], cache: ResultCache | str | os.PathLike, *,
        shard: tuple[int, int] | str | None = None, workers: int = 1,
        stale_after: float = STALE_AFTER, heartbeat: float | None = None, poll: float = POLL,
        timeout: float | None = None, progress: bool = True, desc: str = "sweep",
        unit_name: str = "unit", on_result: Callable[[int, Any, str], None] | None = None) -> SweepRun:
    """Every unit's result, each computed at most once by all processes sharing `cache`.

    Parameters
    ----------
    units : the units, in the order to compute them (cheap first gives a first look fast)
    cache : a ResultCache or its folder
    shard : (i, n) or "i/n": compute only this shard's units (see the module doc)
    workers : local worker processes (1: compute in this process)
    stale_after, heartbeat : of the locks (`UnitLock`)
    poll : seconds between looks at units locked by other processes
    timeout : seconds to wait, once nothing else is left, for units locked by others
        (TimeoutError naming the owner); None waits (a dead owner's lock goes stale)
    progress : the bar / status line; desc and unit_name label it
    on_result : called as on_result(index, result, source) for each unit's result as it
        becomes available; source is "cache", "computed" or "other" (another process)

    Returns a `SweepRun`. An exception inside a unit releases its lock, stores nothing
    and propagates (with workers: after the other workers were stopped).
    """
    units = list(units)
    for u in units:
        if not isinstance(u, Unit):
            raise TypeError(f"run() takes Unit objects, got {type(u).__name__}")
    shard = check_shard(shard)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if not poll > 0:
        raise ValueError(f"poll must be > 0 seconds, got {poll!r}")
    cache = cache if isinstance(cache, ResultCache) else ResultCache(cache)
    t_start = time.monotonic()
    hashes = [u.hash for u in units]
    first: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    unique = sorted(first.values())
    mine = [i for i in unique if in_shard(hashes[i], shard)]
    out = SweepRun(results=[None] * len(units), shard=shard)
    mine_set = set(mine)
    tally = _Tally(desc, len(mine), unit_name)
    bar = Progress(len(mine), desc, unit_name, enabled=progress, status=tally.line)

    def record(i: int, result: Any, source: str) -> None:
        out.results[i] = result
        tally.locked.discard(i)
        if source == "computed":
            out.computed += 1
            tally.computed += 1
        elif source == "other":
            out.by_others += 1
        else:
            out.cached += 1
            tally.cached += i in mine_set
        if i in mine_set:
            tally.done += 1
            bar.update(1, **({"last": units[i].label} if units[i].label else {}))
        if on_result is not None:
            on_result(i, result, source)

    try:
        for i in unique:                       # resume: what is there is read, not computed
            r = cache.get(units[i].key)
            if r is not None:
                record(i, r, "cache")
        todo = [i for i in mine if out.results[i] is None]
        lock_args = (stale_after, heartbeat)
        if workers > 1 and len(todo) > 1:
            _run_workers(units, todo, cache, min(workers, len(todo)), lock_args, record, tally)
            todo = [i for i in todo if out.results[i] is None]
        locked = []
        for i in todo:                         # claim what no one else holds
            source, r = _claim(units[i], cache, *lock_args)
            if source == "locked":
                locked.append(i)
                tally.locked.add(i)
            else:
                record(i, r, source)
        t_wait = time.monotonic()
        while locked:                          # then wait for what others compute
            if timeout is not None and time.monotonic() - t_wait > timeout:
                o = read_lock(lock_path(cache, units[locked[0]].key)) or {}
                raise TimeoutError(
                    f"{len(locked)} units still locked by other processes after {timeout:g} s, "
                    f"e.g. {lock_path(cache, units[locked[0]].key)} (pid {o.get('pid')} on "
                    f"{o.get('host')})")
            time.sleep(poll)
            still = []
            for i in locked:
                source, r = _claim(units[i], cache, *lock_args)
                if source == "locked":
                    still.append(i)
                else:
                    record(i, r, source)
            locked = still
    finally:
        bar.close()
    for i, h in enumerate(hashes):             # repeats share their first listing's result
        j = first[h]
        if j != i and out.results[j] is not None:
            out.results[i] = out.results[j]
            out.repeats += 1
    out.missing = sum(r is None for r in out.results)
    out.seconds = time.monotonic() - t_start
    return out


def status(units: Iterable[Unit], cache: ResultCache | str | os.PathLike,
           stale_after: float = STALE_AFTER) -> list[dict]:
    """Per unit: {"hash", "state", "lock"}; state is "done", "running" (locked by a live
    owner; "lock" holds its pid, host, age), "stale" (a dead owner's lock) or "missing"."""
    cache = cache if isinstance(cache, ResultCache) else ResultCache(cache)
    rows = []
    for u in units:
        row = {"hash": u.hash, "state": "missing", "lock": None}
        if u.key in cache:
            row["state"] = "done"
        else:
            info = read_lock(lock_path(cache, u.key))
            if info is not None:
                row["lock"] = {k: info.get(k) for k in ("pid", "host", "started", "age")}
                row["state"] = "stale" if _why_stale(info, stale_after) else "running"
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- workers
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_environment():
    """Set the thread-count variables to 1 while worker processes are started.

    A spawned worker inherits the environment at its start, so OpenMP, BLAS and Numba
    read one thread before the worker imports anything (with "spawn", that includes the
    parent's main script, which the worker imports first).
    """
    old = {v: os.environ.get(v) for v in _THREAD_VARS}
    os.environ.update({v: "1" for v in _THREAD_VARS})
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


class _ScriptFunction:
    """A module-level function of a file not importable by name (an experiment script
    loaded with importlib), pickled as (file, name) and loaded from the file in the worker."""

    _modules: dict = {}

    def __init__(self, path: str, name: str):
        self.path, self.name = path, name

    def __call__(self, *args, **kwargs):
        mod = self._modules.get(self.path)
        if mod is None:
            stem = Path(self.path).stem
            spec = importlib.util.spec_from_file_location(f"_memkit_sweep_{stem}", self.path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            self._modules[self.path] = mod
        return getattr(mod, self.name)(*args, **kwargs)


def _portable(fn: Callable) -> Callable:
    """`fn` in a form a spawned worker can unpickle (see `_ScriptFunction`)."""
    if isinstance(fn, functools.partial):
        return functools.partial(_portable(fn.func), *fn.args, **fn.keywords)
    namespace = getattr(fn, "__globals__", {})        # the function's module, registered or not
    if namespace.get("__name__") == "__main__" and not namespace.get("__file__"):
        raise ValueError(f"workers need the units' functions in a file (a module or a script), "
                         f"not defined interactively: {fn!r}")
    try:
        pickle.dumps(fn)
        return fn
    except (pickle.PicklingError, AttributeError, TypeError):
        pass
    path, name = namespace.get("__file__"), getattr(fn, "__qualname__", "")
    if path and name and "." not in name and namespace.get(name) is fn:
        return _ScriptFunction(path, name)
    raise ValueError(f"workers need a module-level function for every unit, got {fn!r}")


def _worker(payload: list, cache_root: str, lock_args: tuple, q, stop) -> None:
    """A worker process: claim each unit in turn (never waiting), report what it computed."""
    if "torch" in sys.modules:          # imported with the parent's main script: one thread
        sys.modules["torch"].set_num_threads(1)
    cache = ResultCache(cache_root)
    try:
        for i, unit in payload:
            if stop.is_set():
                break
            try:
                source, r = _claim(unit, cache, *lock_args)
            except BaseException as exc:             # noqa: B902 - reported, then the worker ends
                if not stop.is_set() and not isinstance(exc, KeyboardInterrupt):
                    try:
                        blob = pickle.dumps(exc)
                    except Exception:
                        blob = None
                    q.put(("error", i, (blob, f"{type(exc).__name__}: {exc}",
                                        traceback.format_exc())))
                return
            if source == "computed":
                q.put(("computed", i, r))
            elif source == "locked":
                q.put(("locked", i, (r or {}).get("pid")))
    finally:
        q.put(("done", os.getpid(), None))


def _run_workers(units: Sequence[Unit], todo: list, cache: ResultCache, k: int, lock_args: tuple,
                 record: Callable, tally: _Tally) -> None:
    """Compute the units `todo` with k worker processes; what they skip (units locked by
    processes outside this run) is left to the caller.

    Every worker walks the whole list in order and claims units through the locks, so
    the order of the list (cheap units first) is kept and no unit is computed twice.
    On an error in one worker the others are interrupted (their locks released, nothing
    stored) and the error is raised here.
    """
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    payload = [(i, Unit(units[i].key, _portable(units[i].fn), units[i].args, units[i].label))
               for i in todo]
    q, stop = ctx.Queue(), ctx.Event()
    procs = []
    pool = _Pool(record, tally, stop)
    try:
        with _single_threaded_environment():
            for _ in range(k):
                p = ctx.Process(target=_worker, args=(payload, str(cache.root), lock_args, q, stop))
                p.start()
                procs.append(p)
        pool.pids = {p.pid for p in procs}
        while len(pool.done) < len(procs) and pool.failure is None:
            try:
                pool.handle(*q.get(timeout=0.5))
            except queue_mod.Empty:
                for p in procs:
                    if p.pid not in pool.done and p.exitcode is not None:
                        time.sleep(0.2)               # its last messages may still be on the way
                        pool.drain(q)
                        if p.pid not in pool.done:    # died without saying goodbye
                            pool.done.add(p.pid)
                            pool.fail(RuntimeError(
                                f"a sweep worker (pid {p.pid}) died with exit code {p.exitcode} "
                                f"(its output above says why; a script starting workers needs "
                                f"`if __name__ == \"__main__\":` around its main code)"))
    finally:
        stop.set()
        pool.wind_down(procs, q, grace=2.0)          # they stop after their current unit...
        for p in procs:
            if p.is_alive():      # ...or are interrupted: locks released, nothing stored
                with contextlib.suppress(OSError):
                    os.kill(p.pid, signal.SIGINT)
        pool.wind_down(procs, q, grace=10.0)
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        q.close()
    if pool.failure is not None:
        raise pool.failure


class _Pool:
    """The parent's side of the workers: their messages, and the first failure."""

    def __init__(self, record: Callable, tally: _Tally, stop):
        self.record, self.tally, self.stop = record, tally, stop
        self.pids: set = set()
        self.done: set = set()
        self.failure: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            self.stop.set()

    def handle(self, kind: str, a, b) -> None:
        if kind == "computed":
            self.record(a, b, "computed")
        elif kind == "locked":
            if b not in self.pids:                    # held outside this run
                self.tally.locked.add(a)
        elif kind == "done":
            self.done.add(a)
        elif kind == "error":
            blob, text, tb = b
            exc = None
            if blob is not None:
                with contextlib.suppress(Exception):
                    exc = pickle.loads(blob)
            if not isinstance(exc, BaseException):
                exc = RuntimeError(text)
            exc.worker_traceback = tb
            self.fail(exc)

    def drain(self, q) -> None:
        while True:
            try:
                self.handle(*q.get_nowait())
            except queue_mod.Empty:
                return

    def wind_down(self, procs, q, grace: float) -> None:
        """Wait up to `grace` seconds for the workers to exit, reading their messages
        meanwhile (a worker exits only once its messages are through the pipe)."""
        t0 = time.monotonic()
        while any(p.is_alive() for p in procs) and time.monotonic() - t0 < grace:
            with contextlib.suppress(Exception):
                self.drain(q)
            for p in procs:
                p.join(timeout=0.05)
        with contextlib.suppress(Exception):
            self.drain(q)
