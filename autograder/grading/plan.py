"""Which checks run on a submission, in which order, for how many points: read from the assignment's spec.

A model's ``points`` table names its checks (like scikit-learn's tags choose
estimator checks); the engine never asks which assignment it is grading.
Checks run by stage: the fast structural ones first, training last.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..results import Verdict
from ..spec import Assignment
from .checks import answers, behaviour, files, notebooks, structure, training

STAGES = ("files", "imports", "structure", "behaviour", "answers", "training", "weights")


@dataclass(frozen=True)
class CheckCase:
    check_id: str  # stable and readable: "5.4/AE/code_size"
    title: str
    problem: str
    points: float
    stage: str
    visibility: str
    run: Callable  # (GradingContext) -> Verdict

    @property
    def name(self) -> str:
        return self.check_id.rsplit("/", 1)[-1]


# check name -> (function, stage, title template); templates see the model spec's fields.
MODEL_CHECKS: dict[str, tuple[Callable[..., Verdict], str, str]] = {
    "constructs": (structure.check_class_constructs, "structure", "{name}() builds with no arguments"),
    "layer_list": (structure.check_layer_list, "structure", "{name} has the handout's layers, in order"),
    "output_activation": (structure.check_output_activation, "structure", "{name} ends with {output_activation}"),
    "linear_layers": (structure.check_linear_layers, "structure",
                      "{name} has {encoder_linear_layers} Linear layers each side, with nonlinearities between"),
    "no_nonlinearity_at_code": (structure.check_no_nonlinearity_at_code, "structure",
                                "{name} has no nonlinearity entering or leaving the code"),
    "code_size": (structure.check_code_size, "structure", "{name} encodes to a {code_size}-D code"),
    "parameter_count": (structure.check_parameter_count, "structure", "{name} has the handout's parameter count"),
    "first_conv_filters": (structure.check_first_conv_filters, "structure",
                           "{name}'s first convolution has {first_conv_filters} filters"),
    "output_shapes": (behaviour.check_output_shapes, "behaviour", "{name} gives outputs of the right shape"),
    "reconstruction_through_code": (behaviour.check_reconstruction_through_code, "behaviour",
                                    "{name} reconstructs from its code alone"),
    "skip_connections": (behaviour.check_skip_connections, "behaviour", "{name} has working skip connections"),
    "brief_training": (training.check_brief_training, "training", "{name} learns under brief training"),
    "weights_load": (training.check_weights_load, "weights", "{name}'s weight file loads"),
    "trained_weights": (training.check_trained_weights, "weights", "{name}'s submitted weights are trained"),
}  # fmt: skip

FILE_CHECKS = {
    "present": (files.check_file_present, "files", "{file} is present"),
    "imports": (files.check_module_imports, "imports", "{file} imports"),
}


def plan_checks(assignment: Assignment) -> list[CheckCase]:
    cases = []
    if assignment.notebook_points is not None:
        cases.append(CheckCase("notebook/runs", "The notebook runs", "", assignment.notebook_points, "imports",
                               "visible", notebooks.check_notebook_runs))
    for spec in assignment.files:
        for name, points in spec.points.items():
            function, stage, title = FILE_CHECKS[name]
            cases.append(CheckCase(f"files/{spec.name}/{name}", title.format(file=spec.name), spec.problem,
                                   points, stage, "visible", functools.partial(function, file=spec.name)))
    for model in assignment.models.values():
        for name, points in model.points.items():
            if name not in MODEL_CHECKS:
                raise KeyError(f"{assignment.id}: model {model.name} names an unknown check {name!r}; "
                               f"known: {', '.join(MODEL_CHECKS)}")
            function, stage, title = MODEL_CHECKS[name]
            fields = {**model.__dict__, "output_activation": assignment.output_activation(model.name)}
            cases.append(CheckCase(f"{model.problem}/{model.name}/{name}", title.format(**fields),
                                   model.problem, points, stage, "visible", functools.partial(function, model=model)))
    if assignment.answers:
        for variable in assignment.answers.variables.values():
            cases.append(CheckCase(f"{variable.problem}/answers/{variable.variable}",
                                   f"Problem {variable.problem}: {variable.variable}", variable.problem,
                                   variable.points, "answers", assignment.answers.visibility,
                                   functools.partial(answers.check_numeric_answer, answer=variable)))
    return sorted(cases, key=lambda case: STAGES.index(case.stage))
