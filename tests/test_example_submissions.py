"""The bundled example submissions get exactly the grades written in their expected.toml.

Correct submissions, however written, get full marks; each broken one fails
exactly the listed checks, with the listed words in the feedback, and keeps
every other point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.batch.run import grade_many
from autograder.grading import resources
from autograder.grading.examples import differences, expected_failures, families
from autograder.grading.runner import grade
from autograder.results import CheckResult, SubmissionResult
from tests.conftest import ROOT

SUBMISSIONS = ROOT / "submissions"
EXAMPLES = SUBMISSIONS / "cpsc663-ex2"
FAMILIES = {family.folder.name: family for family in families(SUBMISSIONS)}
CASES = [pytest.param(name, example, id=f"{name}/{example}")
         for name, family in FAMILIES.items() for example in family.examples]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_example_folder_has_an_expectation_and_back(name):
    family = FAMILIES[name]
    folders = {p.name for p in family.folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders == set(family.examples)
    assert family.assignment and family.max_score > 0
    assert sum(1 for e in family.examples.values() if not e["fails"]) >= 3  # correct ones, several styles
    assert sum(1 for e in family.examples.values() if e["fails"]) >= 5  # broken ones


def test_expected_failures_read_brackets_literally_and_star_as_any_text():
    ids = ["3.1/Conv_AE[latent_dim=2]/layer_list", "3.1/Conv_AE[latent_dim=3]/layer_list", "3.1/Conv_AE/x"]
    result = SubmissionResult("s", "a", [CheckResult(i, i, "3.1", 1, 0, False, "") for i in ids])
    assert list(expected_failures(result, {ids[0]: "w"})) == [ids[0]]
    assert list(expected_failures(result, {"3.1/Conv_AE[*]/layer_list": "w"})) == ids[:2]
    with pytest.raises(LookupError, match="no check matches '3.1/Conv_AE.2./layer_list'"):
        expected_failures(result, {"3.1/Conv_AE[2]/layer_list": "w"})


@pytest.fixture(scope="module")
def graded_examples(request) -> dict:
    """The selected examples graded as a class is: several at a time, each in its own worker with its share of
    the cores, each assignment recognised from the files. Their expected grades are those graded one at a time,
    so every example also shows that grading at once gives the verdicts of grading in turn."""
    selected = [(item.callspec.params["name"], item.callspec.params["example"]) for item in request.session.items
                if getattr(item, "originalname", "") == "test_example_gets_its_expected_grade"]
    paths = [FAMILIES[name].folder / example for name, example in selected]
    results = grade_many(paths, jobs=resources.default_jobs("cpu"), device="cpu")
    return dict(zip(selected, results, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name, example", CASES)
def test_example_gets_its_expected_grade(name, example, graded_examples):
    family = FAMILIES[name]
    result = graded_examples[(name, example)]
    problems = differences(result, family, family.examples[example]["fails"])
    assert not problems, "\n".join(problems)
    lost = sum(c.max_points for c in result.failed() if c.check_id in expected_failures(
        result, family.examples[example]["fails"]))
    assert result.score == result.max_score - lost
    for check in result.checks:  # students never see the grader's insides
        assert "autograder/" not in check.feedback and "Traceback" not in check.feedback


def test_feedback_of_a_passed_check_says_what_was_verified(tmp_path):
    result = grade(EXAMPLES / "sequential-style", device="cpu", keyword="code_size or layer_list")
    assert result.checks and all(c.passed for c in result.checks)
    assert any("gives a 2-D code" in c.feedback for c in result.checks)
    assert any("runs the handout's 18 layers in order" in c.feedback for c in result.checks)


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
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
