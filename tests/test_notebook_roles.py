"""A notebook read as a careful TA reads it: what a problem's cells trained, plotted and unpacked, whatever the
student named it; no deduction the grader's own cuts cause.

Each test edits a correct bundled notebook in one way a student might write it and grades only the checks
concerned.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from autograder.grading.runner import grade
from tests.conftest import ROOT

SUBMISSIONS = ROOT / "submissions"
ECE = SUBMISSIONS / "ece4803-hw6" / "answer-key"
MLE = SUBMISSIONS / "mle-sheet6" / "answer-key"
KERAS = SUBMISSIONS / "keras-autoencoders" / "answer-key"


def edited(source, target, edit) -> object:
    """A copy of the submission folder ``source`` whose notebook's cells went through ``edit(index, cell)``
    (returning the cell's new source, or None to leave it)."""
    shutil.copytree(source, target)
    path = next(target.glob("*.ipynb"))
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        changed = edit(index, cell["cell_type"], text)
        if changed is not None:
            cell["source"] = changed
    path.write_text(json.dumps(notebook))
    return target


def cell_index(source, pattern: str) -> int:
    notebook = json.loads(next(source.glob("*.ipynb")).read_text())
    return next(i for i, c in enumerate(notebook["cells"]) if re.search(pattern, "".join(c["source"])))


def checks_of(result) -> dict:
    return {c.check_id: c for c in result.checks}


@pytest.mark.slow
def test_a_model_trained_under_another_name_is_found_by_its_role_and_named(tmp_path):
    first = cell_index(ECE, r"in_dist_class = 2")

    def rename(index, kind, text):
        if kind == "code" and index >= first:
            return re.sub(r"\bnet\b", "detector" if index == first else "reg_net", text)
        return None

    result = grade(edited(ECE, tmp_path / "renamed", rename), device="cpu", keyword="net_3a or net_3d")
    checks = checks_of(result)
    assert checks["3a/net_3a/as_trained"].passed and checks["3d/net_3d/as_trained"].passed, result.checks
    notes = " ".join(result.notes)
    assert "Problem 3 (a): graded `detector`, the model your Problem 3 (a) cells trained" in notes
    assert "Problem 3 (d): graded `reg_net`" in notes and "the handout calls it net" in notes


@pytest.mark.slow
def test_a_variable_is_never_taken_from_another_problems_cells(tmp_path):
    first = cell_index(ECE, r"in_dist_class = 2")

    def no_training(index, kind, text):  # Problem 3 (a)'s cells train nothing and bind no net
        if kind == "code" and index == first:
            return text.split("net = MyMLPAE(1, 40)")[0]
        return None

    result = grade(edited(ECE, tmp_path / "untrained", no_training), device="cpu", keyword="net_3a")
    check = checks_of(result)["3a/net_3a/as_trained"]
    assert not check.passed
    assert "bind no net and train no model" in check.feedback
    assert "net is bound in cell(s)" in check.feedback and "other problems' cells" in check.feedback


@pytest.mark.slow
def test_headings_in_the_handouts_own_form_and_answers_in_prose(tmp_path):
    def rewrite(index, kind, text):
        if kind == "markdown":
            text = text.replace("**Solution to Problem 1 Part (a)**", "### 1(a)")
            text = text.replace("**Solution to Problem 1 Part (b)**",
                                "<font color='red'>**Solution to Problem 1 Part (b)**</font>")
            text = text.replace("Each image has 8 x 8 = 64 pixels, one input neuron each: 64.",
                                "64 inputs, one for each of the 8x8 pixels")
            return text.replace("The output reconstructs the input: 64 output neurons.", "**64** (8 x 8)")
        return re.sub(r"\binput_neurons\b", "n_in", re.sub(r"\boutput_neurons\b", "n_out", text))

    result = grade(edited(ECE, tmp_path / "prose", rewrite), device="cpu", keyword="answers")
    checks = checks_of(result)
    assert checks["1a/answers/input_neurons"].passed and checks["1b/answers/output_neurons"].passed, result.checks
    assert "read 64 (in a sentence)" in checks["1a/answers/input_neurons"].feedback
    assert "read 64 (emphasised)" in checks["1b/answers/output_neurons"].feedback


@pytest.mark.slow
def test_a_prose_answer_that_is_wrong_says_which_number_was_read(tmp_path):
    def rewrite(index, kind, text):
        if kind == "markdown":
            return text.replace("Each image has 8 x 8 = 64 pixels, one input neuron each: 64.",
                                "The images are 8x8, so the answer is **8**.")
        return re.sub(r"\binput_neurons\b", "n_in", text)

    result = grade(edited(ECE, tmp_path / "wrong", rewrite), device="cpu", keyword="input_neurons")
    check = checks_of(result)["1a/answers/input_neurons"]
    assert not check.passed and "read 8 (emphasised)" in check.feedback and "Problem 1 (a)" in check.feedback


@pytest.mark.slow
def test_forward_returning_one_tensor_costs_nothing_where_the_notebook_never_unpacks_it(tmp_path):
    def single(index, kind, text):
        if kind != "code":
            return None
        text = text.replace("return self.decoder(latent), latent", "return self.decoder(latent)")
        text = text.replace("reconstructed, latent = conv_ae_model(tc.randn(2, 1, 28, 28))",
                            "reconstructed = conv_ae_model(tc.randn(2, 1, 28, 28))")
        text = text.replace("reconstructed, _ = model(X)", "reconstructed = model(X)")
        text = text.replace("loss_function(model(X)[0], X)", "loss_function(model(X), X)")
        return text

    consistent = grade(edited(MLE, tmp_path / "consistent", single), device="cpu", keyword="Conv_AE and returns")
    check = checks_of(consistent)["3.1/Conv_AE/returns"]
    assert check.passed and "no cell of your notebook unpacks what it returns" in check.feedback

    def unpacking(index, kind, text):  # the sheet's check cell left as it was: it splits the batch of 2
        changed = single(index, kind, text)
        return changed.replace("reconstructed = conv_ae_model(", "reconstructed, latent = conv_ae_model(") \
            if changed else changed

    relies = grade(edited(MLE, tmp_path / "relies", unpacking), device="cpu", keyword="Conv_AE and returns")
    check = checks_of(relies)["3.1/Conv_AE/returns"]
    assert not check.passed
    assert "unpacks `reconstructed, latent = conv_ae_model(...)` from a tensor of shape (2, 1, 28, 28)" in \
        check.feedback and "split into 2 single examples" in check.feedback


@pytest.mark.slow
def test_the_grader_s_cuts_never_change_the_shapes_a_cell_sees(tmp_path):
    sweep = cell_index(ECE, r"num_kernels = \[1, 5")
    show = ("\nimages = next(iter(test_loader))\nfig, axes = plt.subplots(1, 10)\n"
            "for i in range(10):\n    axes[i].imshow(images[i].reshape(8, 8).numpy())\nplt.show()\n")

    def visualise(index, kind, text):  # after its training, the sweep's cell shows ten test images
        return text + show if index == sweep else None

    result = grade(edited(ECE, tmp_path / "shows", visualise), device="cpu", keyword="notebook")
    assert checks_of(result)["notebook/runs"].passed, checks_of(result)["notebook/runs"].feedback


@pytest.mark.slow
def test_a_keras_history_cut_short_still_has_an_entry_per_epoch(tmp_path):
    fit = cell_index(KERAS, r"\.fit\(")

    def plot_history(index, kind, text):
        if index != fit:
            return None
        return text + ("\n_h = autoencoder.fit(x_train, x_train, epochs=7, batch_size=256, verbose=0)\n"
                       "assert len(_h.history['loss']) == 7, _h.history\n")

    result = grade(edited(KERAS, tmp_path / "history", plot_history), device="cpu", keyword="notebook")
    assert checks_of(result)["notebook/runs"].passed, checks_of(result)["notebook/runs"].feedback
