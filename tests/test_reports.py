"""Renderers: Gradescope results.json, JUnit XML, the CSV gradebook, the terminal table."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from autograder.report.gradebook import write_gradebook
from autograder.report.gradescope import gradescope_results, write_gradescope
from autograder.report.junit import write_junit
from autograder.report.terminal import render_submission, render_table
from autograder.results import CheckResult, SubmissionResult


def sample() -> list[SubmissionResult]:
    good = SubmissionResult("alice", "cpsc663-ex2", checks=[
        CheckResult("5.4/AE/code_size", "AE encodes to a 2-D code", "5.4", 2, 2, True, "AE.encoder gives a 2-D code"),
        CheckResult("3.3/answers/delta3", "Problem 3.3: delta3", "3.3", 2, 0, False, "delta3 does not match",
                    visibility="after_published"),
    ], notes=["prob5_AE.py: the file trains when imported"], seconds=3.2)  # fmt: skip
    bad = SubmissionResult("bob.zip", None, error="bob.zip is not a readable zip archive", seconds=0.1)
    return [good, bad]


def test_gradescope_schema():
    data = gradescope_results(sample()[0])
    assert data["score"] == 2 and data["execution_time"] == 3
    assert data["tests"][0] == {"name": "AE encodes to a 2-D code", "number": "5.4/AE/code_size", "score": 2,
                                "max_score": 2, "status": "passed", "output": "AE.encoder gives a 2-D code",
                                "visibility": "visible"}
    assert data["tests"][1]["status"] == "failed" and data["tests"][1]["visibility"] == "after_published"
    assert "Note: prob5_AE.py: the file trains when imported" in data["output"]


def test_gradescope_for_an_ungradable_submission(tmp_path):
    write_gradescope(sample()[1], tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "could not be graded: bob.zip is not a readable zip archive" in data["output"]


def test_junit(tmp_path):
    write_junit(sample(), tmp_path / "j.xml")
    suites = ET.parse(tmp_path / "j.xml").getroot()
    alice, bob = suites.findall("testsuite")
    assert alice.get("tests") == "2" and alice.get("failures") == "1"
    failure = alice.find("testcase[@name='3.3/answers/delta3']/failure")
    assert failure.get("message") == "delta3 does not match"
    assert bob.find("testcase/failure").get("message").startswith("bob.zip is not")


def test_gradebook(tmp_path):
    write_gradebook(sample(), tmp_path / "g.csv")
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert rows[0]["submission"] == "alice" and rows[0]["score"] == "2" and rows[0]["5.4/AE/code_size"] == "2"
    assert rows[0]["3.3/answers/delta3"] == "0" and rows[1]["error"].startswith("bob.zip")


def test_terminal():
    text = render_submission(sample()[0])
    assert "2/4 points" in text and "✗   0/2   Problem 3.3: delta3" in text and "delta3 does not match" in text
    table = render_table(sample())
    assert "alice" in table and "2/4" in table and "not graded: bob.zip" in table
