"""Keras's ``fit`` in the worker, capped and recorded: every call is cut after a budget of batches by a callback
(the history is still filled to the epochs asked for, so a sweep loop goes on and a plot of it against its epochs
still draws) and recorded: the model, what it was fit on (noise level and clipping of the inputs against the
targets), where in the notebook it ran. Keras 2's spellings the students' code uses (``lr=``) are read as
Keras 3's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .keras_support import dense_widths, keras_module


@dataclass
class FitRecord:
    model: object
    cell: int | None  # the notebook cell that called fit (None in a .py file)
    summary: dict = field(default_factory=dict)  # plain data about what it was fit on


SUMMARY_ROWS = 2000
NOISE_FACTORS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def _array(value):
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    return array if array.dtype.kind in "fiub" else None


def fit_summary(x, y) -> dict:
    """What a fit call trained on, as plain numbers: sizes, and when inputs and targets differ (a denoising
    autoencoder), the spread of their difference and whether the inputs were clipped to [0, 1]."""
    xs, ys = _array(x), _array(y)
    summary = {"samples": int(len(xs)) if xs is not None and xs.ndim else None}
    if xs is None or ys is None or xs.shape != ys.shape:
        return {**summary, "same_target": False, "comparable": False}
    if xs is ys or np.shares_memory(xs, ys) and np.array_equal(xs, ys):
        return {**summary, "same_target": True, "comparable": True}
    xs, ys = xs[:SUMMARY_ROWS].astype(np.float64), ys[:SUMMARY_ROWS].astype(np.float64)  # enough for a noise level
    difference = (xs - ys).reshape(len(xs), -1)
    same = bool(np.allclose(difference, 0))
    # what Gaussian noise of each factor, clipped to [0, 1], spreads to on these targets: to read a factor back
    noise = np.random.default_rng(0).standard_normal(ys.shape)
    clipped = {f"{factor:.2f}": float((np.clip(ys + factor * noise, 0, 1) - ys).std()) for factor in NOISE_FACTORS}
    return {**summary, "same_target": same, "comparable": True,
            "noise_std": float(difference.std()), "noise_mean": float(difference.mean()),
            "inputs_min": float(xs.min()), "inputs_max": float(xs.max()),
            "targets_min": float(ys.min()), "targets_max": float(ys.max()), "clipped_std": clipped}


def _complete(history, epochs: int) -> None:
    """A history cut short by the step budget, filled up to the epochs asked for with its last values: the cut
    changes how many steps ran, never the length of what the student's code reads (``history.history['loss']``
    plotted against ``range(epochs)``)."""
    try:
        logs = getattr(history, "history", None)
        if not isinstance(logs, dict) or epochs > 100_000:
            return
        for values in logs.values():
            if isinstance(values, list) and values and len(values) < epochs:
                values.extend([values[-1]] * (epochs - len(values)))
        epoch = getattr(history, "epoch", None)
        if isinstance(epoch, list) and epoch and len(epoch) < epochs:
            epoch.extend(range(epoch[-1] + 1, epoch[-1] + 1 + epochs - len(epoch)))
    except (TypeError, ValueError):
        return


class FitCapture:
    """Wraps ``keras.Model.fit``: a step budget per call, and a record of every call."""

    def __init__(self, budget: int, cell=lambda: None):
        self.budget, self.cell = budget, cell
        self.records: list[FitRecord] = []
        self.stopped = 0  # calls cut short by the budget

    def install(self) -> None:
        keras = keras_module()
        if keras is None or getattr(keras.Model.fit, "_grader_capture", False):
            return
        original, capture = keras.Model.fit, self

        class StepBudget(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.steps, self.fired = 0, False

            def on_train_batch_end(self, batch, logs=None):
                self.steps += 1
                if self.steps >= capture.budget and not self.fired:
                    capture.stopped += 1
                    self.fired = True
                if self.fired:
                    self.model.stop_training = True

        def fit(model, x=None, y=None, *args, callbacks=None, **kwargs):
            target = y if y is not None else x
            capture.records.append(FitRecord(model, capture.cell(), fit_summary(x, target)))
            budget = StepBudget()
            callbacks = [*(callbacks or []), budget]
            kwargs.setdefault("verbose", 0)
            history = original(model, x, y, *args, callbacks=callbacks, **kwargs)
            if budget.fired:  # the grader's cut, not the student's EarlyStopping: the history keeps its length
                epochs = kwargs.get("epochs", args[1] if len(args) > 1 else 1)
                _complete(history, int(epochs) - int(kwargs.get("initial_epoch", 0)))
            return history

        fit._grader_capture = True
        keras.Model.fit = fit

    def matching(self, match: dict, cells=None) -> list[FitRecord]:
        """The recorded fits (only those made in the notebook cells ``cells = [start, end)``, when given) whose
        model has the Dense widths, or number of Dense layers, asked for; of these, those with inputs that differ
        from the targets (``noisy``) or not. When none has the inputs asked for, ``nth`` picks one by its place
        (a model meant to be fit on noisy inputs but fit without noise is still found by its place)."""
        records = self.records
        if cells is not None:
            records = [r for r in records if r.cell is not None and cells[0] <= r.cell < cells[1]]
        found = []
        for record in records:
            wanted, widths = match.get("widths"), dense_widths(record.model)
            if wanted is not None and widths != list(wanted):
                continue
            if match.get("dense_layers") is not None and len(widths) != match["dense_layers"]:
                continue
            found.append(record)
        noisy = match.get("noisy")
        if noisy is None:
            return found
        chosen = [r for r in found if noisy != r.summary.get("same_target", True)]
        nth = match.get("nth")
        if not chosen and nth is not None and len(found) >= nth:
            return [found[nth - 1]]
        return chosen


capture: FitCapture | None = None
ADAPTED: list[str] = []  # Keras 2 spellings read as Keras 3's, for the feedback


def accept_keras2_lr() -> None:
    """``Adam(lr=0.001)`` is Keras 2's spelling of ``learning_rate``; Keras 3 refuses it. Read it as
    ``learning_rate``, and say so: a library-version difference is not a wrong answer."""
    from keras.src.optimizers import base_optimizer

    original = base_optimizer.BaseOptimizer.__init__
    if getattr(original, "_grader_lr", False):
        return

    def __init__(self, learning_rate=0.001, *args, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
            note = (f"{type(self).__name__}(lr=...) is Keras 2's spelling: Keras 3 calls it learning_rate (and "
                    "refuses lr); it was read as learning_rate here")
            if note not in ADAPTED:
                ADAPTED.append(note)
        original(self, learning_rate, *args, **kwargs)

    __init__._grader_lr = True
    base_optimizer.BaseOptimizer.__init__ = __init__


def _on_keras_import() -> None:
    capture.install()
    accept_keras2_lr()


def install_fit_capture(budget: int, cell=lambda: None) -> FitCapture:
    """Install the capture (and Keras 2's ``lr``) when Keras is first imported (Keras costs seconds to import:
    never before)."""
    global capture
    capture = FitCapture(budget, cell)
    from .importer import after_import

    after_import("keras", lambda module: _on_keras_import())
    return capture
