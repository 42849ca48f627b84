"""The engine on an assignment written for this test: every kind of subject, task and data it grades.

``tests/assignments/synthetic`` declares torch classes with arguments and a sweep,
a code 64 wide, a Keras model built by a function and two found through a
notebook's fit calls (trained with binary cross-entropy), a data set class, a
function compared with the answer key's, a notebook that binds ``Net`` twice,
3-channel 16x16 images, an anomaly task scored by ROC AUC, and a data set that no
machine has. Its solution gets every point it can be given here; a copy with one
mistake per subject loses exactly those points.
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from autograder.common.probes import probe_count
from autograder.grading.runner import grade
from tests.conftest import ROOT

SYNTHETIC = ROOT / "tests" / "assignments" / "synthetic"
SPEC = str(SYNTHETIC / "assignment.toml")


def by_id(result):
    return {c.check_id: c for c in result.checks}


@pytest.fixture(scope="module")
def correct():
    return grade(SYNTHETIC / "solution", assignment_id=SPEC, device="cpu")


def test_the_solution_gets_every_point_this_machine_can_grade(correct):
    assert correct.error is None and correct.assignment == "synthetic"
    assert not correct.failed(), [f"{c.check_id}: {c.feedback}" for c in correct.failed()]
    assert correct.score == correct.max_score == 40
    assert correct.manual_points == 3 and correct.manual[0]["problem"] == "8"


def test_a_missing_data_set_makes_only_its_checks_not_gradable_here(correct):
    missing = correct.not_gradable()
    assert [c.check_id for c in missing] == ["1/TinyAE/absent_training"]
    assert missing[0].status == "not gradable" and missing[0].points == 0
    assert "not gradable here" in missing[0].feedback and "no-such-folder" in missing[0].feedback
    assert "Put its four .npy files in DIR/no-such-folder/" in missing[0].feedback
    assert correct.not_gradable_points == 2


def test_each_variant_of_a_sweep_has_its_own_stable_check(correct):
    checks = by_id(correct)
    for code in (2, 4, 8):
        assert f"a {code}-D code" in checks[f"1/TinyAE[code={code}]/code_size"].feedback
        assert checks[f"1/TinyAE[code={code}]/parameter_count"].passed
    assert "code=2" in checks["1/TinyAE/sweep_trend"].feedback and "falls as code grows" in \
        checks["1/TinyAE/sweep_trend"].feedback


def test_keras_models_are_built_traced_compiled_and_trained_with_binary_cross_entropy(correct):
    checks = by_id(correct)
    assert checks["3/build_dense/constructs"].feedback == \
        "build_dense(code=32) builds (49,952 parameters, defined in synthetic.ipynb, cell 4)"
    assert checks["3/build_dense/layer_list"].passed and checks["3/build_dense/output_activation"].passed
    assert "excess BCE" in checks["3/build_dense/brief_training"].feedback
    assert "noisy inputs" in checks["3/denoiser/fit_noise"].feedback


def test_each_problem_gets_the_class_its_own_cells_define(correct):
    checks = by_id(correct)
    assert "-> (2, 4)" in checks["4a/Net4a/output_shapes"].feedback
    assert "-> (2, 2)" in checks["4b/Net4b/output_shapes"].feedback
    assert any("binds Net 2 times" in note for note in correct.notes)


def test_anomaly_detection_is_scored_by_roc_auc_here(correct):
    feedback = by_id(correct)["7/AnomalyAE/anomaly_detection"].feedback
    assert "ROC AUC" in feedback


def test_probes_outnumber_a_wide_code():
    assert probe_count(64, 768) > 64 and probe_count(2, 784) == 8 and probe_count(95, 784) > 95


# ---------------------------------------------------------------- one mistake per subject

BROKEN = {
    "1/TinyAE[code=2]/code_size": "code of shape 4",
    "1/TinyAE[code=8]/code_size": "code of shape 4",
    "1/TinyAE[code=2]/parameter_count": "the handout's TinyAE(code=2) has",
    "1/TinyAE[code=8]/parameter_count": "the handout's TinyAE(code=8) has",
    "1/TinyAE/sweep_trend": "Use the code argument as the width of the code.",
    "2/WideAE/reconstruction_through_code": "through more than its 64-D code",
    "2/SkipAE/skip_connections": "no working skip connection",
    "7/AnomalyAE/no_nonlinearity": "applies ReLU",
    "7/AnomalyAE/affine": "is not linear",
    "3/build_dense/compiled_with": "build_dense: the loss is mse, not binary_crossentropy",
    "3/plain_fit/compiled_with": "the loss is mse",
    "3/denoiser/fit_noise": "not clipped to [0, 1]",
    "5/PairDataset/item_shape": "has dtype float64; the handout asks for float32",
    "6/conv_output_size/function_values": "conv_output_size(28, 5, 0, 2) does not give the answer key's value",
}


def _replace(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def _replace_in_notebook(path, old, new):
    notebook = nbformat.read(path, as_version=4)
    hits = [cell for cell in notebook.cells if old in cell.source]
    assert hits, old
    for cell in hits:
        cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    target = tmp_path_factory.mktemp("broken") / "student"
    shutil.copytree(SYNTHETIC / "solution", target)
    models, notebook = target / "models.py", target / "synthetic.ipynb"
    _replace(models, "nn.Flatten(), nn.Linear(8 * 8 * 8, code))", "nn.Flatten(), nn.Linear(8 * 8 * 8, 4))")
    _replace(models, "nn.Linear(code, 8 * 8 * 8), nn.ReLU()", "nn.Linear(4, 8 * 8 * 8), nn.ReLU()")
    _replace(models, "        return self.decoder(self.encoder(x))\n\n\nclass SkipAE",
             "        return x + 0 * self.decoder(self.encoder(x))\n\n\nclass SkipAE")
    _replace(models, "return self.decoder(self.encoder(x)) + 0.1 * self.skip(x)",
             "return self.decoder(self.encoder(x))")
    _replace(models, "        return self.decoder(self.encoder(x))\n\n\nif __name__",
             "        return self.decoder(torch.relu(self.encoder(x)))\n\n\nif __name__")
    _replace_in_notebook(notebook, 'loss="binary_crossentropy"', 'loss="mse"')
    _replace_in_notebook(notebook, "np.clip(x + 0.2 * np.random.default_rng(1).normal(size=x.shape), 0.0, 1.0)",
                         "(x + 0.2 * np.random.default_rng(1).normal(size=x.shape))")
    _replace_in_notebook(notebook, "dtype=torch.float32).permute", "dtype=torch.float64).permute")
    _replace_in_notebook(notebook, "return (size + 2 * padding - kernel) // stride + 1",
                         "return (size + 2 * padding - kernel) / stride + 1")
    return grade(target, assignment_id=SPEC, device="cpu")


def test_each_mistake_costs_exactly_its_checks_with_a_message_naming_it(broken, correct):
    assert broken.error is None
    failed = {c.check_id: c.feedback for c in broken.failed()}
    assert set(failed) == set(BROKEN), json.dumps(failed, indent=1)
    for check_id, words in BROKEN.items():
        assert words in failed[check_id], f"{check_id}: {words!r} not in {failed[check_id]!r}"
    lost = sum(c.max_points for c in broken.checks if c.check_id in BROKEN)
    assert broken.score == correct.score - lost
