"""Notebook submissions: validation, problem sections, execution in a kernel, what is skipped, the export."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from autograder.export import chromium, export_submission
from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from autograder.notebooks import NotebookProblem, problem_sections, validate
from tests.conftest import ROOT

GOOD = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def write_notebook(path, cells):
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b'{"cells": [', "is not valid JSON (Expecting value at line 1, column 12)"),
    ("caf\xe9".encode("latin-1"), "is not UTF-8 text"),
    (b'{"hello": 1}', "is JSON but not a notebook"),
    (json.dumps({"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
     "is not a valid notebook"),
])  # fmt: skip
def test_a_file_that_is_not_a_notebook_is_named_with_its_problem(tmp_path, content, message):
    path = tmp_path / "hw.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(path)


# ---------------------------------------------------------------- problem sections


def test_problems_are_found_by_the_headings_students_use():
    notebook = nbformat.v4.new_notebook(cells=[
        md("# Homework"), md("## Problem 3"), code("x = 1"),
        md("Problem 5.1 1) A bottleneck."), md("**Problem 4.2(b)** the confusion matrix"), code("cm = 2"),
        md("Problem 2 (c) Solution"), code("sweep = 3"), md("Bonus: soft maximum"),
    ])  # fmt: skip
    sections = problem_sections(notebook, ["3.1", "3.2", "5.1", "4.2b", "2c", "bonus", "1.1"])
    assert [c.source for c in sections["3.1"].cells] == ["## Problem 3", "x = 1"] and sections["3.1"].whole == "3"
    assert "3.2" not in sections  # the whole problem is shown once, under its first part
    assert sections["5.1"].cells[0].source.startswith("Problem 5.1")
    assert [c.source for c in sections["4.2b"].cells][-1] == "cm = 2"
    assert [c.source for c in sections["2c"].cells][-1] == "sweep = 3"
    assert "bonus" in sections and "1.1" not in sections


def test_a_task_under_an_exercise_is_read_as_its_part():
    notebook = nbformat.v4.new_notebook(cells=[
        md("## Exercise 1"), md("**1.** the density"), md("### Exercise 2 - CNN Classifier"), md("#### Task 1"),
        code("a = 1"), md("### Task 2"), code("b = 2"), md("## Exercise 3 - CNN Autoencoder"), md("### Task 1"),
        code("c = 3"), md("### Observation"), md("Task 7.2 stays 7.2"),
    ])  # fmt: skip
    sections = problem_sections(notebook, ["1.1", "2.1", "2.2", "3.1", "7.2"])
    assert sections["1.1"].whole == "1"
    assert [c.source for c in sections["2.1"].cells] == ["#### Task 1", "a = 1"]
    assert [c.source for c in sections["2.2"].cells] == ["### Task 2", "b = 2"]
    assert [c.source for c in sections["3.1"].cells] == ["### Task 1", "c = 3", "### Observation"]
    assert "7.2" in sections


# ---------------------------------------------------------------- running a notebook


@pytest.fixture
def notebook_submission(tmp_path):
    """The sequential style's files without prob5_AE.py, and a notebook that defines AE and does Colab things."""
    target = tmp_path / "student"
    shutil.copytree(GOOD, target)
    (target / "prob5_AE.py").unlink()
    (target / "answers.py").unlink()
    ae_source = (GOOD / "prob5_AE.py").read_text().split('if __name__ == "__main__":')[0]
    write_notebook(target / "student_assignment2.ipynb", [
        md("## Problem 3"),
        code("!pip install torch\n%pip install numpy\nimport numpy as np\n"
             "delta3 = np.array([0.74693192, -0.33064048])"),
        code("from google.colab import drive\ndrive.mount('/content/drive')"),
        code(ae_source),
        code("from torchvision import datasets\ndata = datasets.MNIST('/content/data', download=True).data.float()\n"
             "model = AE().cuda()\nopt = torch.optim.Adam(model.parameters())\nfor epoch in range(60):\n"
             "    for i in range(0, len(data), 64):\n        x = data[i:i + 64].view(-1, 784).cuda() / 255\n"
             "        loss = ((model(x) - x) ** 2).mean()\n        opt.zero_grad(); loss.backward(); opt.step()"),
        code("print(undefined_name)"),
        code("from keras.datasets import mnist\n(x_train, y_train), (x_test, y_test) = mnist.load_data()\n"
             "keras_shapes = [x_train.shape[1], x_train.shape[2], len(x_test) > 0]"),
        code("from sklearn.datasets import load_digits\ndigits_count = len(load_digits().images)"),
        code("%%capture\ncaptured_ran = 1"),
    ])  # fmt: skip
    return target


@pytest.mark.slow
def test_a_notebook_runs_in_a_kernel_offline_and_headless(notebook_submission):
    result = grade(notebook_submission, device="cpu", keyword="notebook or 5.4/AE/constructs or delta3")
    checks = {c.check_id: c for c in result.checks}
    runs = checks["notebook/runs"]
    assert not runs.passed and "1 of 8 code cells failed" in runs.feedback
    assert "NameError: name 'undefined_name' is not defined" in runs.feedback
    assert "The other cells ran" in runs.feedback
    assert checks["5.4/AE/constructs"].passed and "defined in student_assignment2.ipynb" in checks[
        "5.4/AE/constructs"].feedback
    assert checks["3.3/answers/delta3"].passed
    notes = " ".join(result.notes)
    assert "training in cell(s) 5 was cut to a few optimizer steps" in notes
    assert "!pip install torch" in notes and "%pip install numpy" in notes and "drive.mount('/content/drive')" in notes
    assert "asks for a CUDA GPU; there is none here, so it ran on the CPU" in notes
    assert "prob5_AE.py is missing; the handout asks for the class in that file, so the AE your notebook" in notes
    assert "answers.py is missing; the numeric answers were read from the variables of the notebook" in notes


@pytest.mark.slow
def test_keras_and_scikit_learn_loaders_work_offline_in_a_notebook(notebook_submission):
    from autograder.grading.session import torchvision_root
    from autograder.host.client import Worker, WorkerSettings

    worker = Worker(notebook_submission, WorkerSettings(torchvision_root=torchvision_root(None)))
    try:
        header, _ = worker.call("load_notebook", "running the notebook", 300, file="student_assignment2.ipynb")
        statuses = [cell["status"] for cell in header["notebook"]["cells"]]
        assert statuses == ["ok", "ok", "ok", "training stopped", "error", "ok", "ok", "ok"], statuses
        header, _ = worker.call("values", "reading", 30, file="student_assignment2.ipynb",
                                names=["keras_shapes", "digits_count", "captured_ran"])
    finally:
        worker.close()
    values = {name: entry["value"] for name, entry in header["values"].items()}
    assert values == {"keras_shapes": [28.0, 28.0, 1.0], "digits_count": 1797.0, "captured_ran": 1.0}


@pytest.mark.slow
def test_training_cut_short_lets_loops_over_data_loaders_run_to_their_end(tmp_path):
    """After the step budget a DataLoader gives one batch of two per pass and steps change nothing, so a sweep
    binds its last model, trained for the budget's steps only; a loop with no DataLoader is stopped."""
    from autograder.host.client import Worker, WorkerSettings

    target = tmp_path / "student"
    target.mkdir()
    write_notebook(target / "sweep.ipynb", [
        code("import torch\nfrom torch.utils.data import DataLoader, TensorDataset\n"
             "loader = DataLoader(TensorDataset(torch.randn(640, 4), torch.randn(640, 1)), batch_size=64, "
             "shuffle=True)"),
        code("sizes, batches = [], []\nfor size in (3, 100, 150):\n    model = torch.nn.Linear(4, 1)\n"
             "    start = model.weight.detach().clone()\n    opt = torch.optim.Adam(model.parameters(), lr=0.1)\n"
             "    for epoch in range(50):\n        for x, y in loader:\n            batches.append(len(x))\n"
             "            opt.zero_grad(); torch.nn.functional.mse_loss(model(x), y).backward(); opt.step()\n"
             "    sizes.append(size)\nlast_size, moved = size, float((model.weight - start).abs().sum())"),
        code("w = torch.zeros(1, requires_grad=True)\nopt = torch.optim.SGD([w], lr=0.1)\nfor i in range(1000):\n"
             "    opt.zero_grad(); (w - 1).pow(2).sum().backward(); opt.step()\nfinished = True"),
    ])  # fmt: skip
    worker = Worker(target, WorkerSettings())
    try:
        header, _ = worker.call("load_notebook", "running the notebook", 300, file="sweep.ipynb")
        report = header["notebook"]
        values, _ = worker.call("values", "reading", 30, file="sweep.ipynb",
                                names=["sizes", "last_size", "moved", "batches", "finished"])
    finally:
        worker.close()
    assert [cell["status"] for cell in report["cells"]] == ["ok", "ok", "training stopped"]
    assert report["throttled_cells"] == [1]
    found = {name: entry["value"] for name, entry in values["values"].items()}
    assert found["sizes"] == [3.0, 100.0, 150.0] and found["last_size"] == 150.0
    assert found["moved"] == 0.0  # the last model's steps all came after the budget: none changed it
    batches = found["batches"]
    # the budget's ten batches; the first throttled pass is whole (the loader is not yet known to train: an
    # evaluation loader's batch is shown to the code as it is), every later one cut to two
    assert batches[:11] == [64.0] * 11 and set(batches[11:]) == {2.0} and len(batches) == 10 + 1 + 48 + 50 + 50
    assert "finished" not in found


@pytest.mark.slow
def test_torch_save_keeps_submitted_files_and_serves_folders_that_exist_only_on_the_students_machine(tmp_path):
    from autograder.host.client import Worker, WorkerSettings

    target = tmp_path / "student"
    target.mkdir()
    (target / "weights.pt").write_bytes(b"submitted")
    write_notebook(target / "save.ipynb", [
        code("import torch\ntorch.save({'w': torch.ones(2)}, 'weights.pt')\n"
             "torch.save({'w': torch.ones(3)}, '/content/drive/MyDrive/hw/model.pt')\n"
             "loaded = float(torch.load('/content/drive/MyDrive/hw/model.pt')['w'].sum())"),
    ])  # fmt: skip
    worker = Worker(target, WorkerSettings())
    try:
        header, _ = worker.call("load_notebook", "running the notebook", 300, file="save.ipynb")
        values, _ = worker.call("values", "reading", 30, file="save.ipynb", names=["loaded"])
    finally:
        worker.close()
    report = header["notebook"]
    assert [cell["status"] for cell in report["cells"]] == ["ok"]
    assert values["values"]["loaded"]["value"] == 3.0
    assert (target / "weights.pt").read_bytes() == b"submitted"
    adapted = " ".join(report["adapted"])
    assert "torch.save(..., 'weights.pt') was skipped" in adapted
    assert "torch.save(..., '/content/drive/MyDrive/hw/model.pt') wrote a scratch file" in adapted


@pytest.mark.slow
def test_cell_magics_that_start_other_programs_are_skipped_and_said_so(tmp_path):
    from autograder.host.client import Worker, WorkerSettings

    target = tmp_path / "student"
    target.mkdir()
    write_notebook(target / "magics.ipynb", [
        code("%%python3 --bg\nimport time\ntime.sleep(600)"),
        code("%%perl\nprint 1"),
        code("%%sx\nls"),
        code("%%time\ntimed = 1"),
        code("%%capture\ncaptured = 1"),
    ])  # fmt: skip
    worker = Worker(target, WorkerSettings())
    try:
        header, _ = worker.call("load_notebook", "running the notebook", 300, file="magics.ipynb")
        values, _ = worker.call("values", "reading", 30, file="magics.ipynb", names=["timed", "captured"])
    finally:
        worker.close()
    report = header["notebook"]
    assert [cell["status"] for cell in report["cells"]] == ["ok"] * 5
    assert {name: v["value"] for name, v in values["values"].items()} == {"timed": 1.0, "captured": 1.0}
    skipped = " ".join(report["skipped"])
    assert "%%python3 --bg" in skipped and "%%perl" in skipped and "%%sx" in skipped


# ---------------------------------------------------------------- export for human graders


def test_export_puts_each_written_problem_beside_the_students_answer(tmp_path, cpsc663):
    student = tmp_path / "alice"
    student.mkdir()
    write_notebook(student / "alice_assignment2.ipynb", [
        md("## Problem 1.1\nThe gradient is the slope of the tangent; we walk downhill."),
        md("Problem 5.2 <script>alert('x')</script> Gaussian noise."),
        code("print('plot below')"),
    ])
    result = export_submission(student, cpsc663, tmp_path / "out", pdf=False)
    page = result.html.read_text()
    assert "Provide a geometric interpretation of gradient descent" in page  # the question, from written.toml
    assert "The gradient is the slope of the tangent" in page  # the answer, from the notebook
    assert "<script" not in page and "Gaussian noise." in page
    assert page.count("No answer found under a heading naming this problem.") == len(
        [p for p in __import__("tomllib").loads(cpsc663.paths["written"].read_text())["problems"]]) - 2


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium for the PDF (scripts/install-export.sh)")
def test_export_prints_a_pdf(tmp_path):
    result = export_submission(ROOT / "submissions" / "cpsc663-ex2" / "seed-notebook",
                               load_assignment("cpsc663-ex2"), tmp_path)
    assert result.pdf is not None and result.pdf.read_bytes()[:5] == b"%PDF-"


def test_an_image_output_is_re_encoded_and_no_page_can_run_a_script(tmp_path, cpsc663):
    import base64

    from autograder.report.html import CSP_META, render_feedback_html
    from autograder.results import SubmissionResult
    from autograder.similarity.batch import SimilarityReport
    from autograder.similarity.html import render_html

    student = tmp_path / "student"
    student.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    attack = "iVBORw0KGgo=\" onerror=\"alert(1)"
    cell = code("plt.show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": attack}),
                    nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()})]
    write_notebook(student / "student_assignment2.ipynb", [md("## Problem 1.1\nThe slope."), cell])
    page = export_submission(student, cpsc663, tmp_path / "out", pdf=False).html.read_text()
    assert "onerror" not in page and base64.b64encode(png).decode() in page
    assert CSP_META in page
    assert CSP_META in render_feedback_html(SubmissionResult("s", "a"))
    assert CSP_META in render_html(SimilarityReport("a", [], [], {}, [], [], 0))
