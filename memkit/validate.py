"""Checks of user-given values, shared by `amsim`, `uddm` and the experiments.

Each check raises ValueError with a message that names the option (as the caller
spells it: `--lr`, `beta`, ...) and the bad value, so the command line
(`Error: ...`, exit 2) and the Python API refuse the same values with the same
words. Counts are never reinterpreted: a negative, zero, fractional or boolean
count is an error, not a default.

`check_memory` compares an estimate of what an operation will allocate with the
memory the system has available (`MemAvailable` in /proc/meminfo) before anything
large is allocated.
"""
from __future__ import annotations

import math
import numbers
import os

__all__ = ["check_number", "check_count", "check_fraction_open", "check_choice",
           "available_memory", "check_memory", "format_bytes"]


def _real(name: str, value) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    return v


def check_number(name: str, value, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or open ends); ValueError naming it."""
    v = _real(name, value)
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not math.isfinite(v) or not lo_ok or not hi_ok:
        if low is not None and high is not None:
            rng = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            rng = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            rng = f"{'<' if high_open else '<='} {high:g}"
        else:
            rng = "finite"
        if not math.isfinite(v):
            rng = "finite" if rng == "finite" else "finite and " + rng
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    return v


def check_count(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """`value` as an int >= minimum (and <= maximum); a bool or a fraction is refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_fraction_open(name: str, value) -> float:
    """A fraction in (0, 1] (a corruption time, a training fraction)."""
    return check_number(name, value, 0.0, 1.0, low_open=True)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


# --------------------------------------------------------------------------- memory
def available_memory() -> int | None:
    """Bytes of MemAvailable from /proc/meminfo, or None where it cannot be read.

    The environment variable GENMEM_MEMAVAILABLE (bytes) overrides it (tests).
    """
    env = os.environ.get("GENMEM_MEMAVAILABLE")
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def check_memory(what: str, n_bytes: float, fraction: float = 0.9) -> None:
    """Refuse, before allocating, an operation estimated to need more than
    `fraction` of the available memory.

    `what` names the option(s) responsible, e.g. "-N 200000 (N x N couplings)".
    """
    avail = available_memory()
    if avail is None or not math.isfinite(float(n_bytes)):
        if not math.isfinite(float(n_bytes)):
            raise ValueError(f"{what} needs an unbounded amount of memory")
        return
    if n_bytes > fraction * avail:
        raise ValueError(f"{what} needs about {format_bytes(n_bytes)} of memory, "
                         f"but only {format_bytes(avail)} is available (MemAvailable)")
