"""``autograder similarity``: copies are flagged with what they share, honest work is not, and the report
is safe HTML. The batch is built from the bundled cpsc663-ex2 examples: four written independently, and three
copies (identifiers renamed; functions and classes reordered; another student's weights with one's own code),
and a model of exactly another's unusual layers with weights of its own."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder import notebooks
from autograder.cli import main
from autograder.similarity import collect, weights
from autograder.similarity.batch import REFERENCE_WEIGHTS, compare_batch
from autograder.similarity.html import highlighted, render_html
from autograder.similarity.structure import unusual_structures
from autograder.similarity.terminal import render_terminal
from autograder.similarity.thresholds import WEIGHT_COSINE
from autograder.similarity.weights import WeightFile, compare_weights, read_weight_file
from tests.conftest import ROOT

EXAMPLES = Path(__file__).resolve().parents[1] / "submissions" / "cpsc663-ex2"
HONEST = ("answer-key", "sequential-style", "functional-style", "helper-module-crlf")

# What a student hiding a copy renames: their variables, attributes and helper classes (the graded class
# names stay, or the grader would not find them).
RENAMES = {"Encoder": "DownPath", "Decoder": "UpPath", "block1": "stage_a", "block2": "stage_b", "fc": "dense",
           "x1": "skip_big", "x4": "skip_small", "z": "code", "h": "hidden", "x": "inp", "model": "net",
           "opt": "optimiser", "loader": "batches", "mnist": "digits", "data": "pixels", "epoch": "ep",
           "loss": "err", "up1": "grow1", "up2": "grow2", "W2": "weights_hidden", "W3": "weights_out",
           "b2": "bias_hidden", "b3": "bias_out", "a2": "act_hidden", "a3": "act_out", "encoder": "down",
           "decoder": "up", "train": "fit_model", "test": "evaluate", "args": "options", "device": "dev"}
INJECTED = 'BANNER = "</pre><script>alert(1)</script>"  # text that must reach the report escaped\n'


def _renamed(text: str) -> str:
    return re.sub(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b", lambda m: RENAMES[m[1]], text)


def _reordered(text: str) -> str:
    """The module with its top-level functions and classes in reverse order (each keeps the comments and blank
    lines above it); everything else stays where it was."""
    lines = text.splitlines(keepends=True)
    nodes = ast.parse(text).body
    chunks, start = [], 0
    for node in nodes:
        end = node.end_lineno
        chunks.append((isinstance(node, ast.FunctionDef | ast.ClassDef), "".join(lines[start:end])))
        start = end
    tail = "".join(lines[start:])
    moved = iter(reversed([chunk for is_def, chunk in chunks if is_def]))
    return "".join(next(moved) if is_def else chunk for is_def, chunk in chunks) + tail


def _copy_code(source: Path, target: Path, transform) -> None:
    target.mkdir()
    for path in sorted(source.glob("*.py")):
        (target / path.name).write_text(transform(path.read_text()))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class")
    for name in HONEST:
        shutil.copytree(EXAMPLES / name, root / name)  # answer-key is a link to the reference: copied as files
    _copy_code(EXAMPLES / "sequential-style", root / "renamed-copy", lambda text: INJECTED + _renamed(text))
    _copy_code(EXAMPLES / "functional-style", root / "reordered-copy", _reordered)
    own = root / "weights-copy"  # the colab-notebook student's own notebook, with functional-style's weights
    own.mkdir()
    shutil.copy(EXAMPLES / "colab-notebook" / "chen_assignment2.ipynb", own)
    for path in (EXAMPLES / "functional-style").glob("*.pt"):
        shutil.copy(path, own)
    alike = root / "structure-copy"  # the seed student's notebook, with sequential-style's layers retrained
    alike.mkdir()
    shutil.copy(EXAMPLES / "seed-notebook" / "nguyen_assignment2.ipynb", alike)
    torch.manual_seed(0)
    layers = torch.load(EXAMPLES / "sequential-style" / "mnist_ae.pt", weights_only=True)
    torch.save({name: torch.randn_like(value) for name, value in layers.items()}, alike / "mnist_ae.pt")
    return root


@pytest.fixture(scope="module")
def report(batch):
    return compare_batch(sorted(batch.iterdir()))


def _pair(report, first, second):
    found = [p for p in report.pairs if {p.first, p.second} == {first, second}]
    return found[0] if found else None


def test_the_transformed_copies_really_differ_from_their_originals(batch):
    original = (EXAMPLES / "sequential-style" / "prob6_CAE_skip.py").read_text()
    assert "DownPath" in (batch / "renamed-copy" / "prob6_CAE_skip.py").read_text()
    assert "class Encoder" in original
    functional = (EXAMPLES / "functional-style" / "prob6_CAE.py").read_text()
    reordered = (batch / "reordered-copy" / "prob6_CAE.py").read_text()
    assert reordered != functional and sorted(reordered.splitlines()) == sorted(functional.splitlines())
    assert reordered.index("class CAE_skip") < reordered.index("class CAE(")


def test_a_copy_with_identifiers_renamed_is_flagged_for_its_code(report):
    pair = _pair(report, "renamed-copy", "sequential-style")
    assert pair is not None and pair.kinds == ["code"]
    message = pair.findings[0].message
    assert "of renamed-copy's own code" in message and "up to names, comments and order" in message
    assert pair.findings[0].score > 0.95


def test_a_copy_with_functions_reordered_is_flagged_for_its_code(report):
    pair = _pair(report, "functional-style", "reordered-copy")
    assert pair is not None and pair.kinds == ["code"]
    assert pair.findings[0].score > 0.9  # reordering breaks only the fingerprints that span two functions
    assert re.match(r"9\d% of functional-style's own code and \d+% of reordered-copy's", pair.findings[0].message)


def test_a_copy_of_the_weights_only_is_flagged_for_its_weights(report):
    pair = _pair(report, "functional-style", "weights-copy")
    assert pair is not None and "weights" in pair.kinds and "code" not in pair.kinds
    messages = [f.message for f in pair.findings if f.kind == "weights"]
    assert len(messages) == 3  # all three of its files
    assert any(m.startswith("mnist_ae.pt of functional-style and mnist_ae.pt of weights-copy: cosine 1.000000 "
                            "over 168,946 values") for m in messages)
    assert pair.kinds == ["weights"]  # the same structure too, but that is said by the weights


def test_a_model_of_exactly_the_same_unusual_layers_is_flagged_for_its_structure(report):
    pair = _pair(report, "sequential-style", "structure-copy")
    assert pair is not None and pair.kinds == ["structure"]
    assert pair.findings[0].message == (
        "mnist_ae.pt of sequential-style and mnist_ae.pt of structure-copy have exactly the same tensors (16 names "
        "and shapes, 105,986 values); their shapes are not the reference solution's and no other submission of "
        "the batch has them")


def test_honest_independent_work_is_not_flagged(report):
    flagged = {(p.first, p.second): p.kinds for p in report.flagged}
    assert flagged == {("renamed-copy", "sequential-style"): ["code"], ("functional-style", "reordered-copy"): ["code"],
                       ("functional-style", "weights-copy"): ["weights"],
                       ("sequential-style", "structure-copy"): ["structure"]}
    honest = [s for s in report.code_scores if s[2] in HONEST and s[3] in HONEST]
    assert len(honest) == 6 and max(score for score, *_ in honest) < 0.5  # flagged from 0.7


def test_the_reference_solutions_weights_are_reported_as_such_not_as_a_copy(report):
    pair = _pair(report, "answer-key", "sequential-style")  # both submitted the reference's mnist_cae.pt
    assert pair is not None and not pair.flagged
    assert [f.kind for f in pair.findings] == [REFERENCE_WEIGHTS]
    assert "both are the reference solution's weights (mnist_cae.pt)" in pair.findings[0].message


def test_the_starter_code_is_removed_before_comparing(report):
    assert any(b.endswith("reference/cpsc663_ex2/starter (1 file)") for b in report.boilerplate)
    assert report.assignment == "cpsc663-ex2"


def test_the_terminal_names_each_flagged_pair_and_the_margin(report):
    text = render_terminal(report)
    assert "4 pair(s) flagged for a person to look at (no grade is changed):" in text
    assert "  functional-style ~ weights-copy: weights\n" in text
    assert "highest code scores not flagged: " in text


def test_the_html_report_is_safe_and_shows_the_shared_code_side_by_side(report):
    page = render_html(report)
    assert "<script" not in page.lower()
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the renamed copy's code, escaped
    assert "never changes a grade" in page
    assert page.count("<div class='sides'>") == 2  # the two code copies
    assert "<mark>" in page and "DownPath" in page


def test_highlighting_escapes_and_merges_spans():
    assert highlighted("a<b>c&d", [(1, 4), (3, 5)]) == "a<mark>&lt;b&gt;c</mark>&amp;d"
    assert highlighted("abc", [(5, 9)]) == "abc"


def test_the_command_prints_the_flagged_pairs_and_writes_the_report(batch, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["similarity", str(batch), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "renamed-copy ~ sequential-style: code" in printed
    assert f"wrote {out}" in printed
    assert "renamed-copy" in out.read_text()


def test_the_command_needs_several_submissions(tmp_path, capsys):
    assert main(["similarity", str(EXAMPLES / "functional-style"), "--out", str(tmp_path / "r.html")]) == 2
    assert "holds 1 submission(s)" in capsys.readouterr().err


def test_notebook_code_cells_are_read_as_json_with_magics_commented(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "source": ["!pip install torch\n", "x = 1\n"]},
                          {"cell_type": "markdown", "source": "x = 2"},
                          {"cell_type": "code", "source": "%matplotlib inline\ny = x"}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "hw.ipynb").write_text(json.dumps(notebook))
    code = collect.code_of_folder(tmp_path, "student")
    assert [p.origin for p in code.parts] == ["hw.ipynb, code cell 1", "hw.ipynb, code cell 2"]
    assert code.parts[0].text == "# !pip install torch\nx = 1\n"
    assert code.parts[1].text == "# %matplotlib inline\ny = x"


def test_a_notebook_over_the_cell_limit_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "NOTEBOOK_CELLS", 1)
    cell = {"cell_type": "code", "source": "x = 1"}
    (tmp_path / "hw.ipynb").write_text(json.dumps({"cells": [cell, cell]}))
    code = collect.code_of_folder(tmp_path, "student")
    assert code.parts == [] and code.notes == ["hw.ipynb: skipped, not a list of at most 1 cells"]


class _Trap:
    def __reduce__(self):
        return (Path.touch, (_Trap.marker,))


def test_a_weight_file_that_would_run_code_is_not_read(tmp_path):
    _Trap.marker = tmp_path / "ran"
    torch.save({"weight": _Trap()}, tmp_path / "evil.pt")
    found, note = read_weight_file(tmp_path / "evil.pt", "evil.pt")
    assert found is None and note == "evil.pt: not read (UnpicklingError)"
    assert not _Trap.marker.exists()


def test_a_weight_file_over_the_limit_is_not_read(tmp_path, monkeypatch):
    torch.save({"weight": torch.ones(100)}, tmp_path / "big.pt")
    monkeypatch.setattr(weights, "TRUSTED_WEIGHTS_BYTES", 200)
    found, note = read_weight_file(tmp_path / "big.pt", "big.pt")
    assert found is None and note == "big.pt: not read, over 0 MB"


def test_near_identical_weights_stay_over_the_threshold_and_independent_ones_under():
    rng = np.random.default_rng(0)
    original = {"a.weight": rng.normal(size=(64, 32)).astype(np.float32), "a.bias": rng.normal(size=64)}
    noisy = {k: v + rng.normal(scale=0.1 * v.std(), size=v.shape) for k, v in original.items()}
    other = {k: rng.normal(size=v.shape) for k, v in original.items()}
    first = WeightFile("a.pt", original)
    assert compare_weights(first, WeightFile("b.pt", noisy)).cosine > WEIGHT_COSINE
    assert abs(compare_weights(first, WeightFile("c.pt", other)).cosine) < 0.2
    assert compare_weights(first, WeightFile("d.pt", {"a.weight": original["a.weight"]})).values == 64 * 32
    assert compare_weights(first, WeightFile("e.pt", {"z": original["a.bias"]})) is None  # nothing shared


def test_a_structure_is_unusual_only_off_the_reference_and_when_rare():
    def file(*shapes, prefix="layer"):
        return WeightFile("w.pt", {f"{prefix}{i}.weight": np.zeros(s) for i, s in enumerate(shapes)})

    reference = [file((4, 2), (2, 4), prefix="ref")]
    batch = {"ann": [file((5, 3), (3, 5))], "bob": [file((5, 3), (3, 5))], "cid": [file((4, 2), (2, 4))],
             "dee": [file((4, 2), (2, 4))], "eve": [file((7, 3))], "fay": [file((7, 3))], "gus": [file((7, 3))]}
    unusual = unusual_structures(batch, reference)
    assert list(unusual.values()) == [["ann", "bob"]]  # cid, dee: the reference's shapes; eve, fay, gus: three


def test_code_given_with_starter_never_counts_and_a_missing_one_is_said(batch, tmp_path):
    pair = [batch / "renamed-copy", batch / "sequential-style"]
    assert [p.kinds for p in compare_batch(pair).flagged] == [["code"]]
    given = compare_batch(pair, starters=[EXAMPLES / "sequential-style", tmp_path / "absent"])
    assert given.flagged == []
    assert given.boilerplate[-1] == f"{EXAMPLES / 'sequential-style'} (5 files or cells)"
    assert f"--starter {tmp_path / 'absent'}: not found, left out" in given.notes


def test_a_graded_batch_gets_a_similarity_section_and_a_failure_there_leaves_the_grades(batch, tmp_path, monkeypatch):
    from autograder.batch import reports as grading_batch
    from autograder.similarity import batch as similarity_batch

    section, report = grading_batch.similarity_section(sorted(batch.iterdir()), tmp_path, None)
    assert "renamed-copy ~ sequential-style: code" in section and report.flagged
    assert f"similarity report: {tmp_path / 'similarity.html'}" in section
    assert "renamed-copy" in (tmp_path / "similarity.html").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("copydetect fell over")

    monkeypatch.setattr(similarity_batch, "compare_batch", broken)
    section, report = grading_batch.similarity_section(sorted(batch.iterdir()), tmp_path, None)
    assert section == "similarity: not compared (RuntimeError: copydetect fell over); the grades stand"
    assert report is None


def test_weight_files_are_read_within_a_submissions_and_a_batchs_budget(tmp_path, monkeypatch):
    for index in range(4):
        folder = tmp_path / f"s{index}"
        folder.mkdir()
        for name in ("a.pt", "b.pt"):
            torch.save({"w": torch.randn(64, 64)}, folder / name)  # about 17 kB each, unpacked
    size = weights.unpacked_bytes(tmp_path / "s0" / "a.pt")
    monkeypatch.setattr(weights, "SUBMISSION_BYTES", size + 10)  # one file of each submission
    found, notes = weights.weight_files(tmp_path / "s0")
    assert len(found) == 1 and "past the" in notes[0] and "of one submission" in notes[0]
    batch = weights.Budget(size * 2 + 10)  # two files of the batch in all
    read = [weights.weight_files(tmp_path / f"s{index}", batch) for index in range(4)]
    assert [len(f) for f, _ in read] == [1, 1, 0, 0]
    assert "of the batch" in read[2][1][0]


PEAK_MEMORY = """
import json, resource, sys  # noqa: E401
from pathlib import Path

import torch  # noqa: F401 - what is imported before the start is not measured: what similarity holds is

import autograder.grading.session, autograder.spec, copydetect  # noqa: E401, F401 - compare_batch's, as it goes
from autograder.similarity.batch import compare_batch

budgets, paths = json.loads(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
page_kib = resource.getpagesize() // 1024
start = int(Path("/proc/self/statm").read_text().split()[1]) * page_kib
report = compare_batch(paths, **budgets)
# VmHWM: the peak of this process's own memory since its exec (ru_maxrss would keep the peak of the parent
# it was forked from: the test process, over a GiB after a long run)
peak = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:"))
print(json.dumps({"grew_mib": (peak - start) / 1024, "notes": report.notes}))
"""


def _zeros_weight_file(path: Path, mib: int) -> None:
    """A .pt file of ``mib`` MiB of float32 zeros, its zip entries deflated: about 10 kB on disk."""
    import io
    import zipfile

    saved = io.BytesIO()
    torch.save({"w": torch.zeros(mib << 18)}, saved)
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as packed:
        for info in source.infolist():
            packed.writestr(info.filename, source.read(info))


def _similarity_growth(paths: list[Path], **budgets) -> dict:
    """``compare_batch`` run in a fresh interpreter: how far its peak memory rose over what it held before, in
    MiB, and its notes."""
    command = [sys.executable, "-c", PEAK_MEMORY, json.dumps(budgets), *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the memory a process holds from /proc")
def test_the_similarity_runs_peak_memory_stays_within_its_budgets_and_each_file_left_unread_is_named(tmp_path):
    """Four submissions of sixteen weight files that unpack to 8 MiB each (512 MiB in all, 10 kB each on disk),
    compared with budgets of 32 MiB a submission and 64 MiB the batch: the comparison's memory rises by little
    more than the batch's budget (it would rise by over 512 MiB without the budgets), and each of the 56 files
    left unread is named once, with the budget it was past."""
    _zeros_weight_file(tmp_path / "zeros.pt", 8)
    paths = []
    for student in range(4):
        paths.append(tmp_path / f"student{student}")
        paths[-1].mkdir()
        for index in range(16):
            shutil.copy(tmp_path / "zeros.pt", paths[-1] / f"layer{index:02}.pt")
    size = weights.unpacked_bytes(tmp_path / "zeros.pt")  # 8 MiB and the archive's small entries
    measured = _similarity_growth(paths, submission_bytes=4 * size, batch_bytes=8 * size)
    assert measured["grew_mib"] < 2 * 64, measured["grew_mib"]  # the 64 MiB held, and one slice compared
    unread = [note for note in measured["notes"] if "not read, past the" in note]
    named = {note.split(": not read")[0] for note in unread}
    assert len(unread) == len(named) == 4 * 16 - 8
    assert sum("past the 32 MB of weight files read of one submission" in note for note in unread) == 48
    assert sum("past the 64 MB of weight files read of the batch" in note for note in unread) == 8
    assert "student2: layer00.pt: not read, past the 64 MB of weight files read of the batch" in unread
