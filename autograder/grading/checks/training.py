"""Checks of trained models: brief training with the reference recipe, submitted weights, sweeps.

The measurements (``grading/measure/training.py``) train in the worker and
score here; these functions only compare the scores with the calibrated bars.
"""

from __future__ import annotations

import numpy as np

from ...results import Verdict
from .expected import Expected


def check_brief_training(scored, expected: Expected) -> Verdict:
    """``scored``: the metric after brief training, per seed tried, and the calibrated threshold."""
    threshold = scored.threshold
    if scored.passed():
        value = next(v for v in scored.values if threshold.passes(v))
        tries = "" if scored.values[0] == value else f" (on a second seed; the first gave {scored.values[0]:.4g})"
        return Verdict(True, f"after brief training ({scored.budget}) {expected.name} reaches {scored.metric} "
                             f"{value:.4g} on held-out data; the bar is {threshold.describe()}{tries}")
    tried = " and ".join(f"{v:.4g}" for v in scored.values)
    seeds = "two seeds" if len(scored.values) > 1 else "one seed"
    return Verdict(False, f"after brief training ({scored.budget}) {expected.name} reaches {scored.metric} {tried} "
                          f"on held-out data ({seeds}); the bar is {threshold.describe()} ({scored.bar}). The model "
                          "does not learn as the reference does.")


def _load_problem(file: str, name: str, header: dict) -> str:
    problem = header["problem"]
    if problem == "pickled object":
        return (f"{file} is not a plain state_dict (loading it with weights_only=True fails: {header['detail']}). "
                f"Save it with torch.save(model.state_dict(), '{file}')")
    if problem == "not a state_dict":
        return f"{file} holds a {header['detail']}, not a state_dict of tensors; save model.state_dict()"
    if problem == "keys":
        parts = []
        if header["missing"]:
            parts.append(f"missing keys {', '.join(k[:80] for k in header['missing'][:5])}")
        if header["unexpected"]:
            parts.append(f"unexpected keys {', '.join(k[:80] for k in header['unexpected'][:5])}")
        for key, (found, wanted) in list(header["mismatched"].items())[:5]:
            parts.append(f"{key[:80]} has shape {tuple(found)} in the file but {tuple(wanted)} in {name}")
        return f"{file} does not fit {name}: {'; '.join(parts)}. Save the weights of the same class you submit"
    return f"{file} could not be read: {str(header.get('detail', problem))[:300]}"


def used_files(loaded) -> str:
    """The submission's weight files and the one graded, for the feedback of every weights check."""
    found = ", ".join(loaded.in_submission[:12]) or "none"
    used = f"{loaded.renamed_from} (as {loaded.file})" if loaded.renamed_from else loaded.file
    return f" [weight files in the submission: {found}; used: {used}]" if loaded.in_submission else ""


def _misnamed(loaded) -> str | None:
    """The student's name of a file graded for the one the handout names (a look-alike, or found by its
    contents)."""
    return loaded.renamed_from or (loaded.file if loaded.instead_of else None)


def check_weights_load(loaded, expected: Expected) -> Verdict:
    """``loaded``: the worker's account of loading the file, and the misnamed file it stands for, if any. A
    misnamed file costs this check, unless the assignment checks the file's name apart (``name_check``: a
    ``present`` check of the name under ``[files]``)."""
    file, header = loaded.file, loaded.header
    handout = loaded.instead_of or file
    misnamed = _misnamed(loaded)
    if not header["loaded"]:
        problem = _load_problem(file, expected.name, header)
        if misnamed:
            problem = f"{misnamed} was graded as {handout}, the name the handout asks for. {problem}"
        return Verdict(False, problem + used_files(loaded))
    if misnamed and not expected.get("name_check"):
        names = " or ".join(expected.get("names", [handout]))
        found = "" if loaded.renamed_from else f", whose tensors fit {expected.name} (keys and shapes)"
        return Verdict(False, f"no file named {names}: the submission has {misnamed} instead{found}. Rename it to "
                              f"{handout}; graded as {handout}, it loads into {expected.name}."
                       + used_files(loaded))
    message = f"{file} loads into {expected.name} (torch.load with weights_only=True, strict keys)"
    if header.get("note"):
        message += f"; {str(header['note'])[:300]} (the handout asks for model.state_dict() itself)"
    if misnamed:
        message += (f"; the handout names the file {handout}, and {expected['name_check']} is the check on its "
                    "name")
    return Verdict(True, message + used_files(loaded))


def check_trained_weights(measured, expected: Expected) -> Verdict:
    """``measured``: (the weight file loaded, its predictions scored against the trained bar)."""
    loaded, scored = measured
    value = scored.values[0]
    if not scored.threshold.passes(value):
        return Verdict(False, f"{expected.name} with the weights in {loaded.file} reaches {scored.metric} {value:.4g} "
                              f"on held-out data; a trained model reaches {scored.threshold.describe()} "
                              f"({scored.bar})." + used_files(loaded))
    return Verdict(True, f"{expected.name} with {loaded.file} reaches {scored.metric} {value:.4g} on held-out data "
                         f"(bar: {scored.threshold.describe()})" + used_files(loaded))


def check_as_trained(scored, expected: Expected) -> Verdict:
    """``scored``: the model as the submission trained it, on held-out data, against the recipe's bar."""
    value = scored.values[0]
    if not scored.threshold.passes(value):
        return Verdict(False, f"{expected.name}, as your code left it, reaches {scored.metric} {value:.4g} on held-out "
                              f"data; a trained model reaches {scored.threshold.describe()} ({scored.bar}). Was it "
                              "trained (on the right data)?")
    return Verdict(True, f"{expected.name}, as your code trained it, reaches {scored.metric} {value:.4g} on held-out "
                         f"data (bar: {scored.threshold.describe()})")


def _geometric_mean(values) -> float:
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-12)))))


def check_sweep_trend(sweep: dict, expected: Expected) -> Verdict:
    """``sweep``: the swept argument, its values in increasing order, and per value the error after brief training.
    Expected: the error falls as the value grows. Brief training is noisy where errors are near zero, so the
    halves are compared: the larger half's errors (geometric mean) are at most ``ratio`` (default 0.5) times the
    smaller half's, and the largest value's error is below the smallest's."""
    name, values, errors = sweep["argument"], sweep["values"], sweep["errors"]
    shown = ", ".join(f"{name}={v}: {e:.4g}" for v, e in zip(values, errors, strict=True))
    half = len(errors) // 2
    small, large = _geometric_mean(errors[:half]), _geometric_mean(errors[len(errors) - half:])
    ratio = expected.get("ratio", 0.5)
    if not (large <= ratio * small and errors[-1] < errors[0]):
        return Verdict(False, f"after brief training of {expected.name} at each {name}, the {sweep['metric']} should "
                              f"fall as {name} grows, but the larger half of the values reach {large / small:.2g} "
                              f"times the error of the smaller half (at most {ratio:g} expected): {shown}")
    return Verdict(True, f"the {sweep['metric']} of {expected.name} falls as {name} grows ({shown})")
