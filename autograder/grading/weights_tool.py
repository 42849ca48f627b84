"""`autograder make-weights PATH`: train a submission's own classes with the trained recipes and save
their state_dicts under the names the assignment expects. For building example submissions.

The student's code runs in the worker as in grading; the weights come back as
plain arrays and are saved by the trusted side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .context import CheckFailed
from .engine import grading_session


def make_weights(path: Path, *, assignment_id=None, data_dir=None, device="auto", models=None, untrained=False,
                 seed=0, progress=print) -> dict:
    """Write one weight file per model of the submission; return what was done, per file."""
    made = {}
    with grading_session(path, assignment_id=assignment_id, data_dir=data_dir, device=device) as (ctx, _):
        for model in ctx.assignment.models.values():
            if not model.weights or not model.trained or (models and model.name not in models):
                continue
            recipe = ctx.assignment.recipe(model.trained)
            data = ctx.task_data(recipe.name)
            try:
                shape = ctx.usable_input_shape(model)
                arrays = {"train_images": data.train_images.numpy()}
                if recipe.task == "classify":
                    arrays["train_labels"] = data.train_labels.numpy()
                header, weights = ctx.call("train_state", f"training {model.name}", 3600, arrays=arrays,
                                           model=ctx.probe(model).ref, recipe=recipe.as_dict(), seed=seed,
                                           input_shape=list(shape), untrained=untrained)
            except CheckFailed as failure:
                progress(f"{model.name}: not made: {failure}")
                continue
            state = {key: torch.from_numpy(np.array(weights[key])) for key in header["keys"]}
            target = Path(path) / model.weights[0]
            torch.save(state, target)
            made[target.name] = {"model": model.name, "recipe": recipe.name if not untrained else None,
                                 "steps": header["steps_done"], "seed": seed,
                                 "data": ctx.dataset(recipe.dataset).describe()}
            progress(f"{model.name}: wrote {target} ({header['steps_done']} steps)")
    provenance = Path(path) / "weights-provenance.json"
    previous = json.loads(provenance.read_text()) if provenance.exists() else {}
    provenance.write_text(json.dumps({**previous, **made}, indent=1) + "\n")
    return made
