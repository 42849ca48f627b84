"""Assignments described as data: ``reference/<package>/assignment.toml`` read into frozen dataclasses.

The engine knows assignments only through this module; adding one means adding
a folder under ``reference/`` with its ``assignment.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import reference

from .recipes import Recipe

REFERENCE_ROOT = Path(reference.__file__).resolve().parent


class SpecError(ValueError):
    """An assignment.toml that does not say what the engine needs."""


@dataclass(frozen=True)
class AnalyticSpec:
    problem: str
    title: str
    module: str  # a module of the answer key package with an ``answer()`` function


_LAYER = re.compile(r"^\s*(?P<type>\w+)\s*(?:\((?P<args>.*)\))?\s*$")


@dataclass(frozen=True)
class LayerSpec:
    """One expected layer: its type and the settings that must match (others are free)."""

    type: str
    settings: dict

    @classmethod
    def parse(cls, text: str) -> LayerSpec:
        """``"Conv2d(in_channels=1, kernel_size=3)"`` or ``"ReLU"``."""
        match = _LAYER.match(text)
        if not match:
            raise SpecError(f"cannot read layer {text!r}; write it as Type(key=value, ...)")
        settings = {}
        for item in filter(None, (part.strip() for part in (match["args"] or "").split(","))):
            key, _, value = item.partition("=")
            if not _:
                raise SpecError(f"layer {text!r}: {item!r} is not key=value")
            settings[key.strip()] = _value(value.strip())
        return cls(match["type"], settings)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"{self.type}({args})" if args else self.type


def _value(text: str):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class FileSpec:
    name: str
    problem: str
    points: dict[str, float]  # check name ("present", "imports") -> points


@dataclass(frozen=True)
class AnswerSpec:
    variable: str  # the name students use in the answers file
    problem: str  # an analytic problem of the answer key
    key: str  # the entry of that problem's answer()
    points: float


@dataclass(frozen=True)
class AnswersSpec:
    file: str
    tolerance: float
    visibility: str
    variables: dict[str, AnswerSpec]


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the class name students use
    problem: str
    files: tuple[str, ...]  # where the class may be defined, in order of preference
    input_shapes: tuple[tuple[int, ...], ...]  # accepted shapes of one example
    weights: tuple[str, ...] = ()  # accepted names of the submitted weight file
    brief: str | None = None  # recipe the grader trains the student's class with
    trained: str | None = None  # recipe that sets the bar for submitted weights
    denoise: tuple[str, ...] = ()  # Problem-6.3-style recipes (any one may pass)
    outputs: int | None = None  # a classifier's number of scores per example
    code_size: int | None = None  # an autoencoder's code width
    first_conv_filters: int | None = None
    encoder_linear_layers: int | None = None
    decoder_linear_layers: int | None = None
    layers: tuple[LayerSpec, ...] = ()  # the layers in the order they run
    layers_like: str | None = None  # another model whose layer list this one shares
    output_activation: str | None = None  # checked apart from the layer list
    skip_connections: bool = False
    points: dict[str, float] = field(default_factory=dict)  # check name -> points: the checks to run

    @property
    def recipe_names(self) -> tuple[str, ...]:
        return tuple(r for r in (self.brief, self.trained, *self.denoise) if r)


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    root: Path  # the answer key's folder
    package: str  # its import name, e.g. "reference.cpsc663_ex2"
    dataset: str
    calibration_seeds: tuple[int, ...]
    slack: float
    min_margin: float
    paths: dict[str, Path]  # solution, starter, student_handout, written, thresholds
    analytic: dict[str, AnalyticSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    course: str = ""
    derivations: str | None = None  # a module of the answer key with CHECKS and answer()
    files: tuple[FileSpec, ...] = ()
    answers: AnswersSpec | None = None
    notebook_points: float | None = None  # a "the notebook runs" check, when the assignment takes notebooks

    def recipe(self, name: str) -> Recipe:
        return self.recipes[name]

    def _layers_owner(self, model: str) -> ModelSpec:
        spec = self.models[model]
        return self.models[spec.layers_like] if spec.layers_like else spec

    def expected_layers(self, model: str) -> tuple[LayerSpec, ...]:
        return self._layers_owner(model).layers

    def output_activation(self, model: str) -> str | None:
        return self._layers_owner(model).output_activation


_PATH_KEYS = ("solution", "starter", "student_handout", "written", "thresholds")


def _model(name: str, data: dict) -> ModelSpec:
    try:
        return ModelSpec(
            name=name,
            problem=str(data["problem"]),
            files=tuple(data["files"]),
            input_shapes=tuple(tuple(shape) for shape in data["input_shapes"]),
            weights=tuple(data.get("weights", ())),
            brief=data.get("brief"),
            trained=data.get("trained"),
            denoise=tuple(data.get("denoise", ())),
            outputs=data.get("outputs"),
            code_size=data.get("code_size"),
            first_conv_filters=data.get("first_conv_filters"),
            encoder_linear_layers=data.get("encoder_linear_layers"),
            decoder_linear_layers=data.get("decoder_linear_layers"),
            layers=tuple(LayerSpec.parse(layer) for layer in data.get("layers", ())),
            layers_like=data.get("layers_like"),
            output_activation=data.get("output_activation"),
            skip_connections=bool(data.get("skip_connections", False)),
            points=dict(data.get("points", {})),
        )
    except KeyError as missing:
        raise SpecError(f"model {name}: missing key {missing}") from None


def _answers(data: dict | None) -> AnswersSpec | None:
    if not data:
        return None
    variables = {
        name: AnswerSpec(name, str(v["problem"]), v.get("key", name), float(v.get("points", 1)))
        for name, v in data.get("variables", {}).items()
    }
    return AnswersSpec(data["file"], float(data.get("tolerance", 1e-3)), data.get("visibility", "visible"), variables)


def parse_assignment(path: Path) -> Assignment:
    """Read and validate one ``assignment.toml``."""
    data = tomllib.loads(path.read_text())
    root = path.parent
    recipes = {name: Recipe.from_dict(name, r) for name, r in data.get("recipes", {}).items()}
    models = {name: _model(name, m) for name, m in data.get("models", {}).items()}
    for model in models.values():
        if model.layers_like and model.layers_like not in models:
            raise SpecError(f"{path}: model {model.name} has layers_like {model.layers_like!r}, not a model")
        for recipe in model.recipe_names:
            if recipe not in recipes:
                raise SpecError(f"{path}: model {model.name} names recipe {recipe!r}, which is not defined")
    data_section = data.get("data", {})
    return Assignment(
        id=data["id"],
        title=data["title"],
        course=data.get("course", ""),
        derivations=data.get("derivations"),
        root=root,
        package=f"{reference.__name__}.{root.name}",
        dataset=data_section.get("dataset", ""),
        calibration_seeds=tuple(data_section.get("calibration_seeds", range(5))),
        slack=float(data_section.get("slack", 0.5)),
        min_margin=float(data_section.get("min_margin", 0.15)),
        paths={key: root / data[key] for key in _PATH_KEYS if key in data},
        analytic={
            problem: AnalyticSpec(problem, a["title"], a["module"])
            for problem, a in data.get("analytic", {}).items()
        },
        models=models,
        recipes=recipes,
        files=tuple(FileSpec(name, str(f.get("problem", "")), dict(f.get("points", {})))
                    for name, f in data.get("files", {}).items()),
        answers=_answers(data.get("answers")),
        notebook_points=data["notebook"].get("points", 0.0) if "notebook" in data else None,
    )


def available_assignments() -> dict[str, Path]:
    """Assignment id -> its assignment.toml, for every answer key under ``reference/``."""
    found = {}
    for toml in sorted(REFERENCE_ROOT.glob("*/assignment.toml")):
        found[tomllib.loads(toml.read_text())["id"]] = toml
    return found


def load_assignment(assignment_id: str) -> Assignment:
    found = available_assignments()
    if assignment_id not in found:
        raise SpecError(f"unknown assignment '{assignment_id}'; known: {', '.join(found) or 'none'}")
    return parse_assignment(found[assignment_id])
