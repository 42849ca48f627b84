"""Training recipes: what the grader trains a model with, counted in optimizer steps and samples.

A recipe never mentions seconds: the same recipe gives the same verdict on a
fast machine and a slow one. It is plain data, read from an assignment's
``assignment.toml``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

TASKS = ("reconstruct", "denoise", "classify")
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str  # "reconstruct": input -> input; "denoise": noisy input -> clean input; "classify"
    dataset: str  # a name the data layer knows
    steps: int  # optimizer steps
    batch_size: int
    optimizer: str
    lr: float
    momentum: float = 0.0
    train_samples: int = 0  # 0: the whole training split; else a seeded subset of this size
    eval_samples: int = 0  # 0: the whole test split; else a seeded subset of this size
    noise_std: float = 0.0  # standard deviation of the Gaussian input noise ("denoise")
    description: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"recipe {self.name}: task must be one of {TASKS}, not {self.task!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"recipe {self.name}: optimizer must be one of {OPTIMIZERS}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"recipe {self.name}: steps and batch_size must be positive")
        if (self.task == "denoise") != (self.noise_std > 0):
            raise ValueError(f"recipe {self.name}: noise_std > 0 exactly when the task is 'denoise'")

    @property
    def samples_seen(self) -> int:
        return self.steps * self.batch_size

    def budget(self) -> str:
        return f"{self.steps} steps of {self.batch_size} ({self.samples_seen} samples)"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, name: str, data: dict) -> Recipe:
        data = dict(data)
        if "noise_variance" in data:  # N(0, v) written with the variance
            data["noise_std"] = math.sqrt(data.pop("noise_variance"))
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"recipe {name}: unknown keys {sorted(unknown)}")
        return cls(name=name, **data)
