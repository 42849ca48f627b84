"""Taking in a submission: a folder or a zip, unpacked safely into a scratch folder.

* Archive entries with absolute paths, ``..`` components or links are skipped
  (with a note); nothing is ever written outside the target.
* Caps on the number of files and on the unpacked size (checked while writing,
  not trusted from the archive's headers) reject zip bombs with a clear error.
* Files inside a single top folder (or Gradescope's ``submission/``) are
  graded as if they were at the top; OS clutter (``__MACOSX``...) is ignored.
* A folder whose only student file is one zip (an upload of the zipped
  homework) is graded from that zip, unpacked with the same care.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 1000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # unpacked
MAX_FILE_BYTES = 512 * 1024 * 1024
CLUTTER = {"__MACOSX", ".DS_Store", "__pycache__", ".ipynb_checkpoints", "Thumbs.db", ".git"}
STUDENT_SUFFIXES = {".py", ".ipynb", ".pt", ".pth", ".pdf", ".zip"}


def regular_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, sorted; links are never followed."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


class SubmissionError(Exception):
    """The submission cannot be opened at all; the message says why and what to do."""


@dataclass
class Submission:
    name: str  # for people: the folder or archive name
    root: Path  # the folder holding the student's files (a scratch copy)
    notes: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # expected name -> the misnamed file graded as it

    def files(self) -> list[str]:
        """Relative paths of every regular file, sorted."""
        return [str(p.relative_to(self.root)) for p in regular_files(self.root)
                if not CLUTTER & set(p.relative_to(self.root).parts)]

    def has(self, name: str) -> bool:
        path = self.root / name
        return path.is_file() and not path.is_symlink()


    def adopt_misnamed(self, groups) -> None:
        """Grade a misnamed file under the name it should have.

        ``groups`` are tuples of accepted names for one file. When none of a group is present
        but exactly one file matches it up to case, ``-`` versus ``_``, ``.pth`` versus ``.pt``
        or the folder it is in, that file is copied to the group's first name and recorded in
        ``renamed``: the check that the file is named right fails, and the checks of its
        contents are run as if it were.
        """
        for group in groups:
            if any(self.has(name) for name in group):
                continue
            found = [f for f in self.look_alikes(group) if f not in self.renamed.values()]
            if len(found) == 1:
                shutil.copyfile(self.root / found[0], self.root / group[0])
                self.renamed[group[0]] = found[0]

    def look_alikes(self, names, *, any_suffix: bool = False) -> list[str]:
        """Files named like one of ``names`` up to case, '-' versus '_', .pth versus .pt and their
        folder (``any_suffix``: up to their suffix too)."""
        wanted = {_loose(name, any_suffix) for name in names}
        return [f for f in self.files() if _loose(f.split("/")[-1], any_suffix) in wanted]


def _loose(name: str, any_suffix: bool = False) -> str:
    name = name.lower().replace("-", "_")
    if any_suffix:
        return name.rsplit(".", 1)[0]
    return name[:-1] if name.endswith(".pth") else name


def _unsafe_reason(name: str) -> str | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and (parts[0].endswith(":") or parts[0] == "/")):
        return "an absolute path"
    if ".." in parts:
        return "a '..' component"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _extract_zip(archive: Path, target: Path, notes: list[str]) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise SubmissionError(f"{archive.name} is not a readable zip archive ({error}); upload the files "
                              "themselves or a zip made by your system's compress command") from None
    with zf:
        entries = [info for info in zf.infolist() if not info.is_dir()]
        if len(entries) > MAX_FILES:
            raise SubmissionError(f"{archive.name} holds {len(entries)} files; the limit is {MAX_FILES}")
        written = 0
        for info in entries:
            reason = _unsafe_reason(info.filename)
            if reason or _is_link(info):
                notes.append(f"skipped archive entry '{info.filename}': {reason or 'a symbolic link'}")
                continue
            destination = target.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
            if not destination.resolve().is_relative_to(target.resolve()):
                notes.append(f"skipped archive entry '{info.filename}': it points outside the submission")
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            try:
                with zf.open(info) as source, open(destination, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        size += len(chunk)
                        written += len(chunk)
                        if size > MAX_FILE_BYTES or written > MAX_TOTAL_BYTES:
                            raise SubmissionError(
                                f"{archive.name} unpacks to more than "
                                f"{(MAX_FILE_BYTES if size > MAX_FILE_BYTES else MAX_TOTAL_BYTES) >> 20} MB "
                                "(a zip bomb, or files that do not belong in a submission)"
                            )
                        sink.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as error:
                notes.append(f"skipped archive entry '{info.filename}': it could not be read ({error})")
                destination.unlink(missing_ok=True)


def _copy_folder(source: Path, target: Path, notes: list[str]) -> None:
    count = size = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if CLUTTER & set(relative.parts):
            continue
        if path.is_symlink():
            notes.append(f"skipped '{relative}': a symbolic link")
            continue
        if path.is_dir():
            continue
        if not path.is_file():
            notes.append(f"skipped '{relative}': not a regular file")
            continue
        count += 1
        size += path.stat().st_size
        if count > MAX_FILES or size > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{source.name} holds more than {MAX_FILES} files or {MAX_TOTAL_BYTES >> 20} MB")
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)


def _visible_children(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name not in CLUTTER]


def _student_root(folder: Path) -> Path:
    """Descend through a single wrapping folder, or into Gradescope's submission/ folder."""
    while True:
        children = _visible_children(folder)
        dirs = [p for p in children if p.is_dir()]
        files = [p for p in children if p.is_file() and p.suffix in STUDENT_SUFFIXES]
        gradescope = [d for d in dirs if d.name == "submission"]
        if len(children) == 1 and dirs:
            folder = dirs[0]
        elif gradescope and not files:
            folder = gradescope[0]
        else:
            return folder


def _lone_archive(folder: Path) -> Path | None:
    """The zip that is the folder's only student file, if it is."""
    children = _visible_children(folder)
    files = [p for p in children if p.is_file() and p.suffix.lower() in STUDENT_SUFFIXES]
    if len(files) == 1 and files[0].suffix.lower() == ".zip" and not any(p.is_dir() for p in children):
        return files[0]
    return None


def open_submission(path: Path, scratch: Path) -> Submission:
    """Copy or unpack ``path`` into ``scratch`` (an empty folder) and find the student's files in it."""
    path = Path(path)
    notes: list[str] = []
    if not path.exists():
        if path.is_symlink():  # e.g. the examples' answer-key, copied with `cp -r` away from what it points to
            raise SubmissionError(f"{path.name} is a symbolic link to {os.readlink(path)}, which does not exist "
                                  "from here; copy with `cp -rL` to copy what links point to")
        raise SubmissionError(f"{path} does not exist")
    if path.is_dir():
        _copy_folder(path, scratch, notes)
    elif zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
        _extract_zip(path, scratch, notes)
    else:  # a single uploaded file
        shutil.copyfile(path, scratch / path.name)
    root = _student_root(scratch)
    archive = _lone_archive(root)
    if archive is not None:
        unpacked = root / archive.stem
        unpacked = unpacked if not unpacked.exists() else root / f"{archive.stem}.unpacked"
        unpacked.mkdir()
        _extract_zip(archive, unpacked, notes)
        archive.unlink()
        notes.append(f"the submission's only file is the archive '{archive.name}': graded what it holds")
        root = _student_root(unpacked)
    if root != scratch:
        notes.append(f"graded the files inside the folder '{root.relative_to(scratch)}'")
    return Submission(name=path.name, root=root, notes=notes)
