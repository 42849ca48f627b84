"""What a check is given besides its measurement: the subject's name and the check's expectation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expected:
    name: str  # the subject, file or variable, as students write it
    options: dict = field(default_factory=dict)  # the check's expectation, from the assignment
    problem: str = ""  # the problem as the handout names it, for messages that point to the handout

    def __getitem__(self, key):
        return self.options[key]

    def get(self, key, default=None):
        return self.options.get(key, default)
