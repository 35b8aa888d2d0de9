"""Progress of long work: a bar on a terminal, a periodic one-line status in a log.

tqdm draws a bar when its stream is a terminal and, with `disable=None`, nothing
otherwise, so a job whose output goes to a file (a SLURM log, the main command piped
into `tee`) stays silent for minutes. `StatusLine` fills that gap: while the output is
not a terminal it prints one line every `every` seconds (30 by default) from a
background thread, so a log shows that the job is alive and how far it is even while
one long unit of work runs. Runs shorter than `every` print nothing extra.

    with Progress(total=48, desc="uddm sweep cpu", unit="model") as bar:
        for ...:
            ...
            bar.update(1)

`Progress` is the usual pair (a tqdm bar, or a status line off a terminal; with
`bar=False` the status line alone, also on a terminal); `StatusLine` alone takes any
function returning the line, for loops that know more than a count (the sweep engine
reports computed / from the cache / locked by others). `run_reporting` runs a
subprocess so that its log, too, gets a line at least every `every` seconds (the
child's own lines, or "still running <label> (N s)" while the child is silent).

The interval is `STATUS_EVERY` (30 s) unless the environment variable
`MEMKIT_STATUS_EVERY` (seconds, > 0) says otherwise; it is read when a status line
starts, and child processes inherit it, so a test can shorten it for a whole run.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Callable, Sequence, TextIO

__all__ = ["STATUS_EVERY", "STATUS_ENV", "StatusLine", "Progress", "format_seconds",
           "is_terminal", "status_every", "run_reporting"]

STATUS_EVERY = 30.0   # seconds between two status lines off a terminal
STATUS_ENV = "MEMKIT_STATUS_EVERY"   # overrides STATUS_EVERY (seconds, > 0)


def status_every(every: float | None = None) -> float:
    """The status-line interval: `every` if given, else $MEMKIT_STATUS_EVERY, else 30 s.

    ValueError (naming the variable) when the value is not a number of seconds > 0."""
    what = "every"
    if every is None:
        raw = os.environ.get(STATUS_ENV, "").strip()
        if not raw:
            return STATUS_EVERY
        what = STATUS_ENV
        try:
            every = float(raw)
        except ValueError:
            raise ValueError(f"{STATUS_ENV} must be a number of seconds > 0, got {raw!r}") from None
    if not (isinstance(every, (int, float)) and every > 0 and every != float("inf")):
        raise ValueError(f"{what} must be a number of seconds > 0, got {every!r}")
    return float(every)


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default: sys.stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):     # no isatty, or a closed stream
        return False


def format_seconds(seconds: float) -> str:
    """1h02m03s, 5m12s or 12s: elapsed time at a glance."""
    s = int(round(max(seconds, 0.0)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m{s:02d}s"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


class StatusLine:
    """Print `status()` as one line every `every` seconds while output is not a terminal.

    Parameters
    ----------
    status : returns the line to print (called from the background thread; keep it cheap)
    every : seconds between lines (default: `status_every()`, 30 s unless
        $MEMKIT_STATUS_EVERY says otherwise)
    stream : where to print (default: sys.stderr when started)
    enabled : None = only when `stream` is not a terminal (a terminal has the bar);
        True / False force it on / off

    `start()` starts the thread, `stop()` ends it and, if at least one line was printed,
    prints a last one (the totals at the end of a long job). A context manager does both.
    """

    def __init__(self, status: Callable[[], str], every: float | None = None,
                 stream: TextIO | None = None, enabled: bool | None = None):
        self.status = status
        self.every = status_every(every)
        self.stream = stream
        self.enabled = enabled
        self.lines = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "StatusLine":
        if self.stream is None:
            self.stream = sys.stderr
        on = (not is_terminal(self.stream)) if self.enabled is None else self.enabled
        if on and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="memkit-status", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._print()

    def _print(self) -> None:
        try:
            line = " ".join(str(self.status()).split())
            print(line, file=self.stream, flush=True)
            self.lines += 1
        except Exception:        # a status line must never break the work it reports on
            pass

    def stop(self, final: bool = True) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if final and self.lines:
            self._print()

    def __enter__(self) -> "StatusLine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Progress:
    """A tqdm bar on a terminal and a `StatusLine` off it, for a loop of `total` steps.

    Parameters
    ----------
    total, desc, unit : as tqdm's
    enabled : False hides both (quiet)
    bar : False: no bar, the status line instead, also on a terminal
    initial : steps already done (e.g. read from a cache)
    every, stream : of the status line (every: see `status_every`)
    status : the status line's text (default: "desc: n/total units, elapsed")
    **tqdm_kw : passed on to tqdm (e.g. dynamic_ncols, mininterval)
    """

    def __init__(self, total: int, desc: str = "", unit: str = "it", enabled: bool = True,
                 initial: int = 0, every: float | None = None, stream: TextIO | None = None,
                 status: Callable[[], str] | None = None, bar: bool = True, **tqdm_kw):
        from tqdm.auto import tqdm

        self.total, self.desc, self.unit = int(total), desc, unit
        self.n = int(initial)
        self.t0 = time.monotonic()
        stream = sys.stderr if stream is None else stream
        on = enabled and (not bar or not is_terminal(stream))
        line = StatusLine(status or self._status, every, stream, enabled=True) if on else None
        self.bar = tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream,
                        disable=None if enabled and bar else True, **tqdm_kw)
        self.line = line.start() if line is not None else None

    def _status(self) -> str:
        return (f"{self.desc}: {self.n}/{self.total} {self.unit}s, "
                f"{format_seconds(time.monotonic() - self.t0)} elapsed")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def update(self, n: int = 1, **postfix) -> None:
        self.n += n
        if postfix:
            self.bar.set_postfix(**postfix, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        if self.line is not None:
            self.line.stop()
            self.line = None
        self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_reporting(cmd: Sequence[str], label: str | None = None, every: float | None = None,
                  stream: TextIO | None = None, **popen_kw) -> int:
    """Run `cmd` and return its exit status; off a terminal, a line at least every `every` s.

    On a terminal (`stream`, default sys.stderr) the child inherits the terminal and
    draws its own bars. Otherwise its stdout and stderr are passed on line by line (to
    sys.stdout and `stream`) and, whenever the child has printed nothing for `every`
    seconds, "still running <label> (<elapsed>)" goes to `stream`: a log never stays
    silent for long, whatever the child does. The child's output itself is unchanged.
    """
    stream = sys.stderr if stream is None else stream
    label = label or os.path.basename(str(cmd[0]))
    every = status_every(every)
    if is_terminal(stream):
        return subprocess.run(list(cmd), **popen_kw).returncode
    lock = threading.Lock()
    last = [time.monotonic()]

    def pump(pipe, out):
        for line in iter(pipe.readline, ""):
            with lock:
                last[0] = time.monotonic()
                try:
                    out.write(line)
                    out.flush()
                except (OSError, ValueError):
                    pass
        pipe.close()

    t0 = time.monotonic()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", bufsize=1, **popen_kw)
    pumps = [threading.Thread(target=pump, args=(proc.stdout, sys.stdout), daemon=True),
             threading.Thread(target=pump, args=(proc.stderr, stream), daemon=True)]
    for t in pumps:
        t.start()
    try:
        while True:
            with lock:
                wait = last[0] + every - time.monotonic()
            try:
                proc.wait(timeout=max(wait, 0.01))
                break
            except subprocess.TimeoutExpired:
                pass
            with lock:
                if time.monotonic() - last[0] >= every:
                    print(f"still running {label} ({format_seconds(time.monotonic() - t0)})",
                          file=stream, flush=True)
                    last[0] = time.monotonic()
    except BaseException:          # Ctrl-C reaches the child too (same process group)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        for t in pumps:
            t.join(timeout=5)
    return proc.returncode
