"""The feedback page: each failed check's message, figures drawn from what the grader measured, inline only.

Pages of real gradings (a broken and a correct cpsc663-ex2 submission, a notebook of ece4803-hw6) are checked
for their messages and figures, and rendered in headless Chromium to a screenshot that must not be blank; a page
of hand-made figure data checks every kind of figure, escaping and the files the CLI writes, without training.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from autograder.batch.options import ReportOptions
from autograder.batch.reports import write_reports
from autograder.export import chromium
from autograder.grading.runner import grade
from autograder.report.gradescope import gradescope_results
from autograder.report.html import render_feedback_html
from autograder.results import CheckResult, SubmissionResult
from tests.conftest import ROOT

EXAMPLES = ROOT / "submissions"
KINDS = {"reconstructions", "scatter", "confusion", "filters", "training"}


class _Page(HTMLParser):
    """Every tag's attributes, and the images' sources."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    @property
    def images(self) -> list[str]:
        return [attrs["src"] for tag, attrs in self.tags if tag == "img"]


def _decoded(uri: str) -> np.ndarray:
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix), uri[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri[len(prefix):]))).convert("RGB"), np.float64)


def assert_self_contained(page: str) -> None:
    """No script, nothing fetched: every src or href is inline data."""
    assert "<script" not in page.lower()
    for tag, attrs in _Page(page).tags:
        assert not tag.startswith("script") and not any(k.startswith("on") for k in attrs), tag
        for key in ("src", "href", "srcset", "data", "action"):
            if attrs.get(key) is not None:
                assert attrs[key].startswith("data:image/png;base64,"), (tag, key, attrs[key][:80])


def assert_figures_have_content(page: str, count: int) -> None:
    images = _Page(page).images
    assert len(images) == count
    for uri in images:
        pixels = _decoded(uri)
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50
        assert pixels.std() > 10, "a figure is a uniform image"
        assert (pixels.min(axis=2) < 200).mean() > 0.005, "a figure is (nearly) blank"


def screenshot(page: str, folder: Path, name: str, height: int = 14000) -> np.ndarray:
    """The page rendered by headless Chromium (as ``autograder export`` calls it): where its pixels are inked."""
    from PIL import Image

    browser = chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (scripts/install-export.sh installs it): the page was not rendered")
    source, shot = folder / f"{name}.html", folder / f"{name}.png"
    source.write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size=1100,{height}",
                        f"--screenshot={shot}", source.resolve().as_uri()],
                       capture_output=True, timeout=180, check=False)  # fmt: skip
    assert shot.is_file(), "Chromium wrote no screenshot"
    inked = np.asarray(Image.open(shot).convert("L")) < 200
    assert not inked[-100:].any(), "the page is longer than the screenshot"
    return inked


def assert_rendered_with_its_figures(page: str, folder: Path, name: str) -> None:
    """Chromium draws the page, and each figure in it: the page inks about as many more pixels than the same
    page without its figures as the figures' own images hold."""
    inked = screenshot(page, folder, name)
    assert inked.mean() > 0.01, "the screenshot is blank"
    images = _Page(page).images
    if not images:
        return
    without = screenshot(re.sub(r"<figure\b.*?</figure>", "", page, flags=re.S), folder, f"{name}-text")
    figures_ink = sum(int((_decoded(uri).min(axis=2) < 200).sum()) for uri in images)
    assert int(inked.sum()) - int(without.sum()) > 0.8 * figures_ink, "figures missing from the screenshot"


# ---------------------------------------------------------------- real gradings


@pytest.fixture(scope="module")
def cpsc663_results() -> dict[str, SubmissionResult]:
    folder = EXAMPLES / "cpsc663-ex2"
    return {name: grade(folder / name, assignment_id="cpsc663-ex2", device="cpu")
            for name in ("broken-no-skip", "answer-key")}


@pytest.mark.slow
def test_each_failed_check_is_on_the_page_with_its_message(cpsc663_results, tmp_path):
    result = cpsc663_results["broken-no-skip"]
    failed = result.failed()
    assert {c.check_id for c in failed} >= {"6.2/CAE_skip/skip_connections", "6.2/CAE_skip/brief_training"}
    page = render_feedback_html(result)
    for check in failed:
        assert html.escape(check.feedback, quote=True) in page, check.check_id
        assert html.escape(check.title, quote=True) in page
    assert f"To fix ({len(failed)})" in page
    assert_self_contained(page)
    assert_figures_have_content(page, len(result.figures))
    assert_rendered_with_its_figures(page, tmp_path, "broken-no-skip")


@pytest.mark.slow
def test_a_correct_submission_gets_every_figure(cpsc663_results, tmp_path):
    result = cpsc663_results["answer-key"]
    assert not result.failed()
    figures = {(f["kind"], f["subject"]) for f in result.figures}
    assert {("confusion", "CNN"), ("training", "CNN"), ("reconstructions", "AE"), ("scatter", "AE"),
            ("training", "AE"), ("filters", "CAE"), ("reconstructions", "CAE")} <= figures
    scatter = next(f for f in result.figures if f["kind"] == "scatter" and f["subject"] == "AE")
    assert len(scatter["points"]) == len(scatter["labels"]) <= 2000 and len(set(scatter["labels"])) == 10
    confusion = next(f for f in result.figures if f["kind"] == "confusion")
    assert np.asarray(confusion["matrix"]).shape == (10, 10) and np.asarray(confusion["matrix"]).sum() == 1000
    page = render_feedback_html(result)
    assert "Every check passed." in page
    assert_self_contained(page)
    assert_figures_have_content(page, len(result.figures))
    assert_rendered_with_its_figures(page, tmp_path, "answer-key")


@pytest.mark.slow
def test_figures_stay_out_of_gradescopes_json_and_survive_the_records(cpsc663_results):
    result = cpsc663_results["answer-key"]
    text = json.dumps(gradescope_results(result))
    assert "uint8" not in text and "data:image" not in text and "figures" not in text
    again = SubmissionResult.from_dict(json.loads(json.dumps(result.as_dict())))
    assert again.figures == result.figures
    assert len(json.dumps(result.figures)) < 400_000  # small: a few images, codes, one matrix, filters, losses


@pytest.mark.slow
def test_a_notebook_submission_shows_its_reconstructions(tmp_path):
    result = grade(EXAMPLES / "ece4803-hw6" / "answer-key", assignment_id="ece4803-hw6", device="cpu")
    reconstructions = [f for f in result.figures if f["kind"] == "reconstructions"]
    assert reconstructions, [f["key"] for f in result.figures]
    assert reconstructions[0]["rows"][0]["images"]["shape"] == [8, 8, 8]  # eight 8x8 digits
    page = render_feedback_html(result)
    assert_self_contained(page)
    assert_figures_have_content(page, len(result.figures))
    assert_rendered_with_its_figures(page, tmp_path, "ece4803-hw6")


# ---------------------------------------------------------------- hand-made figure data (no training)


def _pixels(images: np.ndarray) -> dict:
    return {"shape": list(images.shape), "uint8": base64.b64encode(images.astype(np.uint8).tobytes()).decode()}


def made_up() -> SubmissionResult:
    rng = np.random.default_rng(0)
    digits = (rng.random((8, 28, 28)) * 255).round()
    base = {"problem": "5.4", "subject": "AE", "source": "test"}
    figures = [
        {**base, "kind": "reconstructions", "key": "r", "title": "AE: images", "range": [0, 1],
         "rows": [{"label": "held-out image", "images": _pixels(digits)},
                  {"label": "AE's output", "images": _pixels(255 - digits)}]},
        {**base, "kind": "scatter", "key": "s", "title": "AE: codes", "points": rng.normal(size=(300, 2)).tolist(),
         "labels": rng.integers(0, 10, 300).tolist()},
        {**base, "kind": "confusion", "key": "c", "title": "CNN: confusion", "problem": "4.2",
         "matrix": (np.eye(10, dtype=int) * 90 + 1).tolist(), "accuracy": 0.9},
        {**base, "kind": "filters", "key": "f", "title": "CAE: filters", "total": 40,
         "filters": rng.normal(size=(40, 5, 5)).tolist()},
        {**base, "kind": "training", "key": "t", "title": "AE: brief training", "loss": "mse",
         "metric": "reconstruction MSE", "pass_if": "at most", "threshold": 0.06, "reference": [0.04, 0.05],
         "trivial": {"mean training image": 0.068},
         "runs": [{"seed": 0, "value": 0.07, "steps": [25, 50, 75], "losses": [0.09, 0.08, None]},
                  {"seed": 1, "value": 0.045, "steps": [25, 50, 75], "losses": [0.08, 0.06, 0.05]}]},
    ]
    checks = [
        CheckResult("5.4/AE/code_size", "AE encodes to a 2-D code", "5.4", 2, 0, False,
                    "code of shape 3 <script>alert('x')</script> & more"),
        CheckResult("5.4/AE/brief_training", "AE learns", "5.4", 4, 4, True, "reaches 0.045"),
        CheckResult("4.2/CNN/brief_training", "CNN learns", "4.2", 5, 5, True, "reaches 0.93"),
        CheckResult("3.3/answers/delta3", "Problem 3.3: delta3", "3.3", 2, 0, False, "delta3 is wrong: 0.25",
                    visibility="after_published"),
    ]
    return SubmissionResult("alice <b>", "cpsc663-ex2", checks=checks, notes=["a note <i>"], figures=figures)


def test_every_kind_of_figure_is_drawn_and_every_text_escaped():
    result = made_up()
    assert {f["kind"] for f in result.figures} == KINDS
    page = render_feedback_html(result)
    assert_self_contained(page)
    assert_figures_have_content(page, len(KINDS))
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "alice &lt;b&gt;" in page and "a note &lt;i&gt;" in page
    assert "delta3 is wrong" in page and "To fix (2)" in page


def test_visible_only_leaves_out_what_gradescope_would_not_show_yet():
    fragment = render_feedback_html(made_up(), visible_only=True, standalone=False)
    assert fragment.startswith("<div class='ag-feedback'>") and "<html" not in fragment
    assert "delta3" not in fragment and "To fix (1)" in fragment
    assert_figures_have_content(fragment, len(KINDS))


def test_a_page_that_could_not_be_graded_says_why():
    page = render_feedback_html(SubmissionResult("bob.zip", None, error="bob.zip is not a readable zip archive"))
    assert "Not graded." in page and "bob.zip is not a readable zip archive" in page
    assert_self_contained(page)


def test_grade_writes_the_page_with_html_and_beside_each_results_file(tmp_path, capsys):
    result = made_up()
    write_reports([result], ReportOptions(html=str(tmp_path / "feedback.html")))
    assert_figures_have_content((tmp_path / "feedback.html").read_text(), len(KINDS))
    other = SubmissionResult("bob", "cpsc663-ex2", checks=result.checks[:1])
    write_reports([result, other], ReportOptions(), out=tmp_path / "out")
    assert (tmp_path / "out" / "alice <b>.html").is_file()
    assert "code of shape 3" in (tmp_path / "out" / "bob.html").read_text()
    capsys.readouterr()


def test_the_made_up_page_renders_in_chromium(tmp_path):
    assert_rendered_with_its_figures(render_feedback_html(made_up()), tmp_path, "made-up")


def made_up_class() -> list[SubmissionResult]:
    """Five submissions: three graded at different scores, one not gradable in part, one not graded at all."""
    def result(name, points, seconds, error=None):
        checks = [CheckResult("5.4/AE/code_size", "AE encodes to a 2-D code", "5.4", 2, points[0], points[0] == 2,
                              "AE.encoder maps an image to a code of shape 3; the handout asks for a 2-D code"
                              if points[0] < 2 else "AE.encoder gives a 2-D code"),
                  CheckResult("5.4/AE/brief_training", "AE learns", "5.4", 4, points[1], points[1] == 4,
                              "reaches 0.09, the bar is 0.05" if points[1] < 4 else "reaches 0.045"),
                  CheckResult("4.2/CNN/brief_training", "CNN learns", "4.2", 5, 0, False,
                              "not gradable here: needs mnist", status="not gradable")]
        return SubmissionResult(name, "cpsc663-ex2", [] if error else checks, error=error, seconds=seconds)
    return [result("ann", (2, 4), 31.0), result("bob", (0, 4), 12.0), result("cy<script>", (0, 0), 55.0),
            result("dee", (2, 0), 8.0), result("eve.zip", (0, 0), 1.0, error="eve.zip is not a readable zip archive")]


def test_the_class_page_shows_scores_rates_what_was_not_graded_and_links_every_submission(tmp_path):
    from autograder.report.class_page import check_rates, render_class_page

    results = made_up_class()
    rates = check_rates([r for r in results if not r.error])
    assert [(r["check"], r["passed"], r["failed"], r["not gradable"]) for r in rates] == [
        ("5.4/AE/brief_training", 2, 2, 0), ("5.4/AE/code_size", 2, 2, 0), ("4.2/CNN/brief_training", 0, 0, 4)]
    assert rates[0]["message"] == "reaches 0.09, the bar is 0.05"
    page = render_class_page(results, pages={"ann.html", "bob.html", "cy<script>.html", "dee.html"})
    assert_self_contained_but_linking(page)
    assert "5 submission(s), 4 graded, 1 could not be graded" in page
    assert "4.2/CNN/brief_training (4 submission(s)): not gradable here: needs mnist" in page
    assert "href='cy%3Cscript%3E.html'" in page and "cy&lt;script&gt;" in page and "<script>" not in page
    assert "eve.zip is not a readable zip archive" in page and "href='eve.zip.html'" not in page
    assert "Not compared in this run" in page
    assert_figures_have_content(page, 1)
    inked = screenshot(page, tmp_path, "class", height=3000)
    assert inked[:600].any() and inked.mean() > 0.01


def assert_self_contained_but_linking(page: str) -> None:
    """No script, nothing fetched: images inline, links only to the pages beside it."""
    assert "<script" not in page.lower()
    for tag, attrs in _Page(page).tags:
        assert not any(k.startswith("on") for k in attrs), tag
        if tag == "a":
            assert "/" not in attrs["href"] and ":" not in attrs["href"], attrs["href"]
        elif attrs.get("src") is not None:
            assert attrs["src"].startswith("data:image/png;base64,")


@pytest.mark.slow  # over 10 s on 2 busy cores: the full tier (tox -e full)
def test_a_graded_class_gets_its_page_beside_the_results(tmp_path, capsys):
    from autograder.cli import main

    batch = tmp_path / "batch"
    for name in ("ann", "bob"):
        shutil.copytree(EXAMPLES / "cpsc663-ex2" / "sequential-style", batch / name)
    out = tmp_path / "out"
    assert main(["grade", str(batch), "--out", str(out), "-k", "5.4/AE/constructs", "--jobs", "1"]) == 0
    assert f"the class at a glance: {out / 'index.html'}" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    assert "href='ann.html'" in page and "href='bob.html'" in page
    assert "No pair of the 2 submissions was flagged" in page or "pair(s) flagged" in page
    assert "Partial run." in page
