"""Submissions in: folders, zips (safely), wrapping folders, Gradescope's layout, recognising the assignment."""

from __future__ import annotations

import stat
import zipfile

import pytest

from autograder.grading.session import recognise_assignment
from autograder.submission import MAX_FILES, SubmissionError, open_submission


def zip_with(path, entries: dict[str, bytes], links: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


@pytest.fixture
def scratch(tmp_path):
    target = tmp_path / "scratch"
    target.mkdir()
    return target


def test_flat_folder(tmp_path, scratch):
    source = tmp_path / "alice"
    source.mkdir()
    (source / "prob5_AE.py").write_text("x = 1\n")
    submission = open_submission(source, scratch)
    assert submission.files() == ["prob5_AE.py"] and submission.notes == []


def test_zip_inside_one_folder_is_flattened(tmp_path, scratch):
    archive = zip_with(tmp_path / "bob.zip", {"hw2/prob5_AE.py": b"x = 1\n", "__MACOSX/hw2/._prob5_AE.py": b"junk"})
    submission = open_submission(archive, scratch)
    assert submission.has("prob5_AE.py")
    assert "graded the files inside the folder 'hw2'" in submission.notes


def test_a_folder_holding_only_the_zipped_homework_is_graded_from_the_zip(tmp_path, scratch):
    upload = tmp_path / "autograder" / "submission"
    upload.mkdir(parents=True)
    zip_with(upload / "hw2.zip", {"hw2_jane/prob5_AE.py": b"x = 1\n", "__MACOSX/hw2_jane/._prob5_AE.py": b"junk",
                                  "../escape.py": b"owned = 1\n"})
    (upload / ".DS_Store").write_bytes(b"junk")
    submission = open_submission(tmp_path / "autograder", scratch)
    assert submission.files() == ["prob5_AE.py"]
    assert "the submission's only file is the archive 'hw2.zip': graded what it holds" in submission.notes
    assert any("escape.py" in note for note in submission.notes)
    assert not (tmp_path / "escape.py").exists() and not list(scratch.rglob("escape.py"))


def test_a_zip_beside_the_homework_files_is_left_as_a_file(tmp_path, scratch):
    source = tmp_path / "carol"
    source.mkdir()
    (source / "prob5_AE.py").write_text("x = 1\n")
    zip_with(source / "backup.zip", {"prob5_AE.py": b"x = 2\n"})
    submission = open_submission(source, scratch)
    assert sorted(submission.files()) == ["backup.zip", "prob5_AE.py"]
    assert submission.root.joinpath("prob5_AE.py").read_text() == "x = 1\n"


def test_gradescope_submission_folder(tmp_path, scratch):
    (tmp_path / "autograder" / "submission").mkdir(parents=True)
    (tmp_path / "autograder" / "results").mkdir()
    (tmp_path / "autograder" / "submission" / "prob6_CAE.py").write_text("x = 1\n")
    submission = open_submission(tmp_path / "autograder", scratch)
    assert submission.has("prob6_CAE.py")


def test_traversal_absolute_and_link_entries_are_skipped_with_a_note(tmp_path, scratch):
    archive = zip_with(
        tmp_path / "evil.zip",
        {"prob5_AE.py": b"x = 1\n", "../../outside.py": b"owned = 1\n", "/etc/evil.py": b"owned = 1\n",
         "a/../../../up.py": b"owned = 1\n"},
        links={"link.py": "/etc/passwd"},
    )  # fmt: skip
    submission = open_submission(archive, scratch)
    assert submission.files() == ["prob5_AE.py"]
    notes = " ".join(submission.notes)
    assert "'../../outside.py': a '..' component" in notes
    assert "'/etc/evil.py': an absolute path" in notes
    assert "'link.py': a symbolic link" in notes
    assert not (tmp_path / "outside.py").exists() and not (scratch.parent / "up.py").exists()


def test_zip_bomb_is_refused(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr("autograder.submission.MAX_TOTAL_BYTES", 10 * 1024 * 1024)
    archive = zip_with(tmp_path / "bomb.zip", {"a.py": b"0" * (11 * 1024 * 1024)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(SubmissionError, match="unpacks to more than 10 MB"):
        open_submission(archive, scratch)


def test_too_many_files_are_refused(tmp_path, scratch):
    archive = zip_with(tmp_path / "many.zip", {f"f{i}.txt": b"" for i in range(MAX_FILES + 1)})
    with pytest.raises(SubmissionError, match=f"holds {MAX_FILES + 1} files; the limit is {MAX_FILES}"):
        open_submission(archive, scratch)


def test_a_file_named_zip_that_is_not_one(tmp_path, scratch):
    (tmp_path / "hw.zip").write_text("this is not a zip")
    with pytest.raises(SubmissionError, match="hw.zip is not a readable zip archive"):
        open_submission(tmp_path / "hw.zip", scratch)


def test_symlinks_in_a_folder_are_not_followed(tmp_path, scratch):
    source = tmp_path / "carol"
    source.mkdir()
    (source / "prob5_AE.py").write_text("x = 1\n")
    (source / "secret.py").symlink_to("/etc/passwd")
    submission = open_submission(source, scratch)
    assert submission.files() == ["prob5_AE.py"]
    assert "skipped 'secret.py': a symbolic link" in submission.notes


def test_missing_path(tmp_path, scratch):
    with pytest.raises(SubmissionError, match="does not exist"):
        open_submission(tmp_path / "nope", scratch)


def test_assignment_is_recognised_from_the_files(tmp_path, scratch):
    source = tmp_path / "dave"
    source.mkdir()
    for name in ("prob5_AE.py", "mnist_ae.pt"):
        (source / name).write_text("")
    assert recognise_assignment(open_submission(source, scratch)) == "cpsc663-ex2"


def test_unrecognisable_submission_says_to_pass_the_assignment(tmp_path, scratch):
    source = tmp_path / "erin"
    source.mkdir()
    (source / "notes.txt").write_text("hi")
    with pytest.raises(SubmissionError, match="pass --assignment ID"):
        recognise_assignment(open_submission(source, scratch))


def test_a_misnamed_file_is_graded_under_its_name_but_an_accepted_alternative_is_not_renamed(tmp_path, scratch):
    source = tmp_path / "dave"
    (source / "hw").mkdir(parents=True)
    (source / "hw" / "PROB5_AE.py").write_text("x = 1\n")
    (source / "mnist_ae.pth").write_bytes(b"weights")
    (source / "mnist_cae_skip.pt").write_bytes(b"weights")
    submission = open_submission(source, scratch)
    submission.adopt_misnamed([("prob5_AE.py",), ("mnist_ae.pt",), ("mnist-cae-skip.pt", "mnist_cae_skip.pt"),
                               ("prob6_CAE.py",)])
    assert submission.renamed == {"prob5_AE.py": "hw/PROB5_AE.py", "mnist_ae.pt": "mnist_ae.pth"}
    assert submission.root.joinpath("prob5_AE.py").read_text() == "x = 1\n"
    assert not submission.has("mnist-cae-skip.pt") and not submission.has("prob6_CAE.py")


def test_a_link_copied_away_from_what_it_points_to_is_said_and_kept_in_the_batch(tmp_path, scratch):
    """``cp -r submissions/cpsc663-ex2 elsewhere`` keeps ``answer-key`` as a link to ../../reference/...: the
    batch still lists it, and grading it says what it is and how to copy it."""
    from autograder.batch.find import expand

    folder = tmp_path / "copied"
    (folder / "someone").mkdir(parents=True)
    (folder / "answer-key").symlink_to("../../reference/cpsc663_ex2/solution")
    assert [p.name for p in expand([str(folder)])] == ["answer-key", "someone"]
    with pytest.raises(SubmissionError, match=r"answer-key is a symbolic link to \.\./\.\./reference/cpsc663_ex2/"
                                              r"solution, which does not exist from here; copy with `cp -rL`"):
        open_submission(folder / "answer-key", scratch)
