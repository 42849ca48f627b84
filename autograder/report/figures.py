"""The feedback page's figures, drawn with matplotlib's Agg backend into inline PNG data URIs.

Each figure is drawn from the plain data kept while measuring (``grading/figures.py``, carried in
``SubmissionResult.figures``): no student code runs here, and no file is read or written.
"""

from __future__ import annotations

import base64
import io

import numpy as np

DPI = 100
CLASS_COLOURS = "tab10"


def _figure(width: float, height: float):
    """A matplotlib figure on its own Agg canvas (no pyplot: nothing global, safe in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _images(data: dict) -> np.ndarray:
    """Images kept as base64 bytes 0-255 (``grading.figures._pixels``), shaped again."""
    return np.frombuffer(base64.b64decode(data["uint8"]), np.uint8).reshape(data["shape"])


def _no_ticks(axis) -> None:
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def draw_reconstructions(data: dict):
    rows = [(row["label"], _images(row["images"])) for row in data["rows"]]
    count = len(rows[0][1])
    figure = _figure(1.1 + 0.9 * count, 0.25 + 0.95 * len(rows))
    axes = figure.subplots(len(rows), count, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(count):
            axis = axes[r][c]
            axis.imshow(images[c], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            _no_ticks(axis)
        axes[r][0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    return figure


def draw_scatter(data: dict):
    points = np.asarray(data["points"], np.float64).reshape(-1, 2)
    labels = np.asarray(data["labels"], np.int64)
    figure = _figure(5.2, 4.2)
    axis = figure.add_subplot()
    drawn = axis.scatter(points[:, 0], points[:, 1], c=labels, cmap=CLASS_COLOURS, vmin=-0.5, vmax=9.5, s=6,
                         alpha=0.8, linewidths=0)
    handles, names = drawn.legend_elements(num=sorted(set(labels.tolist())))
    axis.legend(handles, names, title="class", fontsize=7, title_fontsize=8, loc="center left",
                bbox_to_anchor=(1.0, 0.5), frameon=False)
    axis.set_xlabel("code[0]")
    axis.set_ylabel("code[1]")
    return figure


def draw_confusion(data: dict):
    matrix = np.asarray(data["matrix"], np.int64)
    classes = len(matrix)
    size = 1.4 + 0.26 * classes
    figure = _figure(size + 0.7, size)
    axis = figure.add_subplot()
    shown = axis.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(shown, ax=axis, shrink=0.8)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(classes):
        for j in range(classes):
            if matrix[i, j]:
                axis.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                          color="white" if matrix[i, j] > threshold else "black")
    axis.set_xticks(range(classes))
    axis.set_yticks(range(classes))
    axis.tick_params(labelsize=7)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(f"accuracy {data.get('accuracy', np.trace(matrix) / max(matrix.sum(), 1)):.3f}", fontsize=9)
    return figure


def draw_filters(data: dict):
    filters = np.asarray(data["filters"], np.float64)
    count = len(filters)
    columns = min(count, 8)
    lines = -(-count // columns)
    figure = _figure(0.4 + 0.85 * columns, 0.3 + 0.85 * lines)
    axes = figure.subplots(lines, columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        _no_ticks(axis)
        if index >= count:
            axis.set_visible(False)
            continue
        kernel = filters[index]
        if kernel.ndim == 3:  # RGB: each filter stretched to [0, 1]
            low, high = kernel.min(), kernel.max()
            axis.imshow((kernel - low) / (high - low if high > low else 1.0), interpolation="nearest")
        else:  # one channel: white positive, black negative, grey zero
            scale = float(np.abs(kernel).max()) or 1.0
            axis.imshow(kernel, cmap="gray", vmin=-scale, vmax=scale, interpolation="nearest")
        axis.set_title(str(index), fontsize=7)
    return figure


def draw_training(data: dict):
    figure = _figure(8.4, 3.0)
    losses, held_out = figure.subplots(1, 2, width_ratios=(3, 2))
    drawn = False
    for run in data["runs"]:
        pairs = [(s, v) for s, v in zip(run["steps"], run["losses"], strict=False) if v is not None]
        if pairs:
            steps, values = zip(*pairs, strict=True)
            losses.plot(steps, values, marker=".", markersize=3, linewidth=1.2, label=f"seed {run['seed']}")
            drawn = True
    if drawn:
        losses.legend(fontsize=7, frameon=False)
        values = [v for run in data["runs"] for v in run["losses"] if v is not None]
        if min(values) > 0 and max(values) / min(values) > 20:
            losses.set_yscale("log")
    else:
        losses.text(0.5, 0.5, "no training losses were recorded", ha="center", va="center", fontsize=8,
                    transform=losses.transAxes)
    losses.set_xlabel("optimizer step")
    losses.set_ylabel(f"training loss ({data.get('loss', '')})", fontsize=8)
    losses.set_title("the grader's brief training", fontsize=9)
    _draw_band(held_out, data)
    return figure


def _draw_band(axis, data: dict) -> None:
    """The held-out metric on one axis: the reference's values over its calibration seeds (the band), the bar,
    the trivial answers, and what the student's model reached on each seed tried."""
    reference = [v for v in data.get("reference", []) if v is not None]
    trivial = data.get("trivial", {})
    students = [(run["seed"], run["value"]) for run in data["runs"]]
    threshold, at_least = data["threshold"], data.get("pass_if") == "at least"
    if reference:
        axis.axvspan(min(reference), max(reference), color="tab:green", alpha=0.25,
                     label=f"reference ({len(reference)} seeds)")
    axis.axvline(threshold, color="tab:red", linestyle="--", linewidth=1.2, label=f"bar ({data.get('pass_if')})")
    shown = reference + list(trivial.values()) + [v for _, v in students] + [threshold]
    low, high = min(shown), max(shown)
    margin = (high - low) * 0.12 or abs(high) * 0.1 or 0.1
    axis.set_xlim(low - margin, high + margin)
    middle = (low + high) / 2

    def label(text: str, x: float, y: float, **style) -> None:  # written away from the nearer edge
        left = x > middle
        axis.annotate(text, (x, y), textcoords="offset points", xytext=(-5 if left else 5, 5),
                      ha="right" if left else "left", fontsize=7, **style)

    for index, (name, value) in enumerate(trivial.items()):
        axis.plot([value], [0.3 + 0.1 * index], marker="x", color="0.4", linestyle="none")
        label(name, value, 0.3 + 0.1 * index, color="0.3")
    for index, (seed, value) in enumerate(students):
        passed = value >= threshold if at_least else value <= threshold
        axis.plot([value], [0.7 + 0.1 * index], marker="o", markersize=7, linestyle="none",
                  color="tab:green" if passed else "tab:red")
        label(f"yours, seed {seed}: {value:.4g}", value, 0.7 + 0.1 * index)
    axis.set_ylim(0, 1)
    axis.set_yticks([])
    axis.set_xlabel(f"held-out {data.get('metric', 'metric')}", fontsize=8)
    axis.set_title("after training, against the reference", fontsize=9)
    axis.legend(fontsize=7, frameon=False, loc="lower center", ncols=2)


DRAW = {"reconstructions": draw_reconstructions, "scatter": draw_scatter, "confusion": draw_confusion,
        "filters": draw_filters, "training": draw_training}


def figure_png(data: dict) -> bytes | None:
    """The figure's PNG, or None for a kind this version does not draw."""
    draw = DRAW.get(data.get("kind"))
    return _png(draw(data)) if draw else None


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
