"""Files a handout's notebook loads from disk (``np.load('sign_data/X_train.npy')``), written beside it when
the submission lacks them, so that its cells run: the real data where this machine has it, else a stand-in,
and the feedback says which. Images are written as the handout's files hold them: (N, H, W, C) bytes."""

from __future__ import annotations

import numpy as np

from ..datasets.declared import DataMissing, load_declared


def _as_bytes(images: np.ndarray) -> np.ndarray:
    """Canonical float images in [0, 1] back to (N, H, W, C) uint8."""
    return np.clip(np.round(images.transpose(0, 2, 3, 1) * 255), 0, 255).astype(np.uint8)


def provide_files(assignment, submission, data_dir, notes: list[str]) -> None:
    notebook = assignment.notebook
    for provided in (notebook.provide if notebook else ()):
        if any(submission.has(f"{provided.folder}/{name}") for name in provided.files):
            continue
        try:
            images, stand_in = load_declared(assignment.data_spec(provided.data), data_dir), None
        except DataMissing:
            if provided.stand_in is None:
                continue
            try:
                images = load_declared(assignment.data_spec(provided.stand_in), data_dir)
            except DataMissing:
                continue
            stand_in = images.about or provided.stand_in
        arrays = {"train_images": _as_bytes(images.train_images), "train_labels": images.train_labels,
                  "test_images": _as_bytes(images.test_images), "test_labels": images.test_labels}
        folder = submission.root / provided.folder
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in provided.files.items():
            np.save(folder / name, arrays[array], allow_pickle=False)
        what = f"a stand-in ({stand_in})" if stand_in else f"the data set '{provided.data}' of this machine"
        notes.append(f"{provided.folder}/ was not in the submission: the grader wrote {what} there, so that the "
                     "notebook's cells that load it run")
