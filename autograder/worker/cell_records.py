"""What a notebook's cells bind and draw, recorded in its kernel as they run: every class, function and model
each cell binds (the grader takes the one a problem defined, even when a later cell binds the name again), the
labels the DataLoaders gave and the scatter plots drawn (the grader compares their colours with those labels)."""

from __future__ import annotations

from collections.abc import Callable

LABELS_KEPT = 5000  # labels kept per cell, for the cells that last took batches from a DataLoader
LABEL_CELLS = 4
SCATTERS_KEPT = 20  # scatter plots recorded (10 with their colours)


class _Records:
    def __init__(self):
        self.bindings: dict[str, list] = {}  # name -> [(cell, value)] for classes, functions and models
        self.watched: set[str] = set()  # names whose every binding is kept, whatever they hold (answers)
        self.loader_labels: dict = {}  # cell -> the labels its DataLoader batches held, for the last few cells
        self.scatters: list[dict] = []  # the scatter plots drawn: their cell, size and colours
        self.cell: Callable[[], int | None] = lambda: None  # the notebook cell running now
        self.in_cell: Callable[[], bool] = lambda: False


records = _Records()


def record_bindings(namespace: dict) -> None:
    """Remember every class, function and model the cell binds (and every binding of a watched name)."""
    from .values import kind_of

    for name, value in list(namespace.items()):
        if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        history = records.bindings.get(name)
        if history and history[-1][1] is value:
            continue
        if name in records.watched or kind_of(value) != "other":
            records.bindings.setdefault(name, []).append((records.cell(), value))


def record_labels(batch) -> None:
    """The labels of a DataLoader batch (its second element, integers), in order, for the cell running now: what
    a later scatter plot's colours can be compared with."""
    import torch

    if not isinstance(batch, (list, tuple)) or len(batch) < 2:
        return
    labels = batch[1]
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.is_floating_point():
        return
    kept = records.loader_labels.setdefault(records.cell(), [])
    if len(kept) < LABELS_KEPT:
        kept.extend(labels[: LABELS_KEPT - len(kept)].tolist())
    while len(records.loader_labels) > LABEL_CELLS:
        records.loader_labels.pop(next(iter(records.loader_labels)))


def record_scatters() -> None:
    """Every scatter plot the notebook draws (2-D or 3-D), with its colours when they are numbers, and the labels
    the DataLoaders of the cells before it gave: the grader compares them."""
    import matplotlib.axes
    import numpy as np

    original = matplotlib.axes.Axes.scatter

    def scatter(self, x, y, *args, **kwargs):
        try:
            colours = kwargs.get("c", args[1] if len(args) > 1 else None)
            points = int(np.size(x))
            values = np.asarray(colours) if colours is not None else None
            numeric = values is not None and values.dtype.kind in "biuf" and values.ndim == 1 and \
                values.size == points
            numeric = numeric and sum(s["colours"] is not None for s in records.scatters) < SCATTERS_KEPT // 2
            if len(records.scatters) < SCATTERS_KEPT and records.in_cell():
                records.scatters.append({
                    "cell": records.cell(), "points": points, "three_d": getattr(self, "name", "") == "3d",
                    "colours": values[:LABELS_KEPT].astype(float).tolist() if numeric else None,
                    "recent_labels": [[cell, labels[:points]] for cell, labels in records.loader_labels.items()
                                      if numeric and cell is not None and len(labels) >= min(points, LABELS_KEPT)],
                })
        except Exception:  # noqa: BLE001 - recording must never change what the student's plot does
            pass
        return original(self, x, y, *args, **kwargs)

    matplotlib.axes.Axes.scatter = scatter
