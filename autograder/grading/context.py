"""Everything one submission's checks share: the submission, the answer key, the worker, the data.

Worker calls are made lazily and remembered, so each check reads as if it
were alone (``pytest -k`` one check and it still works) while the whole run
imports each file once and builds each model a handful of times. Whatever the
student's code does wrong comes back as ``CheckFailed`` with a message for the
student; the grader's own faults are never dressed up as the student's.
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import tasks
from ..answer_key import load_thresholds
from ..datasets import Dataset, load_dataset
from ..notebooks import NotebookProblem, find_notebook, validate
from ..spec import Assignment, ModelSpec
from ..state_dicts import unwrap_state_dict
from ..submission import Submission
from ..thresholds import Threshold, threshold_for
from ..training import preferred_output
from ..worker.client import Worker, WorkerFailure

SUBMISSION_SECONDS = 900  # all worker calls of one submission together
MAX_WORKER_STARTS = 6  # a submission that kills its worker more often than this is not restarted again
NOTEBOOK_SECONDS = 600  # all cells of a notebook together
NOTEBOOK_CELL_SECONDS = 120  # one cell
NOTEBOOK_STEP_BUDGET = 10  # optimizer steps a notebook cell may take before its training is stopped
IMPORT_SECONDS = 60  # the worker stops a file that is still importing after this long, keeping its definitions
TIMEOUT_CALL = 30
TIMEOUT_TRAIN_BASE = 60
TIMEOUT_TRAIN_PER_STEP = 0.25


def import_timeout() -> float:
    """The hard limit on importing a file: the worker's own soft limit, plus time to report."""
    return IMPORT_SECONDS + 30


def _notebook_problem(path: Path) -> str | None:
    try:
        validate(path)
    except NotebookProblem as problem:
        return str(problem)
    return None


def _notebook_notes(file: str, report: dict) -> list[str]:
    """What the student should know about how their notebook was run."""
    notes = []
    stopped = [c for c in report.get("cells", []) if c["status"] == "training stopped"]
    if stopped:
        cells = ", ".join(str(c["index"] + 1) for c in stopped)
        notes.append(f"{file}: training in cell(s) {cells} was stopped after a few optimizer steps; the grader "
                     "trains your models itself, so the cells after them still ran")
    if report.get("skipped"):
        shown = "; ".join(report["skipped"][:6]) + ("; ..." if len(report["skipped"]) > 6 else "")
        notes.append(f"{file}: skipped, since grading is offline and headless: {shown}")
    if report.get("cuda_requests"):
        notes.append(f"{file}: the code asks for a CUDA GPU; there is none here, so it ran on the CPU")
    consequences = [c for c in report.get("cells", []) if c["status"] == "after stopped training"]
    if consequences:
        cells = ", ".join(str(c["index"] + 1) for c in consequences)
        notes.append(f"{file}: cell(s) {cells} failed only because a name they use was to be set after a "
                     "stopped training loop; that is not counted against the notebook")
    not_run = [c for c in report.get("cells", []) if c["status"] == "not run"]
    if not_run:
        notes.append(f"{file}: {len(not_run)} cell(s) were not run: the notebook used up its "
                     f"{NOTEBOOK_SECONDS // 60} minutes")
    return notes


class CheckFailed(Exception):
    """The check cannot pass; the message is for the student."""


TRUSTED_WEIGHTS_BYTES = 256 * 1024 * 1024  # the trusted side reads weight files up to this size
MESSAGE_CHARS = 300  # of a student's exception message shown back: enough to act on, too little to smuggle much


def student_traceback(info: dict) -> str:
    """``error`` info from the worker as a short message naming the student's own lines."""
    message = str(info.get("message", ""))
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + " [...]"
    kind = info.get("type", "Error")
    text = f"{kind}: {message}".rstrip(": ") if kind else message
    frames = info.get("frames") or []
    if frames:
        last = frames[-1]
        text += f" (in {last['file']}, line {last['line']}, in {last['function']}: {last['code']})"
    return text


@dataclass
class ModelProbe:
    """What the worker told us about a student's model class."""

    ref: dict
    describe: dict
    input_shape: tuple[int, ...] | None = None
    accepted_shapes: dict = field(default_factory=dict)  # shape -> output shape, or an error text
    returns_tuple: bool = False  # forward returned a tuple or list of tensors


def _output_shape(outputs: dict[str, np.ndarray], x: np.ndarray) -> list[int]:
    """The shape of what forward returned, read as the worker reads it (of a tuple, the element
    with as many values as the input when there is one)."""
    arrays = [outputs[f"out{i}"] for i in range(len(outputs))]
    return list(preferred_output(arrays, x.size, count=lambda a: a.size).shape)


class GradingContext:
    def __init__(self, assignment: Assignment, submission: Submission, worker: Worker, *,
                 data_dir=None, device: str = "cpu", ready=()):
        self.assignment = assignment
        self.submission = submission
        self.worker = worker
        self.data_dir = data_dir
        self.device = device
        self.notes: list[str] = []
        self.staff_log: list[str] = []  # for instructors only: the grader's own failures
        self._imports: dict[str, dict] = {}
        self._probes: dict[str, ModelProbe | CheckFailed] = {}
        self._hung: dict[str, str] = {}  # model -> why it is not run again
        self.cache: dict = {}  # checks' shared results (traces, weights, training), failures included
        self._notebook_loaded_at: int | None = None  # the worker start that ran the notebook
        self.stage_seconds: dict[str, float] = {}
        self.started = time.monotonic()
        self._ready = list(ready)  # futures the worker's first request must wait for (the data it reads)
        # The data sets load in a thread while the worker starts (a process of its own): cold, both take seconds.
        names = sorted({recipe.dataset for recipe in assignment.recipes.values()})
        self._datasets = concurrent.futures.ThreadPoolExecutor(1).submit(
            lambda: {name: load_dataset(name, data_dir) for name in names})

    # ------------------------------------------------------------ the worker

    def call(self, op: str, what: str, timeout: float | None = None, arrays=None, **fields):
        """A worker call whose failures (timeout, crash) become a CheckFailed naming what was running."""
        timeout = min(timeout or TIMEOUT_CALL, self._budget_left())
        if not self.worker.alive:
            if self.worker.starts >= MAX_WORKER_STARTS:
                raise CheckFailed(f"not run: the student's code ended its worker {self.worker.starts} times, "
                                  "so the grader stopped starting new ones for this submission")
            started = time.monotonic()
            try:
                self.worker.start()
            except WorkerFailure as failure:
                raise CheckFailed(failure.message) from None
            finally:
                self.add_time("start", started)
        while self._ready:
            self._ready.pop().result()
        try:
            header, out = self.worker.call(op, what, timeout, arrays=arrays, **fields)
        except WorkerFailure as failure:
            raise CheckFailed(failure.message) from None
        if not header.get("ok"):
            failure = header.get("failure")
            if failure == "student":
                raise CheckFailed(f"{header.get('where', what)} raised {student_traceback(header)}")
            if failure == "missing":
                raise CheckFailed(header.get("message", "not found"))
            raise RuntimeError(f"worker: {header.get('message', header)}")  # the grader's own fault
        return header, out

    def _budget_left(self) -> float:
        left = SUBMISSION_SECONDS - (time.monotonic() - self.started)
        if left <= 0:
            raise CheckFailed(f"not run: this submission used up its grading time ({SUBMISSION_SECONDS // 60} "
                              "minutes for all its checks)")
        return left

    # ------------------------------------------------------------ the notebook

    @property
    def notebook_file(self) -> str | None:
        return self._memo(("notebook file",), lambda: find_notebook(self.submission))

    def notebook_report(self) -> dict:
        """Run the submission's notebook in the worker (once per worker); its report. CheckFailed if the
        notebook cannot be run at all."""
        file = self.notebook_file
        if file is None:
            raise CheckFailed("there is no notebook in the submission")
        problem = self._memo(("notebook problem",), lambda: _notebook_problem(self.scratch_path(file)))
        if problem:
            raise CheckFailed(problem)
        cached = self.cache.get(("notebook report",))
        if isinstance(cached, CheckFailed):
            raise cached
        if cached is not None and (not cached["ran"] or self._notebook_loaded_at == self.worker.starts):
            return cached
        settings = {"cell_seconds": NOTEBOOK_CELL_SECONDS, "notebook_seconds": NOTEBOOK_SECONDS,
                    "step_budget": NOTEBOOK_STEP_BUDGET}
        try:
            header, _ = self.call("load_notebook", f"running {file}", NOTEBOOK_SECONDS + 90, file=file,
                                  settings=settings)
        except CheckFailed as failure:
            self.cache[("notebook report",)] = failure
            raise
        report = header["notebook"]
        self._notebook_loaded_at = self.worker.starts
        if cached is None:
            self.notes.extend(_notebook_notes(file, report))
        self.cache[("notebook report",)] = report
        return report

    def notebook_namespace_ready(self) -> bool:
        """True when the worker serving now holds the notebook's definitions."""
        if self.notebook_file is None:
            return False
        try:
            return self.notebook_report()["ran"]
        except CheckFailed:
            return False

    # ------------------------------------------------------------ files and modules

    def import_file(self, file: str) -> dict:
        """The worker's account of importing ``file`` (cached). Raises CheckFailed if it is absent."""
        if not self.submission.has(file):
            raise CheckFailed(f"{file} is missing from the submission")
        if self.notebook_file:
            self.notebook_namespace_ready()  # the notebook runs first: its kernel then serves every request
        if file not in self._imports:
            try:
                header, _ = self.call("import", f"importing {file}", import_timeout(), file=file)
            except CheckFailed as failure:  # the import killed the worker: do not try again for every check
                header = {"ok": False, "error": {"type": "", "message": str(failure), "frames": []},
                          "names": [], "modules": [], "stopped": None}
            self._imports[file] = header
            if header.get("stopped"):
                self.notes.append(f"{file}: {self.describe_stop(header['stopped'])}")
            if header.get("cuda_requests") and not self.cache.get(("cuda noted",)):
                self.cache[("cuda noted",)] = True
                self.notes.append(f"{file}: the code asks for a CUDA GPU; there is none here, so it ran on the CPU")
        return self._imports[file]

    @staticmethod
    def describe_stop(stopped: dict) -> str:
        frames = stopped.get("frames") or []
        where = f" at line {frames[0]['line']} ({frames[0]['code']})" if frames else ""
        advice = {
            "training": "; put the training under `if __name__ == \"__main__\":` so that importing the file "
                        "only defines your classes",
            "timeout": "; move long-running code under `if __name__ == \"__main__\":`",
            "exit": "; a file should not exit when it is imported",
            "fork": "; a file should not start processes when it is imported",
        }.get(stopped.get("reason"), "")
        return f"{stopped['detail']}{where}. Everything defined above that point was graded{advice}."

    def defining_file(self, model: ModelSpec) -> str:
        """The first of the model's files that defines its class; CheckFailed naming what is wrong."""
        problems = []
        for file in model.files:
            if not self.submission.has(file):
                continue
            outcome = self.import_file(file)
            if model.name in outcome.get("modules", []):
                if self._notebook_defines(model.name, own=True):
                    self.notes.append(f"{model.name} is defined in {file} and in the notebook {self.notebook_file}; "
                                      f"the handout asks for {file}, so that one was graded")
                return file
            if outcome.get("error") and not outcome.get("names"):
                problems.append(f"{file} could not be imported: {student_traceback(outcome['error'])}")
            elif outcome.get("error"):
                problems.append(f"{file} stopped with {student_traceback(outcome['error'])} before "
                                f"defining {model.name}")
            elif self.submission.root.joinpath(file).stat().st_size == 0:
                problems.append(f"{file} is empty")
            else:
                problems.append(f"{file} defines no class {model.name} (it defines: "
                                f"{', '.join(outcome.get('modules', [])) or 'no nn.Module classes'})")
        in_notebook = self._notebook_defines(model.name)
        if in_notebook:
            self.notes.append(f"{model.name}: {' and '.join(problems) if problems else ' or '.join(model.files)} "
                              f"{'' if problems else 'is missing'}; the handout asks for the class in that file, "
                              f"so the {model.name} your notebook {self.notebook_file} defines was graded instead")
            return self.notebook_file
        if not problems:
            names = " or ".join(model.files)
            raise CheckFailed(f"{names} is missing from the submission, so {model.name} could not be graded")
        raise CheckFailed("; ".join(problems))

    def _notebook_defines(self, name: str, own: bool = False) -> bool:
        """The notebook's namespace holds the class (``own``: defined in the notebook, not imported)."""
        if not self.notebook_namespace_ready():
            return False
        return name in self.import_file_from_notebook().get("own_modules" if own else "modules", [])

    def import_file_from_notebook(self) -> dict:
        def read():
            header, _ = self.call("import", f"reading {self.notebook_file}", file=self.notebook_file)
            return header

        return self._memo(("notebook import", self._notebook_loaded_at), read)

    # ------------------------------------------------------------ models

    def probe(self, model: ModelSpec) -> ModelProbe:
        """Build the student's class once and find which input shapes it takes (cached, failures too)."""
        cached = self._probes.get(model.name)
        if isinstance(cached, CheckFailed):
            raise cached
        if cached is not None:
            return cached
        try:
            probe = self._probe(model)
        except CheckFailed as failure:
            self._probes[model.name] = failure
            raise
        self._probes[model.name] = probe
        return probe

    def _probe(self, model: ModelSpec) -> ModelProbe:
        ref = {"file": self.defining_file(model), "class": model.name, "seed": 0}
        describe, _ = self.call("describe", f"building {model.name}()", ref=ref, model=ref)
        probe = ModelProbe(ref=ref, describe=describe)
        rng = np.random.default_rng(0)
        for shape in model.input_shapes:
            x = rng.random((2, *shape), dtype=np.float32)
            try:
                header, out = self.call("forward", f"running {model.name}.forward", arrays={"in0": x}, model=ref)
            except CheckFailed as failure:
                probe.accepted_shapes[tuple(shape)] = str(failure)
                if "did not finish within" in str(failure):
                    self._hung[model.name] = f"{model.name}.forward did not return within the time limit"
                    break
                continue
            probe.accepted_shapes[tuple(shape)] = _output_shape(out, x) if out else f"returned {header['kind']}"
            probe.returns_tuple = probe.returns_tuple or (bool(out) and header["kind"] != "tensor")
            if out and probe.input_shape is None:
                probe.input_shape = tuple(shape)
        return probe

    def usable_input_shape(self, model: ModelSpec, part: str = "forward") -> tuple[int, ...]:
        """An input shape the model takes. For checks of the encoder or decoder alone, one the encoder
        takes is enough, so that a broken forward costs only the checks that need forward."""
        probe = self.probe(model)
        if probe.input_shape is not None and model.name not in self._hung:
            return probe.input_shape
        if part in ("encoder", "decoder") and probe.describe["attributes"].get("encoder"):
            shape = self._memo(("encoder shape", model.name), lambda: self._encoder_shape(model))
            if shape is not None:
                return shape
        if model.name in self._hung:
            raise CheckFailed(f"not run: {self._hung[model.name]} earlier")
        tried = "; ".join(f"input {tuple(s)}: {r}" for s, r in probe.accepted_shapes.items())
        raise CheckFailed(f"{model.name}.forward failed for every input shape the handout allows ({tried})")

    def _encoder_shape(self, model: ModelSpec) -> tuple[int, ...] | None:
        x = np.random.default_rng(0).random((2, *model.input_shapes[0]), dtype=np.float32)
        for shape in model.input_shapes:
            try:
                self.call("forward", f"running {model.name}.encoder", arrays={"in0": x.reshape(2, *shape)},
                          model=self.probe(model).ref, part="encoder")
                return tuple(shape)
            except CheckFailed:
                continue
        return None

    def trusted_weight_shapes(self, model: ModelSpec) -> dict[str, list[int]] | None:
        """Tensor shapes of the model's submitted weight file, read in this (trusted) process.

        ``weights_only=True`` unpickles only tensors and plain containers, so a malicious file runs
        nothing; files over the size cap are not read."""
        def read():
            import torch

            present = [name for name in model.weights if self.submission.has(name)]
            if not present or self.scratch_path(present[0]).stat().st_size > TRUSTED_WEIGHTS_BYTES:
                return None
            try:
                state = torch.load(self.scratch_path(present[0]), map_location="cpu", weights_only=True)
            except Exception:  # noqa: BLE001 - an unreadable file is the weight checks' business
                return None
            state, _ = unwrap_state_dict(state, torch.Tensor)
            if state is None:
                return None
            return {key: list(value.shape) for key, value in state.items()}

        return self._memo(("trusted weights", model.name), read)

    def reconstruction_part(self, model: ModelSpec) -> str:
        """How held-out outputs are computed: through encoder and decoder for an autoencoder that has them."""
        attributes = self.probe(model).describe["attributes"]
        if model.code_size and not model.skip_connections and attributes.get("encoder") and attributes.get("decoder"):
            return "decode_encoded"
        return "forward"  # a model with skip connections reconstructs through them, in forward

    def real_images(self, n: int, recipe_name: str | None = None) -> np.ndarray:
        """``n`` held-out images, float32 (n, 1, 28, 28) in [0, 1]."""
        recipe = self.assignment.recipe(recipe_name or next(iter(self.assignment.recipes)))
        return self.task_data(recipe.name).eval_inputs[:n].numpy()

    def as_input(self, images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.ascontiguousarray(images.reshape(len(images), *shape))

    # ------------------------------------------------------------ data and thresholds

    def _memo(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def dataset(self, name: str) -> Dataset:
        """A data set of the assignment's recipes (loaded ahead, in a thread)."""
        loaded = self._datasets.result()
        if name in loaded:
            return loaded[name]
        return self._memo(("dataset", name), lambda: load_dataset(name, self.data_dir))

    def task_data(self, recipe_name: str) -> tasks.TaskData:
        recipe = self.assignment.recipe(recipe_name)
        return self._memo(("task data", recipe_name), lambda: tasks.task_data(recipe, self.dataset(recipe.dataset)))

    def threshold(self, recipe_name: str) -> Threshold:
        return self._memo(("threshold", recipe_name), lambda: self._threshold(recipe_name))

    def _threshold(self, recipe_name: str) -> Threshold:
        recipe = self.assignment.recipe(recipe_name)
        found = threshold_for(load_thresholds(self.assignment), recipe_name, self.dataset(recipe.dataset))
        if not found.same_data:
            self.notes.append(f"the threshold of {recipe_name} was calibrated on other data ({found.data_key}); "
                              "the most lenient calibrated value is used")
        return found

    def train_timeout(self, recipe_name: str) -> float:
        return TIMEOUT_TRAIN_BASE + TIMEOUT_TRAIN_PER_STEP * self.assignment.recipe(recipe_name).steps

    def calibration(self, recipe_name: str) -> dict:
        """The calibration entry behind the threshold in use (values over seeds, trivial answers)."""
        threshold = self.threshold(recipe_name)
        return load_thresholds(self.assignment)["recipes"][recipe_name][threshold.data_key]

    def add_time(self, stage: str, started: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.monotonic() - started

    def scratch_path(self, name: str) -> Path:
        return self.submission.root / name
