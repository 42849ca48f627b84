"""Training recipes: what the grader trains a model with, counted in optimizer steps and samples.

A recipe never mentions seconds: the same recipe gives the same verdict on a
fast machine and a slow one. It is plain data, read from an assignment's
``assignment.toml`` and sent as a dict to the worker, which trains with it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

TASKS = ("reconstruct", "denoise", "classify", "anomaly")
LOSSES = ("mse", "bce", "cross_entropy", "nll")
DEFAULT_LOSS = {"reconstruct": "mse", "denoise": "mse", "anomaly": "mse", "classify": "cross_entropy"}
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str  # see tasks.py: reconstruct, denoise (noisy in, clean target), classify, anomaly
    data: str  # a data set of the assignment (or of the catalog)
    steps: int  # optimizer steps
    batch_size: int  # 0: the whole training set in every step
    optimizer: str
    lr: float
    loss: str = ""  # mse, bce (on probabilities), cross_entropy (logits or log-probabilities), nll
    momentum: float = 0.0
    eps: float = 1e-8  # Adam's epsilon (Keras' default is 1e-7)
    weight_decay: float = 0.0
    train_samples: int = 0  # 0: the whole training split; else a seeded subset of this size
    eval_samples: int = 0  # 0: the whole test split; else a seeded subset of this size
    noise_std: float = 0.0  # Gaussian input noise ("denoise")
    clip: bool = False  # noisy inputs clipped to [0, 1]
    inlier: list[int] = field(default_factory=list)  # "anomaly": the classes trained on
    heldout: float = 0.2  # "anomaly": share of the inliers kept for scoring
    pca: int = 0  # report the PCA optimum with this many components beside the results
    eval_random: int = 0  # score on this many standard-normal inputs instead of held-out data
    slack: float | None = None  # the threshold's place between the worst seed and the trivial answer (default:
    # the assignment's calibration.slack)
    subject: str = ""  # whose reference calibrates it (default: the first subject with a check naming it)
    kwargs: dict = field(default_factory=dict)  # that subject's arguments, over its own
    description: str = ""
    limit_seconds: float = 0.0  # a safety net on computing (CPU time per worker thread), never on the verdict of
    # a model that finishes; 0: the assignment's [limits] training_base + training_per_step x steps

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"recipe {self.name}: task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if not self.loss:
            object.__setattr__(self, "loss", DEFAULT_LOSS[self.task])
        if self.loss not in LOSSES:
            raise ValueError(f"recipe {self.name}: loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"recipe {self.name}: optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.limit_seconds < 0:
            raise ValueError(f"recipe {self.name}: limit_seconds must be positive (or 0, the default)")
        if self.steps < 1 or self.batch_size < 0:
            raise ValueError(f"recipe {self.name}: steps must be positive and batch_size not negative")
        if (self.task == "denoise") != (self.noise_std > 0):
            raise ValueError(f"recipe {self.name}: noise_std > 0 exactly when the task is 'denoise'")
        if (self.task == "anomaly") != bool(self.inlier):
            raise ValueError(f"recipe {self.name}: 'inlier' (the classes trained on) exactly when the task is "
                             "'anomaly'")

    def budget(self) -> str:
        batch = "the whole training set" if self.batch_size == 0 else f"{self.batch_size}"
        return f"{self.steps} steps of {batch}" + (f" ({self.steps * self.batch_size} samples)"
                                                  if self.batch_size else "")

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
            raise ValueError(f"recipe {name}: unknown keys {sorted(unknown)}; known: {', '.join(sorted(known))}")
        return cls(name=name, **data)
