"""``autograder gradescope ASSIGNMENT --out autograder.zip``: the zip Gradescope asks for.

At the zip's top (Gradescope unpacks it into ``/autograder/source``)::

    setup.sh                 run once: bubblewrap, a Python 3.11-3.13, the grader with constraints.txt's versions
    run_autograder           run per submission: grades /autograder/submission into /autograder/results/results.json
    autograder-package.json  the assignment, and where its data sets are
    project/                 the grader's source: pyproject.toml, constraints.txt, autograder/, this answer key only
    data/                    the assignment's data sets, copied from the data directory: nothing downloads

The zip is built from the project's source checkout, and is the same for the same files (fixed timestamps).
"""

from __future__ import annotations

import json
import stat
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..datasets import DATASETS, DataNotFound, dataset_spec, resolve
from ..datasets.catalog import data_dir_setting
from ..datasets.sources import IDX_FILES, IdxDirectory
from ..grading.registry import load_assignment
from ..spec import Assignment, reference_root

SETTINGS = "autograder-package.json"
SCRIPTS = ("setup.sh", "run_autograder")
PROJECT_FILES = ("pyproject.toml", "setup.py", "constraints.txt", "README.md", "scripts/install-sandbox.sh")
SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store"}
IDX_STEMS = {stem for pair in IDX_FILES.values() for stem in pair}


class PackagingError(Exception):
    """The zip cannot be built; the message says what is missing."""


@dataclass(frozen=True)
class BundledData:
    name: str  # a data set of the catalog ("mnist") or an assignment's declared key ("signs")
    folder: str | None  # where it is in the zip ("data/mnist"); None when it is not in the zip
    note: str  # where it came from, or what grading will do without it


@dataclass(frozen=True)
class Package:
    path: Path
    assignment: str
    files: int
    size: int  # bytes of the zip
    data: tuple[BundledData, ...]

    def describe(self) -> str:
        lines = [f"wrote {self.path} for {self.assignment}: {self.files} files, {self.size / 1e6:.1f} MB"]
        lines += [f"  {d.folder or d.name + ':':<22} {d.note}" for d in self.data]
        lines.append("Upload it on Gradescope (Configure Autograder, zip file upload); see the README's Gradescope "
                     "section for the rest.")
        return "\n".join(lines)


def build_autograder_zip(assignment_id: str, out="autograder.zip", *, data_dir=None) -> Package:
    """Write Gradescope's autograder.zip for ``assignment_id`` (an answer key under ``reference/``), with the
    data sets it reads from ``data_dir`` (default ``$AUTOGRADER_DATA_DIR``; package data need no copy)."""
    assignment = load_assignment(assignment_id)
    if assignment.package is None:
        raise PackagingError(f"{assignment_id}: only an answer key under reference/ can be packaged, not "
                             f"one read by path ({assignment.root})")
    root = project_root()
    members = {**project_files(root, assignment)}
    data_files, data = bundle_data(assignment, data_dir)
    members.update(data_files)
    settings = {"assignment": assignment.id, "device": "auto",
                "data_dir": "data" if data_files else None, "data": [asdict(d) for d in data]}
    texts = {name: (Path(__file__).with_name(name).read_bytes(), True) for name in SCRIPTS}
    texts[SETTINGS] = (json.dumps(settings, indent=1).encode(), False)
    out = Path(out)
    write_zip(out, members, texts)
    return Package(out, assignment.id, len(members) + len(texts), out.stat().st_size, tuple(data))


def project_root() -> Path:
    """The source checkout this package was imported from (the zip installs the grader from it)."""
    root = Path(__file__).resolve().parents[2]
    missing = [name for name in PROJECT_FILES if not (root / name).is_file()]
    if missing:
        raise PackagingError(f"autograder gradescope builds the zip from the project's source checkout, and "
                             f"{root} lacks {', '.join(missing)}: run it from a checkout (pip install -e .)")
    return root


def project_files(root: Path, assignment: Assignment) -> dict[str, Path]:
    """Zip name -> file: what ``pip install project/`` needs, and of the answer keys only this assignment's."""
    files = {f"project/{name}": root / name for name in PROJECT_FILES}
    files.update(_tree(root / "autograder", "project/autograder"))
    files["project/reference/__init__.py"] = reference_root() / "__init__.py"
    files.update(_tree(assignment.root, f"project/reference/{assignment.root.name}"))
    return files


def _tree(folder: Path, prefix: str) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not SKIPPED & set(relative.parts) \
                and path.suffix != ".pyc":
            found[f"{prefix}/{relative.as_posix()}"] = path
    return found


def data_needed(assignment: Assignment) -> tuple[list[str], list]:
    """The catalog data sets (names) and the ``npy`` declarations (``DataSpec``) grading can read: those the
    assignment declares or uses, the stand-ins of those, and, where a notebook is run, every data set student
    code may load through torchvision or Keras."""
    from ..grading.data import used_data

    keys = set(assignment.data) | set(used_data(assignment))
    for provided in assignment.notebook.provide if assignment.notebook else ():
        keys |= {provided.data, *([provided.stand_in] if provided.stand_in else [])}
    specs = [assignment.data_spec(key) for key in sorted(keys)]
    names = {dataset_spec(spec.source).name for spec in specs if spec.source != "npy"}
    if assignment.notebook is not None:
        names |= {name for name, spec in DATASETS.items() if spec.torchvision_class}
    names |= {DATASETS[name].stand_in for name in names if DATASETS[name].stand_in}
    return sorted(names), [spec for spec in specs if spec.source == "npy"]


def checks_needing(assignment: Assignment, name: str) -> list[str]:
    """The checks that train or score on the data set ``name`` (a catalog source or a declared key)."""
    found = []
    for subject in assignment.subjects.values():
        for key, check in subject.checks.items():
            recipe = check.options.get("recipe")
            if recipe and recipe in assignment.recipes:
                data = assignment.recipe(recipe).data
                if name in (data, assignment.data_spec(data).source):
                    found.append(f"{subject.problem}/{subject.key}/{key}")
    return found


def _not_gradable(assignment: Assignment, name: str) -> str:
    checks = checks_needing(assignment, name)
    shown = ", ".join(checks[:8]) + (f" and {len(checks) - 8} more" if len(checks) > 8 else "")
    return (f"the checks that need it will be not gradable ({shown}): students see them as graded by their "
            "instructor" if checks else "no check needs it")


def bundle_data(assignment: Assignment, data_dir=None) -> tuple[dict[str, Path], list[BundledData]]:
    """Zip name -> file of every data set grading reads from a data directory, and a line on each data set."""
    names, npy_specs = data_needed(assignment)
    files: dict[str, Path] = {}
    found = []
    for name in names:
        try:
            spec, source = resolve(name, data_dir)
        except DataNotFound as missing:
            instead = f"; student code that loads it gets {DATASETS[name].stand_in}" if DATASETS[name].stand_in else ""
            found.append(BundledData(name, None, f"not in the zip ({missing.hint}){instead}; "
                                                 f"{_not_gradable(assignment, name)}"))
            continue
        if not isinstance(source, IdxDirectory):
            found.append(BundledData(name, None, f"comes with a package: {source.location}"))
            continue
        folder, target = Path(source.location), f"data/{spec.folders[0]}"
        for path in sorted(folder.iterdir()):
            if path.is_file() and (path.name.split(".")[0] in IDX_STEMS or path.name.upper().startswith("LICENSE")):
                files[f"{target}/{path.name}"] = path
        found.append(BundledData(name, target, f"from {folder}"))
    root, _ = data_dir_setting(data_dir)
    for spec in npy_specs:
        folder = root / spec.folder if root is not None and spec.folder else None
        wanted = sorted(set(spec.files.values()))
        if folder is None or not all((folder / name).is_file() for name in wanted):
            found.append(BundledData(spec.key, None, f"not in the zip ({spec.provide or 'no data directory'}); "
                                                     f"{_not_gradable(assignment, spec.key)}"))
            continue
        files.update({f"data/{spec.folder}/{name}": folder / name for name in wanted})
        found.append(BundledData(spec.key, f"data/{spec.folder}", f"from {folder}"))
    return files, found


def write_zip(out: Path, members: dict[str, Path], texts: dict[str, tuple[bytes, bool]]) -> None:
    """``texts``: zip name -> (content, executable); ``members``: zip name -> file (executable if it is a
    shell script). Written to a temporary name and renamed, so a failure leaves no half zip."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (content, executable) in texts.items():
            _add(archive, name, content, executable)
        for name in sorted(members):
            _add(archive, name, members[name].read_bytes(), name.endswith(".sh"))
    partial.replace(out)


def _add(archive: zipfile.ZipFile, name: str, content: bytes, executable: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content)
