"""An assignment as data: what ``reference/<package>/assignment.toml`` says, as frozen dataclasses.

The engine knows assignments only through these objects. A subject (a model,
a data set class, a function) holds its identity: where it is found, how it is
built, what it takes as input. Its checks hold their own expectations (points,
and what each check compares against). Nothing here names an assignment.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..common.recipes import Recipe
from .layers import LayerSpec

KINDS = ("torch", "keras", "dataset", "function", "script")  # script: a command-line program run as __main__
FINDS = ("class", "factory", "variable", "fit", "function")
LAYOUTS = ("channels_first", "channels_last")
SCALES = ("unit", "zscore", "symmetric")  # x / max; (x - mean) / std over all pixels; 2 x / max - 1
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# What an answer's array is, in a notebook whose cells do not bind its name: the data of the problem's last
# scatter plot, or the x values of its last line plot.
ANSWER_ROLES = ("scatter", "plot_x")


@dataclass(frozen=True)
class CheckSpec:
    """One check of a subject, file or answer, with what it expects."""

    key: str  # the name in the check's id ("code_size")
    type: str  # the check function it runs (the key, unless the data names another)
    points: float
    options: dict  # the expectation: {"width": 2}, {"recipe": "ae-brief"}...
    title: str | None = None  # for people; default: the check type's template
    hint: str | None = None  # what to try, added to a failed check's feedback
    visibility: str = "visible"
    per_variant: bool = False  # run once for each variant of the subject


@dataclass(frozen=True)
class InputSpec:
    """What one example given to a model looks like (N is added in front)."""

    shapes: tuple[tuple[int, ...], ...]  # accepted shapes; the first is the one trained with
    layout: str = "channels_first"  # where the channels are, in a shape that has them


@dataclass(frozen=True)
class SubjectSpec:
    """Something in the submission the grader builds, calls or measures."""

    key: str  # its key in the assignment
    name: str  # the name students give it (a class, function or variable)
    kind: str  # torch, keras, dataset, function, script
    find: str  # class, factory (a function returning it), variable, fit (Keras models passed to fit), function
    problem: str
    files: tuple[str, ...] = ()  # .py files where it may be defined, in order of preference
    weights: tuple[str, ...] = ()  # accepted names of a submitted weight file
    input: InputSpec | None = None
    data: str | None = None  # the data set its inputs come from (real examples for probes)
    kwargs: dict = field(default_factory=dict)  # constructor (or call) arguments
    args: tuple = ()  # positional arguments (argument specs, see grading/arguments.py)
    parts: dict = field(default_factory=dict)  # role -> attribute or method: {"encoder": "encoder"}
    match: dict = field(default_factory=dict)  # find = "fit": {"widths": [16, 64], "noisy": false}
    variants: dict = field(default_factory=dict)  # kwarg -> values of a sweep
    reference: str | None = None  # "module:name" of the answer key that builds the reference
    checks: dict[str, CheckSpec] = field(default_factory=dict)
    limit_seconds: float | None = None  # seconds of computing one call on it may take (default: [limits] call)
    aliases: tuple[str, ...] = ()  # other names accepted for it (any name also matches up to case and "_")
    argument_aliases: dict = field(default_factory=dict)  # a kwarg -> other parameter names accepted for it
    # kind = "script": ``files`` holds the one file run as ``__main__`` with ``args`` (strings) on its command line;
    # its optimizer steps are capped at ``steps`` (default: its written_weights recipe's, else the notebook budget)
    steps: int | None = None

    @property
    def script(self) -> str | None:
        """The file a script subject runs; None for other kinds."""
        return self.files[0] if self.kind == "script" and self.files else None

    def variant_kwargs(self) -> list[dict]:
        """Every combination of the sweep's values, over the subject's own kwargs."""
        if not self.variants:
            return []
        keys = list(self.variants)
        return [{**self.kwargs, **dict(zip(keys, values, strict=True))}
                for values in itertools.product(*(self.variants[k] for k in keys))]

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class FileSpec:
    name: str
    problem: str
    checks: dict[str, CheckSpec]
    program: bool = False  # a command-line program (run by a script subject): never imported as a check


@dataclass(frozen=True)
class AnswerSpec:
    variable: str  # the name students use in the answers file
    problem: str  # an analytic problem of the answer key
    key: str  # the entry of that problem's answer()
    points: float
    title: str | None = None
    text: bool = False  # else: the last number written under the problem's heading in the notebook
    span: dict | None = None  # not one value: {count, low, high}: at least count values, from low or less to high or
    # more (a sweep's values)
    shape: tuple | None = None  # not one value: an array of this shape
    role: str | None = None  # in a notebook that does not bind the name in the problem's cells: what plays its part


@dataclass(frozen=True)
class AnswersSpec:
    file: str
    tolerance: float
    visibility: str
    variables: dict[str, AnswerSpec]


@dataclass(frozen=True)
class AnalyticSpec:
    problem: str
    title: str
    module: str  # a module of the answer key package with an ``answer()`` function


@dataclass(frozen=True)
class ProblemSpec:
    id: str  # as the handout numbers it: "5.4", "1c", "2(b)"
    title: str = ""
    points: float | None = None  # the handout's points, when it gives them


@dataclass(frozen=True)
class DataSpec:
    """A data set as an assignment uses it: where it comes from and how it is prepared."""

    key: str
    source: str  # a catalog name (mnist, fashion-mnist, digits), "npy" (files under the data directory)
    folder: str | None = None  # "npy": the folder under the data directory
    files: dict = field(default_factory=dict)  # "npy": train_images, train_labels, test_images, test_labels
    layout: str = "channels_last"  # of images with channels in the source: (N, H, W, C) or (N, C, H, W)
    scale: str = "unit"
    classes: tuple[int, ...] = ()  # keep only these labels
    per_class: dict = field(default_factory=dict)  # {"train": n, "test": m}: the first n of each class
    resize: tuple[int, int] | None = None  # (H, W), bilinear
    channels: int | None = None  # repeat a grey channel
    split: str = "default"  # default (the data layer's rule) or official-order (per_class from the files' order)
    about: str = ""  # for feedback: "a stand-in for SIGNS: MNIST digits 0-5"
    provide: str = ""  # how an instructor provides it, when it is missing


@dataclass(frozen=True)
class ProvidedFolder:
    """Files a handout's notebook loads (``np.load('sign_data/X_train.npy')``), written beside it when the
    submission lacks them: from ``data`` when this machine has it, else from ``stand_in``, said in a note."""

    folder: str
    data: str
    stand_in: str | None = None
    files: dict = field(default_factory=dict)  # file name -> train_images, train_labels, test_images, test_labels


@dataclass(frozen=True)
class NotebookSpec:
    points: float = 0.0
    required: bool = False
    provide: tuple[ProvidedFolder, ...] = ()
    step_budget: int | None = None  # optimizer steps (or Keras batches per fit) a cell may train; None: the default


@dataclass(frozen=True)
class Calibration:
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    slack: float = 0.5  # the threshold lies this far from the worst seed towards the trivial answer
    min_margin: float = 0.15  # share of the trivial answer's error the worst seed must remove


@dataclass(frozen=True)
class LimitsSpec:
    """Seconds of computing the grader allows, counted as CPU time per worker thread (the wall clock, several
    times longer, is only a safety net); None: the engine's default (``grading/limits.py``)."""

    call: float | None = None  # one call on a subject (build, forward, a function call)
    imports: float | None = None  # importing one file
    notebook: float | None = None  # all of a notebook's cells
    notebook_cell: float | None = None  # one cell
    submission: float | None = None  # all the calls of one submission
    training_base: float | None = None  # a brief training: base + per_step x the recipe's steps
    training_per_step: float | None = None


LIMIT_KEYS = {"call": "call", "import": "imports", "notebook": "notebook", "notebook_cell": "notebook_cell",
              "submission": "submission", "training_base": "training_base", "training_per_step": "training_per_step"}


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    root: Path  # the answer key's folder
    package: str | None  # its import name, e.g. "reference.cpsc663_ex2" (None: an answer key read by path)
    paths: dict[str, Path]  # solution, starter, student_handout, written, thresholds
    calibration: Calibration = Calibration()
    course: str = ""
    problem_label: str = "Problem {id}"  # how a problem is named in titles and feedback
    problems: dict[str, ProblemSpec] = field(default_factory=dict)
    analytic: dict[str, AnalyticSpec] = field(default_factory=dict)
    files: tuple[FileSpec, ...] = ()
    notebook: NotebookSpec | None = None
    answers: AnswersSpec | None = None
    data: dict[str, DataSpec] = field(default_factory=dict)
    subjects: dict[str, SubjectSpec] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    derivations: str | None = None  # a module of the answer key with CHECKS and answer()
    limits: LimitsSpec = LimitsSpec()
    toml: Path | None = None  # the assignment.toml it was read from

    @property
    def models(self) -> dict[str, SubjectSpec]:
        """The subjects that are models (torch or Keras)."""
        return {k: s for k, s in self.subjects.items() if s.kind in ("torch", "keras")}

    def recipe(self, name: str) -> Recipe:
        return self.recipes[name]

    def data_spec(self, key: str) -> DataSpec:
        """The assignment's declaration of a data set, or the catalog's data set of that name as it is."""
        return self.data.get(key) or DataSpec(key=key, source=key)

    def problem_name(self, problem: str) -> str:
        """The problem as the handout names it: ``problem_label`` with ``{id}``, or ``{number}`` and ``{part}``
        ("Problem {number} ({part})" makes "1c" "Problem 1 (c)", and "3" "Problem 3")."""
        if not problem:
            return ""
        match = re.match(r"^(?P<number>[\d.]+)\s*\(?(?P<part>[a-z]*)\)?$", problem)
        number, part = (match["number"], match["part"]) if match else (problem, "")
        template = self.problem_label if part else re.sub(r"\s*\(?\{part\}\)?", "", self.problem_label)
        return template.format(id=problem, number=number, part=part)

    def expected_layers(self, subject: str, check: str = "layer_list") -> tuple[LayerSpec, ...]:
        spec = self.subjects[subject].checks.get(check)
        return tuple(spec.options.get("layers", ())) if spec else ()
