"""memkit.selfcheck: verdicts that say right or how far off, never the answer."""
import numpy as np
import pytest

from memkit.selfcheck import Checks, perturb, sheet_checks


def _checks():
    c = Checks(sheet=3)
    c.quiet = True

    @c.question("3.1a", tolerance="4 standard errors")
    def _(answer, *, n):
        return c.close(answer, 0.5 * n, atol=0.1)

    @c.question("3.1b")
    def _(answer):
        return c.equal(answer, 7)

    @c.question("3.2a")
    def _(answer):
        return c.within(answer, 0.2, 0.4)

    @c.question("3.2b")
    def _(answer):
        return c.close(answer, np.array([1.0, 2.0, 3.0]), rtol=0.05)
    return c


def test_right_answers_pass_and_perturbed_ones_fail():
    c = _checks()
    for key, answer, ctx in [("3.1a", 1.53, {"n": 3}), ("3.1b", 7, {}), ("3.2a", 0.21, {}),
                             ("3.2b", np.array([1.02, 2.0, 2.9]), {})]:
        v = c(key, answer, **ctx)
        assert v and v.distance <= 1
        assert not c.verdict(key, perturb(answer, v.scale), **ctx)


def test_messages_never_contain_the_expected_value():
    c = _checks()
    v = c.verdict("3.1a", 2.5, n=3)
    assert not v and "too large" in v.message and "1.5" not in v.message
    assert "4 standard errors" in v.message
    assert "too small" in c.verdict("3.1b", 5).message
    assert "shape" in c.verdict("3.2b", [1.0, 2.0]).message
    assert "1 of 3 entries" in c.verdict("3.2b", np.array([1.0, 2.0, 4.0])).message
    assert not c.verdict("3.1a", float("nan"), n=3)


def test_calls_are_recorded_for_replay_and_unknown_keys_named():
    c = _checks()
    Checks.calls.clear()
    c("3.1b", 7)
    assert Checks.calls == [("3.1b", 7, {})]
    with pytest.raises(KeyError, match="3.9z"):
        c("3.9z", 1)


def test_bad_registrations_are_refused():
    c = Checks(sheet=2)
    with pytest.raises(ValueError, match="'3.1a'"):
        c.question("3.1a")
    with pytest.raises(ValueError, match="sheet"):
        Checks(sheet=0)
    with pytest.raises(ValueError, match="tolerance"):
        Checks.close(1.0, 1.0)


def test_sheet_checks_loads_a_course_module(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "runsheet.py").write_text("")
    (tmp_path / "checks" / "sheet05.py").write_text(
        "from memkit.selfcheck import Checks\nchecks = Checks(sheet=5)\n"
        "@checks.question('5.1a')\ndef _(a):\n    return checks.equal(a, 1)\n")
    loaded = sheet_checks(5, course_dir=tmp_path)
    assert loaded.sheet == 5 and "5.1a" in loaded.questions
    with pytest.raises(FileNotFoundError, match="sheet 6"):
        sheet_checks(6, course_dir=tmp_path)
    # another course's sheet 5 is another module: loading this one did not replace it
    from pathlib import Path
    course = Path(__file__).resolve().parents[2] / "course"
    assert sheet_checks(5, course_dir=course) is not loaded
    assert sheet_checks(5, course_dir=tmp_path) is loaded          # loaded once per file
