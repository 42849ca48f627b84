"""Every bad input gets a clear message and loses nothing else.

Each test starts from a correct submission, breaks one thing, and grades only
the checks involved plus a neighbour that must stay unharmed.
"""

from __future__ import annotations

import shutil

import pytest

from autograder.grading import limits
from autograder.grading.runner import grade
from tests.conftest import ROOT

GOOD = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"


@pytest.fixture
def submission(tmp_path):
    target = tmp_path / "student"
    shutil.copytree(GOOD, target)
    return target


@pytest.fixture
def short_limits(monkeypatch):
    monkeypatch.setattr(limits, "TIMEOUT_CALL", 2)
    monkeypatch.setattr(limits, "IMPORT_SECONDS", 3)


def by_id(result):
    return {c.check_id: c for c in result.checks}


def append_to(path, text):
    path.write_text(path.read_text() + text)


def test_empty_file(submission):
    (submission / "prob5_AE.py").write_text("")
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs or CAE/constructs"))
    assert not checks["files/prob5_AE.py/imports"].passed
    assert checks["files/prob5_AE.py/imports"].feedback == "prob5_AE.py is empty"
    assert "prob5_AE.py is empty" in checks["5.4/AE/constructs"].feedback
    assert checks["6.1/CAE/constructs"].passed and checks["files/prob5_AE.py/present"].passed


def test_non_utf8_source(submission):
    (submission / "prob5_AE.py").write_bytes('author = "Ren\xe9e"\nimport torch\n'.encode("latin-1"))
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs or CAE/constructs"))
    assert "SyntaxError" in checks["files/prob5_AE.py/imports"].feedback
    assert "utf-8" in checks["files/prob5_AE.py/imports"].feedback.lower()
    assert checks["6.1/CAE/constructs"].passed


def test_exception_at_import_keeps_the_classes_defined_before_it(submission):
    append_to(submission / "prob5_AE.py", "\nraise ValueError('oops')\n")
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs or AE/code_size"))
    imports = checks["files/prob5_AE.py/imports"]
    assert not imports.passed
    assert "ValueError: oops (in prob5_AE.py, line" in imports.feedback and "kept" in imports.feedback
    assert checks["5.4/AE/constructs"].passed and checks["5.4/AE/code_size"].passed


def test_sys_exit_at_import_fails_the_import_and_keeps_the_classes(submission):
    append_to(submission / "prob5_AE.py", "\nimport sys\nsys.exit(0)\n")
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs"))
    assert "the file called sys.exit(0) when imported" in checks["files/prob5_AE.py/imports"].feedback
    assert not checks["files/prob5_AE.py/imports"].passed
    assert checks["5.4/AE/constructs"].passed


@pytest.mark.slow  # waits out the import's limit (12 s idle): the full tier, beside the corpus's loop-at-import
def test_endless_loop_at_import_is_stopped_and_the_classes_kept(submission, short_limits):
    append_to(submission / "prob5_AE.py", "\nwhile True:\n    pass\n")
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs"))
    imports = checks["files/prob5_AE.py/imports"]
    assert not imports.passed and "still running after 3" in imports.feedback and "line" in imports.feedback
    assert checks["5.4/AE/constructs"].passed


def test_forward_that_never_returns_fails_only_that_model(submission, short_limits):
    path = submission / "prob5_AE.py"
    path.write_text(path.read_text().replace("        x = x.view(x.size(0), -1)\n",
                                             "        while True:\n            pass\n"))
    keyword = "5.4/AE/output_shapes or 5.4/AE/code_size or 5.4/AE/reconstruction or 6.1/CAE/output_shapes"
    checks = by_id(grade(submission, keyword=keyword))
    shapes = checks["5.4/AE/output_shapes"]
    assert not shapes.passed and "did not finish within its limit of 2 s of computing" in shapes.feedback
    through_code = checks["5.4/AE/reconstruction_through_code"]
    assert "not run: AE.forward did not return within the time limit earlier" in through_code.feedback
    assert checks["5.4/AE/code_size"].passed  # the encoder alone still works: only forward's checks are lost
    assert checks["6.1/CAE/output_shapes"].passed


def test_worker_that_exits_fails_only_the_check_that_ran(submission):
    path = submission / "prob5_AE.py"
    path.write_text(path.read_text().replace("        x = x.view(x.size(0), -1)\n",
                                             "        import os; os._exit(3)\n"))
    checks = by_id(grade(submission, keyword="AE/output_shapes or CAE/output_shapes or CAE/code_size"))
    assert "the worker exited with code 3 while running AE.forward" in checks["5.4/AE/output_shapes"].feedback
    assert checks["6.1/CAE/output_shapes"].passed and checks["6.1/CAE/code_size"].passed


def test_segfault_is_reported_as_a_signal(submission):
    path = submission / "prob6_CAE.py"
    path.write_text(path.read_text().replace("        return self.decoder(self.encoder(x))",
                                             "        import ctypes; ctypes.string_at(0)"))
    checks = by_id(grade(submission, keyword="CAE/output_shapes or AE/output_shapes"))
    feedback = checks["6.1/CAE/output_shapes"].feedback
    assert "the worker was killed by SIGSEGV" in feedback and "while running CAE.forward" in feedback
    assert checks["5.4/AE/output_shapes"].passed


def test_student_traceback_names_the_students_line_only(submission):
    path = submission / "prob6_CAE.py"
    path.write_text(path.read_text().replace("        return self.decoder(self.encoder(x))",
                                             "        return self.decoder(self.encoder(x.view(-1, 7)))"))
    feedback = by_id(grade(submission, keyword="CAE/output_shapes"))["6.1/CAE/output_shapes"].feedback
    assert "in prob6_CAE.py, line" in feedback and "in forward" in feedback
    assert "autograder" not in feedback and "site-packages" not in feedback


def test_code_that_hard_codes_cuda_runs_on_the_cpu_with_a_note(submission):
    path = submission / "prob5_AE.py"
    path.write_text(path.read_text().replace("        x = x.view(x.size(0), -1)\n",
                                             "        x = x.to('cuda').view(x.size(0), -1)\n")
                    + "\nDEVICE = torch.device('cuda')\nprobe = torch.zeros(2, device='cuda').cuda()\n")
    result = grade(submission, keyword="prob5_AE or 5.4/AE/output_shapes or 5.4/AE/code_size")
    assert all(c.passed for c in result.checks), [c.feedback for c in result.failed()]
    assert any("asks for a CUDA GPU; there is none here, so it ran on the CPU" in note for note in result.notes)


def test_a_misnamed_file_costs_its_name_check_and_its_contents_are_graded(submission):
    (submission / "prob5_AE.py").rename(submission / "Prob5_ae.py")
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs or AE/code_size"))
    present = checks["files/prob5_AE.py/present"]
    assert not present.passed
    assert present.feedback.startswith("prob5_AE.py is missing: the submission has Prob5_ae.py instead")
    assert "rename it to prob5_AE.py" in present.feedback
    assert [c for c in checks.values() if not c.passed] == [present]


def test_two_files_that_could_be_the_misnamed_one_are_not_guessed_between(submission):
    source = (submission / "prob5_AE.py").read_text()
    (submission / "prob5_AE.py").unlink()
    (submission / "prob5_ae.py").write_text(source)
    (submission / "old").mkdir()
    (submission / "old" / "prob5-AE.py").write_text(source)
    checks = by_id(grade(submission, keyword="prob5_AE or AE/constructs"))
    assert "Found old/prob5-AE.py, prob5_ae.py: rename it" in checks["files/prob5_AE.py/present"].feedback
    assert not checks["5.4/AE/constructs"].passed


def test_a_forward_that_returns_code_and_reconstruction_is_graded_on_the_reconstruction(submission):
    path = submission / "prob5_AE.py"
    path.write_text(path.read_text().replace(
        "        return self.decoder(self.encoder(x))\n",
        "        code = self.encoder(x)\n        return code, self.decoder(code)\n"))
    result = grade(submission, keyword="5.4/AE and (output_shapes or reconstruction_through_code or brief_training)")
    assert len(result.checks) == 3 and all(c.passed for c in result.checks), [c.feedback for c in result.failed()]
    assert "AE.forward returns a tuple: its element with 784 values per example was taken" in \
        by_id(result)["5.4/AE/output_shapes"].feedback


# ---------------------------------------------------------------- limits count work, not the clock


def test_a_call_is_stopped_for_computing_too_long_for_waiting_for_nothing_or_for_a_busy_machine():
    from autograder.common.process_usage import Usage
    from autograder.host.client import CallLimit

    limit = CallLimit(10, threads=2)  # 20 s of CPU time; the wall clock's safety net at 10 x 5 + 60 s
    assert limit.exceeded(Usage(cpu=19.0, waited=0.0), elapsed=100) is None  # slow, but within its work
    kind, why = limit.exceeded(Usage(cpu=21.0, waited=0.0), elapsed=12)
    assert kind == "timeout" and "its limit of 10 s of computing (20 s of CPU time)" in why
    kind, why = limit.exceeded(Usage(cpu=1.0, waited=0.5), elapsed=111)
    assert kind == "timeout" and "waiting (sleeping or blocked) rather than computing" in why
    kind, why = limit.exceeded(Usage(cpu=12.0, waited=90.0), elapsed=111)  # ready to run, not running: starved
    assert kind == "busy" and "the machine was too busy" in why
    wide = CallLimit(60, threads=8)  # one thread computing on a many-core machine reaches its CPU limit first
    assert wide.ceiling > wide.cpu and wide.exceeded(Usage(cpu=361.0, waited=0.0), elapsed=361) is None
    assert wide.exceeded(Usage(cpu=481.0, waited=0.0), elapsed=481)[0] == "timeout"
    assert limit.exceeded(None, elapsed=11)[0] == "timeout"  # without /proc, the wall clock is all there is


def test_a_forward_that_sleeps_is_stopped_by_the_safety_net_as_the_students_fault(submission, monkeypatch):
    from autograder.host import client

    monkeypatch.setattr(limits, "TIMEOUT_CALL", 2)
    monkeypatch.setattr(client, "CEILING_FACTOR", 1)
    monkeypatch.setattr(client, "CEILING_EXTRA", 1)
    path = submission / "prob5_AE.py"
    path.write_text(path.read_text().replace("        x = x.view(x.size(0), -1)\n",
                                             "        import time; time.sleep(3600)\n"))
    shapes = by_id(grade(submission, keyword="5.4/AE/output_shapes"))["5.4/AE/output_shapes"]
    assert not shapes.passed and "waiting (sleeping or blocked) rather than computing" in shapes.feedback


def test_a_worker_that_cannot_start_is_the_graders_trouble_and_the_staff_get_its_output(submission, monkeypatch):
    """A worker that dies before any student code runs (here: its interpreter cannot find its own library, as a
    path the sandbox does not bind would do) is "not graded" with no fault in the work; the staff get its
    output."""
    from autograder.grading import session
    from autograder.host import client

    environment = client.Worker._environment
    monkeypatch.setattr(client.Worker, "_environment",
                        lambda self: {**environment(self), "PYTHONHOME": "/nonexistent"})
    monkeypatch.setattr(session, "Worker", client.Worker)  # started cold: the start itself is what fails
    result = grade(submission, keyword="5.4/AE/constructs")
    check = by_id(result)["5.4/AE/constructs"]
    assert not check.gradable and "the grader's worker could not start here (not a fault in your work)" in \
        check.feedback
    assert any("before running any of the submission's code" in entry and "Python" in entry
               for entry in result.staff_log), result.staff_log
