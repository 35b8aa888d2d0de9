"""Self-checks for course exercises: tell a student whether an answer is right
without printing the answer.

A course sheet registers one checker per core question in a module
``course/checks/sheetNN.py``::

    from memkit.selfcheck import Checks
    checks = Checks(sheet=1)

    @checks.question("1.1b", tolerance="4 standard errors of 40 networks")
    def _(answer, *, N, P):
        expected = np.sqrt((P - 1) * (N - 1)) / N
        return checks.close(answer, expected, atol=0.01)

and the sheet's setup block loads it::

    from memkit.selfcheck import sheet_checks
    check = sheet_checks(1)
    check("1.1b", my_sd, N=N, P=P)     # prints "1.1(b): right" or how far off

A checker receives the student's answer and whatever context the question names
(sizes, the network, the data) and returns a :class:`Verdict` built by one of the
comparison helpers (:meth:`Checks.close`, :meth:`Checks.equal`,
:meth:`Checks.within`). The verdict's message says *right*, or how far off the answer
is relative to the tolerance ("off by 3.2 tolerances, too large"), never the expected
value itself. ``check`` returns the verdict, which is truthy when right, so a solution
can write ``assert check("1.1b", sd, N=N, P=P)``.

Every call is recorded in :data:`Checks.calls` (question, answer, context), so a
test can replay the solutions' answers and perturbed ones through the same checker.
:func:`perturb` gives an answer that a correct checker must reject.
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["Verdict", "Checks", "sheet_checks", "perturb", "find_course_dir"]

_QUESTION = re.compile(r"^(\d+)\.(\d+)([a-z])$")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one self-check.

    Attributes
    ----------
    right : bool
        Whether the answer is within tolerance.
    message : str
        What the student is told: "right", or how far off relative to the tolerance
        (never the expected value).
    distance : float
        |answer - expected| in units of the tolerance (0 for an exact match, inf
        for a wrong type or shape); an answer is right when distance <= 1.
    scale : float
        The tolerance itself, in the answer's units (used to build perturbed answers).
    """

    right: bool
    message: str
    distance: float
    scale: float

    def __bool__(self) -> bool:
        return self.right


@dataclass
class _Question:
    key: str
    func: Callable[..., Verdict]
    tolerance: str


def _label(key: str) -> str:
    """'1.2b' -> '1.2(b)'."""
    match = _QUESTION.match(key)
    return f"{match.group(1)}.{match.group(2)}({match.group(3)})" if match else key


class Checks:
    """The registry of one sheet's self-checks.

    Parameters
    ----------
    sheet : int
        The sheet number; every question key must start with it ("3.2a").
    """

    calls: list[tuple[str, Any, dict]] = []   # shared: (key, answer, context) of every check

    def __init__(self, sheet: int):
        if not isinstance(sheet, int) or sheet < 1:
            raise ValueError(f"sheet must be a positive integer, got {sheet!r}")
        self.sheet = sheet
        self.questions: dict[str, _Question] = {}
        self.quiet = False

    # ---- registration -------------------------------------------------------
    def question(self, key: str, tolerance: str = ""):
        """Register the checker of question `key` (e.g. "2.3a").

        `tolerance` says, in words, where the tolerance comes from (theory,
        sampling error); it is shown with a wrong answer.
        """
        match = _QUESTION.match(key)
        if match is None or int(match.group(1)) != self.sheet:
            raise ValueError(f"question key {key!r} is not of the form '{self.sheet}.N<letter>'")
        if key in self.questions:
            raise ValueError(f"question {key!r} is registered twice")

        def register(func):
            self.questions[key] = _Question(key, func, tolerance)
            return func
        return register

    # ---- calling ------------------------------------------------------------
    def __call__(self, key: str, answer, **context) -> Verdict:
        """Check `answer` to question `key`; print and return the verdict."""
        if key not in self.questions:
            known = ", ".join(sorted(self.questions)) or "none"
            raise KeyError(f"sheet {self.sheet} has no self-check {key!r} (known: {known})")
        Checks.calls.append((key, answer, dict(context)))
        verdict = self.verdict(key, answer, **context)
        if not self.quiet:
            print(f"{_label(key)}: {verdict.message}")
        return verdict

    def verdict(self, key: str, answer, **context) -> Verdict:
        """The verdict without printing or recording (for tests)."""
        q = self.questions[key]
        try:
            verdict = q.func(answer, **context)
        except (TypeError, ValueError) as exc:
            return Verdict(False, f"not checkable: {exc}", float("inf"), 0.0)
        if not isinstance(verdict, Verdict):
            raise TypeError(f"checker of {key!r} returned {type(verdict).__name__}, not a Verdict")
        if not verdict.right and q.tolerance:
            verdict = Verdict(False, f"{verdict.message} (tolerance: {q.tolerance})",
                              verdict.distance, verdict.scale)
        return verdict

    # ---- comparison helpers -------------------------------------------------
    @staticmethod
    def close(answer, expected, atol: float = 0.0, rtol: float = 0.0) -> Verdict:
        """Right when every |answer - expected| <= atol + rtol |expected|.

        Works elementwise on arrays of the same shape; the distance is the largest
        ratio |error| / tolerance, and the message says whether the answer is too
        large or too small (for scalars) without giving the expected value.
        """
        if atol < 0 or rtol < 0 or atol + rtol == 0:
            raise ValueError(f"need atol >= 0, rtol >= 0 and a positive tolerance, got {atol}, {rtol}")
        a = np.asarray(answer, dtype=float)
        e = np.asarray(expected, dtype=float)
        if a.shape != e.shape:
            return Verdict(False, f"expected an answer of shape {e.shape}, got {a.shape}",
                           float("inf"), 0.0)
        if not np.all(np.isfinite(a)):
            return Verdict(False, "the answer is not finite", float("inf"), 0.0)
        tol = atol + rtol * np.abs(e)
        err = a - e
        ratio = np.abs(err) / tol
        distance = float(ratio.max()) if ratio.size else 0.0
        scale = float(np.min(tol)) if tol.size else atol
        if distance <= 1.0:
            return Verdict(True, "right", distance, scale)
        if a.ndim == 0:
            side = "too large" if err > 0 else "too small"
            return Verdict(False, f"not yet: {side}, off by {distance:.1f} times the tolerance",
                           distance, scale)
        bad = int((ratio > 1).sum())
        return Verdict(False, f"not yet: {bad} of {ratio.size} entries are off, the worst by "
                       f"{distance:.1f} times the tolerance", distance, scale)

    @staticmethod
    def equal(answer, expected) -> Verdict:
        """Right when the answer equals `expected` exactly (ints, bools, strings, sets, arrays)."""
        if isinstance(expected, (set, frozenset)):
            try:
                ok = set(answer) == expected
            except TypeError:
                ok = False
        elif isinstance(expected, np.ndarray) or isinstance(answer, np.ndarray):
            a, e = np.asarray(answer), np.asarray(expected)
            ok = a.shape == e.shape and bool(np.all(a == e))
            if not ok and a.shape == e.shape and a.size:
                wrong = int((a != e).sum())
                return Verdict(False, f"not yet: {wrong} of {a.size} entries differ",
                               float("inf"), 0.0)
        else:
            ok = answer == expected
            if isinstance(ok, np.ndarray):
                ok = bool(ok.all())
        if ok:
            return Verdict(True, "right", 0.0, 0.0)
        if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool) \
                and isinstance(answer, (int, np.integer)) and not isinstance(answer, bool):
            side = "too large" if answer > expected else "too small"
            return Verdict(False, f"not yet: {side}", float("inf"), 0.0)
        return Verdict(False, "not yet", float("inf"), 0.0)

    @staticmethod
    def within(answer, low: float, high: float) -> Verdict:
        """Right when low <= answer <= high (a scalar): for answers known to a range."""
        if not low < high:
            raise ValueError(f"need low < high, got {low}, {high}")
        a = float(answer)
        half = (high - low) / 2
        distance = abs(a - (low + high) / 2) / half
        if low <= a <= high:
            return Verdict(True, "right", distance, half)
        side = "too large" if a > high else "too small"
        return Verdict(False, f"not yet: {side}", distance, half)


def find_course_dir(start: str | os.PathLike | None = None) -> Path:
    """The course directory holding ``checks/``.

    Looked up from ``$GENMEM_COURSE``, then upwards from `start` (default: the
    working directory), then next to the installed packages (a source checkout).
    """
    candidates = []
    if os.environ.get("GENMEM_COURSE"):
        candidates.append(Path(os.environ["GENMEM_COURSE"]))
    here = Path(start) if start is not None else Path.cwd()
    for d in (here, *here.resolve().parents):
        candidates += [d, d / "course"]
    candidates.append(Path(__file__).resolve().parents[1] / "course")
    for c in candidates:
        if (c / "checks").is_dir() and (c / "runsheet.py").is_file():
            return c
    raise FileNotFoundError("cannot find the course directory (with checks/ and runsheet.py); "
                            "set GENMEM_COURSE to it")


_LOADED: dict[Path, Checks] = {}


def sheet_checks(sheet: int, course_dir: str | os.PathLike | None = None) -> Checks:
    """Load the self-checks of `sheet` from ``course/checks/sheetNN.py`` (once per file)."""
    if not isinstance(sheet, int) or sheet < 1:
        raise ValueError(f"sheet must be a positive integer, got {sheet!r}")
    base = Path(course_dir) if course_dir is not None else find_course_dir()
    path = (base / "checks" / f"sheet{sheet:02d}.py").resolve()
    if path in _LOADED:
        return _LOADED[path]
    if not path.is_file():
        raise FileNotFoundError(f"no self-checks for sheet {sheet}: {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"_course_checks_sheet{sheet:02d}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = getattr(module, "checks", None)
    if not isinstance(checks, Checks) or checks.sheet != sheet:
        raise ValueError(f"{path} must define `checks = Checks(sheet={sheet})`")
    _LOADED[path] = checks
    return checks


def perturb(answer, scale: float, factor: float = 3.0):
    """An answer a correct checker must reject: off by `factor` tolerances.

    Floats move by factor * scale (or by 50% + 1 when the tolerance is zero),
    ints by max(1, ...), bools flip, arrays move every entry. Strings and sets
    get a marker added.
    """
    if isinstance(answer, (bool, np.bool_)):
        return not answer
    if isinstance(answer, (int, np.integer)):
        return int(answer) + max(1, int(np.ceil(factor * scale)))
    if isinstance(answer, (float, np.floating)):
        step = factor * scale if scale > 0 else 0.5 * abs(answer) + 1.0
        return float(answer) + step
    if isinstance(answer, str):
        return answer + "?"
    if isinstance(answer, (set, frozenset)):
        return set(answer) | {object()}
    a = np.asarray(answer)
    if a.dtype == bool:
        out = a.copy()
        out.flat[0] = not out.flat[0]
        return out
    if np.issubdtype(a.dtype, np.integer):
        return a + max(1, int(np.ceil(factor * scale)))
    step = factor * scale if scale > 0 else 0.5 * np.abs(a).max() + 1.0
    return a + step
