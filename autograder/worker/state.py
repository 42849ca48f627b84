"""What one worker holds while it answers the grader: the submission's imported files (or its notebook's
definitions and roles), and how a failure of the student's code is told apart from the worker's own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import keras_fit
from .importer import describe_exception, import_student_file


class StudentError(Exception):
    """The student's code failed; carries the description for the trusted side."""

    def __init__(self, where: str, error: BaseException, root: Path):
        super().__init__(where)
        self.info = {"where": where, **describe_exception(error, root)}


@dataclass
class WorkerState:
    root: Path  # the scratch copy of the submission
    device: torch.device
    modules: dict = field(default_factory=dict)  # file -> ImportOutcome
    histories: dict = field(default_factory=dict)  # source -> {name: [(cell, value), ...]} (a notebook)
    roles: dict = field(default_factory=dict)  # source -> notebook_roles.Roles (a notebook)

    def outcome(self, file: str):
        if file not in self.modules:
            path = (self.root / file).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                raise FileNotFoundError(file)
            self.modules[file] = import_student_file(path, self.root)
        return self.modules[file]

    def history(self, source: str, name: str) -> list:
        if source in self.histories:
            return self.histories[source].get(name, [])
        module = self.outcome(source).module
        return [(None, vars(module)[name])] if module is not None and name in vars(module) else []

    def name_of(self, source: str, value) -> str | None:
        """The name the source binds ``value`` to (``models[3]`` inside a list or dict), or bound it to in a cell
        before a later one bound the name again; None when it never had one."""
        for name, values in self.histories.get(source, {}).items():
            if any(held is value for _, held in values) and not name.startswith("_"):
                return name
        module = self.outcome(source).module
        namespace = vars(module) if module is not None else {}
        for name, held in namespace.items():
            if held is value and not name.startswith("_"):
                return name
        for name, held in namespace.items():
            if name.startswith("_") or not isinstance(held, (list, tuple, dict)) or len(held) > 1000:
                continue
            items = held.items() if isinstance(held, dict) else enumerate(held)
            for key, item in items:
                if item is value:
                    return f"{name}[{key!r}]"
        return None

    def fits(self, source: str):
        if source not in self.histories:
            self.outcome(source)  # importing the file records the fit calls it makes
        return keras_fit.capture or keras_fit.FitCapture(0)

    def student(self, where: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException as error:  # student code: anything may come out
            raise StudentError(where, error, self.root) from None
