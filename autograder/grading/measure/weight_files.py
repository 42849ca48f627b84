"""Which submitted file holds a subject's weights.

The file the handout names (``weights = [...]`` of the subject), or a look-alike of
it that the submission's intake graded under that name (``Submission.adopt_misnamed``:
``mnist_ae.pth`` for ``mnist_ae.pt``); where neither is there, the one weight file
of the submission (``.pt``, ``.pth``, ``.ckpt``) whose tensors fit the subject's
state_dict, keys and shapes, as the trusted side reads it (``weights_only=True``:
a pickled whole model is never loaded). Two or more that fit: none is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...common.state_dicts import read_state_dict
from .. import limits
from ..locate import Subject
from ..outcomes import CheckFailed
from .models import probe

WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt")


@dataclass(frozen=True)
class WeightFile:
    file: str  # the file loaded
    instead_of: str | None  # the handout's name, where a file of another name was found by its contents
    in_submission: tuple[str, ...]  # every weight file of the submission, as the student named it


def weight_files(ctx) -> tuple[str, ...]:
    """The submission's weight files, as the student named them (not the grader's copies of misnamed ones)."""
    copies = set(ctx.submission.renamed)
    return tuple(f for f in ctx.submission.files() if f.lower().endswith(WEIGHT_SUFFIXES) and f not in copies)


def listing(found: tuple[str, ...]) -> str:
    """Files in words: "a.pt, b.pth and c.pt"."""
    shown = list(found[:12]) + ([f"{len(found) - 12} more"] if len(found) > 12 else [])
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown) or "none"


def trusted_state_dict(ctx, file: str) -> dict | None:
    """The tensors of a submitted weight file, read once in this (trusted) process within the grader's bound."""
    return ctx.memo(("trusted state_dict", file),
                    lambda: read_state_dict(ctx.scratch_path(file), limits.TRUSTED_WEIGHTS_BYTES)[0])


def _shapes(ctx, file: str) -> dict | None:
    state = trusted_state_dict(ctx, file)
    return None if state is None else {key: list(value.shape) for key, value in state.items()}


def _unclaimed(ctx, subject: Subject, found: tuple[str, ...]) -> list[str]:
    """The weight files that are no other subject's (under its own name, or a look-alike graded as it)."""
    others = {name for other in ctx.assignment.subjects.values() if other.key != subject.spec.key
              for name in other.weights} | set(ctx.submission.renamed.values())
    return [f for f in found if f not in others]


def _fitting(ctx, subject: Subject, files: list[str]) -> list[str]:
    """The files whose tensors have the keys and shapes of the subject's state_dict."""
    try:
        wanted = probe(ctx, subject).describe.get("state_keys") or {}
    except CheckFailed:  # the class does not build: no file can be matched with it
        return []
    return [f for f in files if wanted and _shapes(ctx, f) == wanted]


def choose(ctx, subject: Subject) -> WeightFile:
    """The weight file to load into the subject; CheckFailed saying what the submission has instead."""
    return ctx.memo(("weight file", subject.key), lambda: _choose(ctx, subject))


def _choose(ctx, subject: Subject) -> WeightFile:
    spec, found = subject.spec, weight_files(ctx)
    present = [name for name in spec.weights if ctx.submission.has(name)]
    if present:
        return WeightFile(present[0], None, found)
    expected = " or ".join(spec.weights)
    unclaimed = _unclaimed(ctx, subject, found)
    fitting = _fitting(ctx, subject, unclaimed)
    if len(fitting) == 1:
        ctx.note(f"graded {fitting[0]} as {spec.name}'s weights: the handout names the file {spec.weights[0]}, and "
                 f"{fitting[0]} is the one weight file of the submission whose tensors fit {spec.name} (keys and "
                 "shapes); rename it")
        return WeightFile(fitting[0], spec.weights[0], found)
    if fitting:
        raise CheckFailed(f"no weight file for {spec.name}: expected {expected}; {listing(tuple(fitting))} each fit "
                          f"{spec.name} (keys and shapes), so the grader cannot tell which holds its weights and "
                          f"loaded none: name that one {spec.weights[0]}")
    near = ctx.submission.look_alikes(spec.weights, any_suffix=True)
    hint = f" Found {', '.join(near)}: rename it to {spec.weights[0]}." if near else ""
    if unclaimed and not near:
        hint = f" The submission's other weight files ({listing(tuple(unclaimed))}) do not fit {spec.name} (keys " \
               "and shapes, read with weights_only=True)."
    raise CheckFailed(f"no weight file for {spec.name}: expected {expected} at the top level of the "
                      f"submission.{hint} Weight files in the submission: {listing(found)}.")
