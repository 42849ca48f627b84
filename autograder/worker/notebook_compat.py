"""A notebook run as it ran on the student's machine, as far as the grader can: shell escapes, package installs,
Colab's drive and files, and other programs' cell magics become recorded no-ops; ``tensorflow.keras`` imports
are served by Keras 3; ``torch.save`` onto a submitted file or into a folder that does not exist here is
redirected. What was skipped or adapted is said in the feedback."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

SKIPPED_LINE_MAGICS = ("pip", "conda", "mamba", "cd", "sx", "system", "env", "load_ext", "run")
SKIPPED_CELL_MAGICS = ("bash", "sh", "script", "system", "writefile", "html", "javascript", "js")
# Every other cell magic is skipped too unless it is one of these (they run the cell's Python, or only display):
# %%python3, %%perl, %%ruby, %%sx and the like would start other programs, in the background with --bg.
RUN_CELL_MAGICS = ("capture", "time", "timeit", "prun", "markdown", "latex", "svg")

skipped: list[str] = []  # what was not run: "!pip install x", "drive.mount(...)"
adapted: list[str] = []  # what was run differently, and how


def _note(text: str) -> None:
    if text not in adapted:
        adapted.append(text)


def guard_torch_save(root: Path, limit: int = 5000) -> None:
    """``torch.save`` as the notebook ran it on the student's machine, as far as the grader can, with a note.

    Onto a file the student submitted: skipped, since the notebook's training is cut short here and the
    submitted file is the one graded. Into a folder that does not exist here (a Colab Drive the grader did not
    mount, another machine's path): written to a scratch file instead, which ``torch.load`` of that path reads.
    """
    import itertools

    import torch

    submitted = {p.resolve() for p in itertools.islice(root.rglob("*"), limit) if p.is_file()}
    elsewhere: dict[Path, Path] = {}
    original_save, original_load = torch.save, torch.load

    def save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            path = Path(f).resolve()
            if path in submitted:
                _note(f"torch.save(..., {str(f)[:100]!r}) was skipped: the notebook's training is cut short here, "
                     "so the file you submitted is the one graded")
                return None
            if not path.parent.is_dir():
                scratch = root / ".saved-elsewhere"
                scratch.mkdir(exist_ok=True)
                elsewhere[path] = f = scratch / f"{len(elsewhere)}-{path.name}"
                _note(f"torch.save(..., {str(path)[:100]!r}) wrote a scratch file: that folder does not exist "
                     "where the grader runs the notebook")
        return original_save(obj, f, *args, **kwargs)

    def load(f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve() in elsewhere:
            f = elsewhere[Path(f).resolve()]
        return original_load(f, *args, **kwargs)

    torch.save, torch.load = save, load


def _skip(kind: str, what: str):
    skipped.append(f"{kind}: {what.strip()[:120]}")


def fake_colab() -> None:
    """``from google.colab import drive`` and friends, as recorded no-ops."""
    colab = types.ModuleType("google.colab")
    drive = types.ModuleType("google.colab.drive")
    drive.mount = lambda path="", *a, **k: _skip("Colab drive mount", f"drive.mount({path!r})")
    drive.flush_and_unmount = lambda *a, **k: None
    files = types.ModuleType("google.colab.files")
    files.upload = lambda *a, **k: (_skip("Colab upload", "files.upload()"), {})[1]
    files.download = lambda name="", *a, **k: _skip("Colab download", f"files.download({name!r})")
    patches = types.ModuleType("google.colab.patches")
    patches.cv2_imshow = lambda *a, **k: None
    colab.drive, colab.files, colab.patches = drive, files, patches
    if "google" not in sys.modules:
        try:
            import google  # noqa: F401 - a namespace package from another distribution, if any
        except ImportError:
            sys.modules["google"] = types.ModuleType("google")
    sys.modules["google"].colab = colab
    sys.modules.update({"google.colab": colab, "google.colab.drive": drive, "google.colab.files": files,
                        "google.colab.patches": patches})


_TF_KERAS = re.compile(r"\btensorflow\.keras\b")
_FROM_TF_IMPORT_KERAS = re.compile(r"^(\s*)from\s+tensorflow\s+import\s+keras\b", re.M)


def keras_for_tensorflow_keras(lines: list[str]) -> list[str]:
    """``tensorflow.keras`` is Keras 3 here (on PyTorch, no TensorFlow): its imports read ``keras``."""
    text = "".join(lines)
    changed = _FROM_TF_IMPORT_KERAS.sub(r"\1import keras", _TF_KERAS.sub("keras", text))
    if changed != text:
        note = "its tensorflow.keras imports were served by Keras 3 (keras), which has the same names, on PyTorch"
        _note(note)
    return changed.splitlines(keepends=True)


def neutralise_shell(ip) -> None:
    """``!cmd``, ``%pip``, ``%%bash``... are recorded and skipped; ``%%capture`` just runs its cell."""
    from IPython.utils.text import SList

    ip.system = ip.system_raw = ip.system_piped = lambda cmd: _skip("shell command", f"!{cmd}")
    ip.getoutput = lambda cmd, *a, **k: (_skip("shell command", f"!{cmd}"), SList())[1]
    for name in SKIPPED_LINE_MAGICS:
        ip.register_magic_function(lambda line, _n=name: _skip("magic", f"%{_n} {line}"), "line", name)
    cell_magics = set(SKIPPED_CELL_MAGICS) | set(ip.magics_manager.magics.get("cell", {}))
    for name in sorted(cell_magics - set(RUN_CELL_MAGICS)):
        ip.register_magic_function(lambda line, cell, _n=name: _skip("cell magic", f"%%{_n} {line}"), "cell", name)

    def capture(line, cell):
        _skip("cell magic", "%%capture (the cell was run, its output kept)")
        ip.run_cell(cell)

    ip.register_magic_function(capture, "cell", "capture")
