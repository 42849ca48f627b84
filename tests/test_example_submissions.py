"""The bundled example submissions get exactly the grades written in their expected.toml.

Correct submissions, however written, get full marks; each broken one fails
exactly the listed checks, with the listed words in the feedback, and keeps
every other point.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from autograder.grading.runner import grade
from tests.conftest import ROOT

SUBMISSIONS = ROOT / "submissions"
EXAMPLES = SUBMISSIONS / "cpsc663-ex2"


def families() -> dict[str, dict]:
    """Every folder of example submissions with its expected.toml (the attack corpus has its own test)."""
    found = {}
    for expected in sorted(SUBMISSIONS.glob("*/expected.toml")):
        data = tomllib.loads(expected.read_text())
        if data.get("corpus") != "attacks":
            found[expected.parent.name] = data
    return found


FAMILIES = families()
CASES = [pytest.param(family, name, id=f"{family}/{name}")
         for family, data in FAMILIES.items() for name, entry in data.items() if isinstance(entry, dict)]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_example_folder_has_an_expectation_and_back(family):
    data = FAMILIES[family]
    examples = {name for name, entry in data.items() if isinstance(entry, dict)}
    folders = {p.name for p in (SUBMISSIONS / family).iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders == examples
    assert data["assignment"] and data["max_score"] > 0
    assert sum(1 for name in examples if not data[name]["fails"]) >= 3  # correct ones, several styles
    assert sum(1 for name in examples if data[name]["fails"]) >= 5  # broken ones


def expected_failures(result, fails: dict) -> dict[str, str]:
    """check id -> words its feedback must contain, with `model/*` patterns expanded over the results."""
    wanted = {}
    for pattern, words in fails.items():
        matched = [c.check_id for c in result.checks if fnmatch.fnmatchcase(c.check_id, pattern)]
        assert matched, f"no check matches {pattern!r}"
        wanted.update(dict.fromkeys(matched, words))
    return wanted


@pytest.mark.slow
@pytest.mark.parametrize("family, name", CASES)
def test_example_gets_its_expected_grade(family, name):
    data = FAMILIES[family]
    result = grade(SUBMISSIONS / family / name, device="cpu")
    assert result.error is None, result.error
    assert result.assignment == data["assignment"]
    wanted = expected_failures(result, data[name]["fails"])
    failed = {c.check_id: c.feedback for c in result.failed()}
    assert set(failed) == set(wanted), (
        f"{name}: unexpected failures {sorted(set(failed) - set(wanted))}: "
        + "; ".join(f"{k}: {failed[k]}" for k in sorted(set(failed) - set(wanted)))
        + f"; unexpected passes {sorted(set(wanted) - set(failed))}"
    )
    for check_id, words in wanted.items():
        assert words in failed[check_id], f"{check_id}: {words!r} not in {failed[check_id]!r}"
    lost = sum(c.max_points for c in result.checks if c.check_id in wanted)
    assert result.score == result.max_score - lost
    assert result.max_score + result.not_gradable_points == data["max_score"]
    for check in result.checks:  # students never see the grader's insides
        assert "autograder/" not in check.feedback and "Traceback" not in check.feedback


def test_feedback_of_a_passed_check_says_what_was_verified(tmp_path):
    result = grade(EXAMPLES / "sequential-style", device="cpu", keyword="code_size or layer_list")
    assert result.checks and all(c.passed for c in result.checks)
    assert any("gives a 2-D code" in c.feedback for c in result.checks)
    assert any("runs the handout's 18 layers in order" in c.feedback for c in result.checks)


def test_grading_twice_gives_the_same_scores():
    first = grade(EXAMPLES / "broken-code-size", device="cpu", keyword="AE and brief_training")
    second = grade(EXAMPLES / "broken-code-size", device="cpu", keyword="AE and brief_training")
    assert [c.feedback for c in first.checks] == [c.feedback for c in second.checks]


def test_seed_students_module_level_training_is_stopped_and_said():
    result = grade(EXAMPLES / "train-at-import", device="cpu", keyword="imports")
    assert all(c.passed for c in result.checks)
    notes = " ".join(result.notes)
    assert "prob5_AE.py: the file trains when imported; the grader stopped it after 10 optimizer steps" in notes
    assert "if __name__ == \"__main__\":" in notes


def test_answer_key_is_the_solution_folder():
    assert (EXAMPLES / "answer-key").resolve() == (ROOT / "reference" / "cpsc663_ex2" / "solution").resolve()
    assert Path(EXAMPLES / "answer-key" / "prob5_AE.py").is_file()


def test_weights_saved_as_a_checkpoint_or_with_a_wrapper_prefix_load_with_a_note():
    result = grade(EXAMPLES / "checkpoint-weights", device="cpu", keyword="weights_load")
    feedback = {c.check_id: c.feedback for c in result.checks if c.passed}
    assert len(feedback) == 3, [c.feedback for c in result.failed()]
    assert "a checkpoint, and the grader loaded its 'model_state_dict' entry" in feedback["5.4/AE/weights_load"]
    assert "the prefix 'module.'" in feedback["6.1/CAE/weights_load"]
    assert "its 'state_dict' entry" in feedback["6.2/CAE_skip/weights_load"]
