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
from ..results import SubmissionResult

RECORDS = "records"
FORMAT = 1


def fingerprint(path: Path, options: dict) -> str:
    """What was graded: every file of the submission (names and contents) and the options that change a grade."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **options}, sort_keys=True, default=str).encode())
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
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

    def load(self, name: str, stamp: str) -> SubmissionResult | None:
        """The stored result of ``name`` if it was graded from exactly this (same fingerprint), else None."""
        try:
            data = json.loads(self._record(name).read_text())
        except (OSError, ValueError):
            return None
        if data.get("fingerprint") != stamp:
            return None
        try:
            return SubmissionResult.from_dict(data["result"])
        except (KeyError, TypeError):
            return None

    def save(self, result: SubmissionResult, stamp: str) -> None:
        """Written whole or not at all (a batch killed mid-write leaves no half record)."""
        self.records.mkdir(parents=True, exist_ok=True)
        record = self._record(result.submission)
        partial = record.with_suffix(".partial")
        partial.write_text(json.dumps({"fingerprint": stamp, "result": result.as_dict()}))
        os.replace(partial, record)
        gradescope = self.out / f"{result.submission}.json"
        write_gradescope(result, gradescope.with_suffix(".partial"))
        os.replace(gradescope.with_suffix(".partial"), gradescope)

    def all_results(self) -> list[SubmissionResult]:
        """Every result on disk, by submission name: the batch graded now and any earlier one into this folder."""
        found = []
        for record in sorted(self.records.glob("*.json")):
            try:
                found.append(SubmissionResult.from_dict(json.loads(record.read_text())["result"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found
