"""Reading calibrated thresholds: the bar for a recipe on the data in use."""

from __future__ import annotations

from dataclasses import dataclass


class MissingThreshold(LookupError):
    """No calibration exists for a recipe."""


@dataclass(frozen=True)
class Threshold:
    recipe: str
    metric: str  # "accuracy", "reconstruction MSE", "ROC AUC"...
    pass_if: str  # "at least" or "at most"
    value: float
    data_key: str  # the data the threshold was calibrated on
    same_data: bool  # False when calibrated on other data than is in use now

    def passes(self, value: float) -> bool:
        return value >= self.value if self.pass_if == "at least" else value <= self.value

    def describe(self) -> str:
        return f"{self.metric} {self.pass_if} {self.value:.4g}"


def threshold_for(table: dict, recipe: str, key: str) -> Threshold:
    """The threshold calibrated on the data named ``key``; else the most lenient one calibrated elsewhere."""
    entries = table.get("recipes", {}).get(recipe)
    if not entries:
        raise MissingThreshold(f"no calibrated threshold for recipe {recipe!r}; run autograder calibrate")
    same = key in entries
    if not same:
        at_least = next(iter(entries.values()))["pass_if"] == "at least"
        key = (min if at_least else max)(entries, key=lambda k: entries[k]["threshold"])
    entry = entries[key]
    return Threshold(recipe, entry["metric"], entry["pass_if"], entry["threshold"], key, same)
