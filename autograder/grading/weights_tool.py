"""`autograder make-weights PATH`: train a submission's own classes with the trained recipes and save their
state_dicts under the names the assignment expects. For building example submissions.

The student's code runs in the worker as in grading; the weights come back as
plain arrays and are saved by the trusted side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .locate import subjects_of
from .measure.models import probe, usable_input_shape
from .measure.training import task_data
from .outcomes import CheckFailed
from .session import grading_session


def _trained_recipe(spec) -> str | None:
    return next((c.options["recipe"] for c in spec.checks.values() if c.type == "trained_weights"), None)


def make_weights(path: Path, *, assignment_id=None, data_dir=None, device="auto", models=None, untrained=False,
                 seed=0, progress=print) -> dict:
    """Write one weight file per model of the submission; return what was done, per file."""
    made = {}
    with grading_session(path, assignment_id=assignment_id, data_dir=data_dir, device=device) as (ctx, _):
        for spec in ctx.assignment.models.values():
            recipe_name = _trained_recipe(spec)
            if not spec.weights or not recipe_name or (models and spec.name not in models):
                continue
            recipe = ctx.assignment.recipe(recipe_name)
            subject = subjects_of(spec)[0]
            try:
                data = task_data(ctx, subject, recipe_name, usable_input_shape(ctx, subject))
                arrays = {"train_inputs": data.train_inputs}
                if data.train_labels is not None:
                    arrays["train_labels"] = data.train_labels
                header, weights = ctx.link.call("train_state", f"training {spec.name}", 3600, arrays=arrays,
                                                model=probe(ctx, subject).ref, recipe=recipe.as_dict(), seed=seed,
                                                untrained=untrained)
            except CheckFailed as failure:
                progress(f"{spec.name}: not made: {failure}")
                continue
            state = {key: torch.from_numpy(np.array(weights[key])) for key in header["keys"]}
            target = Path(path) / spec.weights[0]
            torch.save(state, target)
            made[target.name] = {"model": spec.name, "recipe": recipe.name if not untrained else None,
                                 "steps": header["steps_done"], "seed": seed,
                                 "data": ctx.data.images(recipe.data).description}
            progress(f"{spec.name}: wrote {target} ({header['steps_done']} steps)")
    provenance = Path(path) / "weights-provenance.json"
    previous = json.loads(provenance.read_text()) if provenance.exists() else {}
    provenance.write_text(json.dumps({**previous, **made}, indent=1) + "\n")
    return made
