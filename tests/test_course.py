"""The course sheets: every code block of every sheet and of its solution runs.

Each sheet is executed together with its worked solution in one namespace, as
`python course/runsheet.py SHEET SOLUTION` does; the solutions' asserts check the
science (tolerances from theory or sampling error), so an API change that breaks
an exercise, or numerics that drift, fail here.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import load_module

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
SHEETS = sorted(COURSE.glob("[0-9][0-9]_*.md"))


runsheet = load_module(COURSE / "runsheet.py")


def _exercises(text: str) -> list[str]:
    return re.findall(r"^## Exercise (\d+\.\d+)", text, flags=re.M)


def test_the_sheets_are_numbered_from_one_without_gaps_each_with_a_solution():
    assert len(SHEETS) >= 8
    assert [p.name[:2] for p in SHEETS] == [f"{k:02d}" for k in range(1, len(SHEETS) + 1)]
    for sheet in SHEETS:
        assert (COURSE / "solutions" / sheet.name).is_file(), sheet.name


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_sheet_has_goal_theory_exercises_and_questions(sheet):
    text = sheet.read_text(encoding="utf-8")
    number = int(sheet.name[:2])
    assert re.match(rf"# Sheet {number}: \S", text), "title line"
    for marker in ("**Goal.**", "**Time.**", "**Run.**", "## Theory", "## Setup", "**Questions.**"):
        assert marker in text, f"{sheet.name} lacks {marker}"
    assert re.search(r"eq\. ?\d+", text), "the theory cites the paper's equation numbers"
    exercises = _exercises(text)
    assert len(exercises) >= 3 and all(e.startswith(f"{number}.") for e in exercises)
    # every exercise asks lettered questions
    for block in re.split(r"^## Exercise ", text, flags=re.M)[1:]:
        assert "**Questions.**" in block and "(a)" in block, block.splitlines()[0]
    assert runsheet.code_blocks(sheet), "starter code"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_solution_answers_every_exercise_and_checks_its_claims(sheet):
    solution = COURSE / "solutions" / sheet.name
    text = solution.read_text(encoding="utf-8")
    number = int(sheet.name[:2])
    assert re.match(rf"# Solutions to sheet {number}: \S", text)
    assert _exercises(text) == _exercises(sheet.read_text(encoding="utf-8"))
    code = "".join(src for _, src in runsheet.code_blocks(solution))
    assert "assert " in code, "solutions check their answers"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_sheet_and_its_solution_run(sheet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)        # anything a sheet writes stays out of the checkout
    runsheet.run_sheets([sheet, COURSE / "solutions" / sheet.name])


def test_readmes_link_every_sheet_with_its_time():
    for readme, prefix in ((ROOT / "README.md", "course/"), (COURSE / "README.md", "")):
        text = readme.read_text(encoding="utf-8")
        for sheet in SHEETS:
            line = next((l for l in text.splitlines() if f"]({prefix}{sheet.name})" in l), None)
            assert line is not None, f"{readme.name} does not link {sheet.name}"
            assert re.search(r"\d+ min", line), f"{readme.name}: no time for {sheet.name}"


def test_runner_rejects_unknown_fences_and_unclosed_blocks(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# x\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match="'bash'"):
        runsheet.code_blocks(bad)
    bad.write_text("# x\n```python\nx = 1\n")
    with pytest.raises(ValueError, match="never closed"):
        runsheet.code_blocks(bad)


def test_runner_shares_one_namespace_and_reports_the_markdown_line(tmp_path):
    first = tmp_path / "a.md"
    first.write_text("text\n```python\nx = 2\n```\n```text\nnot run\n```\n")
    second = tmp_path / "b.md"
    second.write_text("# solution\n\n```python\ny = x + 1\nassert y == 4, 'wrong'\n```\n")
    assert runsheet.code_blocks(first) == [(3, "x = 2\n")]
    with pytest.raises(AssertionError) as err:
        runsheet.run_sheets([first, second])
    frame = err.traceback[-1]
    assert Path(str(frame.path)).name == "b.md" and frame.lineno + 1 == 5
    namespace = runsheet.run_sheets([first])
    assert namespace["x"] == 2


def test_runner_command_line(tmp_path, capsys):
    sheet = tmp_path / "s.md"
    sheet.write_text("```python\nprint('hello')\n```\n")
    assert runsheet.main([str(sheet)]) == 0
    assert "hello" in capsys.readouterr().out
    assert runsheet.main([str(tmp_path / "missing.md")]) == 2
    assert "no such sheet" in capsys.readouterr().err


# ---- the course's structure: core and extensions, self-checks, predictions ---------------
#
# Conventions (course/README.md, "Writing a sheet"):
#   **Time.** core about N min; extensions about M min.
#   ## Exercise N.M: title               a core exercise
#   ## Exercise N.M (extension): title   an optional exercise
#   (c) *Extension.* ...                 an optional question inside a core exercise
#   (b) ... *(explain)*                  a core question answered in words (no self-check)
#   **Predict.**                          write down a prediction before running the next block
# Every other core question has a self-check in course/checks/sheetNN.py, and the solution
# calls it on its answer.

_QUESTION_LINE = re.compile(r"^\(([a-z])\) ", flags=re.M)


def core_questions(text: str) -> dict[str, str]:
    """{'1.2b': question text} for every core question of a sheet."""
    out = {}
    for block in re.split(r"^## Exercise ", text, flags=re.M)[1:]:
        head = block.splitlines()[0]
        number = re.match(r"(\d+\.\d+)", head).group(1)
        if re.match(r"\d+\.\d+ \(extension\):", head):
            continue
        questions = block.split("**Questions.**", 1)[1] if "**Questions.**" in block else ""
        parts = _QUESTION_LINE.split(questions)
        for letter, body in zip(parts[1::2], parts[2::2]):
            if body.lstrip().startswith("*Extension.*"):
                continue
            out[f"{number}{letter}"] = body
    return out


def test_time_line_states_core_and_extension_minutes():
    for sheet in SHEETS:
        text = sheet.read_text(encoding="utf-8")
        assert re.search(r"^\*\*Time\.\*\* core about \d+ min; extensions about \d+ min\.",
                         text, flags=re.M), sheet.name


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_every_core_question_is_self_checked_or_answered_in_words(sheet):
    from memkit.selfcheck import sheet_checks
    text = sheet.read_text(encoding="utf-8")
    checks = sheet_checks(int(sheet.name[:2]), course_dir=COURSE)
    core = core_questions(text)
    assert core, "a sheet has core questions"
    unchecked = [k for k, body in core.items() if k not in checks.questions and "*(explain)*" not in body]
    assert not unchecked, f"core questions with neither a self-check nor *(explain)*: {unchecked}"
    stray = sorted(set(checks.questions) - set(core))
    assert not stray, f"self-checks for questions that are not core questions: {stray}"
    assert "**Predict.**" in text, "a sheet asks for a prediction before a key result"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_self_checks_accept_the_solution_and_reject_a_perturbed_answer(sheet, tmp_path, monkeypatch):
    from memkit.selfcheck import Checks, perturb, sheet_checks
    monkeypatch.chdir(tmp_path)
    number = int(sheet.name[:2])
    checks = sheet_checks(number, course_dir=COURSE)
    Checks.calls.clear()
    runsheet.run_sheets([sheet, COURSE / "solutions" / sheet.name])
    calls = [c for c in Checks.calls if c[0] in checks.questions]
    assert {c[0] for c in calls} == set(checks.questions), \
        f"the solution never checks {sorted(set(checks.questions) - {c[0] for c in calls})}"
    for key, answer, context in calls:
        verdict = checks.verdict(key, answer, **context)
        assert verdict.right, f"{key}: the solution's answer is rejected: {verdict.message}"
        wrong = perturb(answer, verdict.scale)
        assert not checks.verdict(key, wrong, **context).right, f"{key}: a perturbed answer passes"
