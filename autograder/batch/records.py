"""Each submission's result on disk as soon as it is graded, so that an interrupted batch resumes where it stopped.

``OUT/<submission>.json`` is Gradescope's results file; ``OUT/records/<submission>.json``
holds the whole result with a fingerprint of what was graded (the submission's
files and the grading options). Grading the same folder again skips every
submission whose record has the same fingerprint; a changed submission, or other
options, is graded again. The gradebook is rebuilt from the records on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..report.gradescope import write_gradescope
from ..report.html import write_feedback_html
from ..results import SubmissionResult
from ..submission import regular_files

RECORDS = "records"
FORMAT = 1


def fingerprint(path: Path, options: dict) -> str:
    """What was graded: every file of the submission (names and contents) and the options that change a grade."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **options}, sort_keys=True, default=str).encode())
    path = Path(path)
    files = [path] if path.is_file() else regular_files(path)
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode() + b"\0")
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


class ResultStore:
    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.records = self.out / RECORDS

    def _record(self, name: str) -> Path:
        return self.records / f"{name}.json"

    @staticmethod
    def _read(record: Path) -> tuple[str | None, SubmissionResult] | None:
        """(fingerprint, result) of a record, or None when it is missing or unreadable."""
        try:
            data = json.loads(record.read_text())
            return data.get("fingerprint"), SubmissionResult.from_dict(data["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def load(self, name: str, stamp: str) -> SubmissionResult | None:
        """The stored result of ``name`` if it was graded from exactly this (same fingerprint), else None."""
        read = self._read(self._record(name))
        return read[1] if read is not None and read[0] == stamp else None

    def save(self, result: SubmissionResult, stamp: str) -> list[str]:
        """Written whole or not at all (a batch killed mid-write leaves no half record). Each file is written on
        its own: one that cannot be (a page that fails to draw) is named in what this returns, for the staff, and
        the others and the rest of the batch go on."""
        self.records.mkdir(parents=True, exist_ok=True)
        failures = []
        page = self.out / f"{result.submission}.html"
        for what, write in (("record", lambda: self._write_record(result, stamp)),
                            ("Gradescope results", lambda: self._write_gradescope(result)),
                            ("feedback page", lambda: write_feedback_html(result, page))):
            try:
                write()
            except Exception as error:  # noqa: BLE001 - one submission's file never ends the batch
                failures.append(f"{result.submission}: its {what} could not be written ({type(error).__name__}: "
                                f"{str(error)[:200]})")
        return failures

    def _write_record(self, result: SubmissionResult, stamp: str) -> None:
        record = self._record(result.submission)
        partial = record.with_suffix(".partial")
        partial.write_text(json.dumps({"fingerprint": stamp, "result": result.as_dict()}, ensure_ascii=True))
        os.replace(partial, record)

    def _write_gradescope(self, result: SubmissionResult) -> None:
        gradescope = self.out / f"{result.submission}.json"
        write_gradescope(result, gradescope.with_suffix(".partial"))
        os.replace(gradescope.with_suffix(".partial"), gradescope)

    def all_results(self) -> list[SubmissionResult]:
        """Every result on disk, by submission name: the batch graded now and any earlier one into this folder."""
        return [read[1] for record in sorted(self.records.glob("*.json")) if (read := self._read(record))]
