"""The data a submission's checks use, on the trusted side: data sets, each recipe's task data, probe inputs,
and the calibrated thresholds.

Data sets load in a thread while the worker starts. One that is not on this
machine makes the checks that need it "not gradable here" (``NotGradable``);
checks of structure and shapes fall back to seeded random inputs of the
declared shape.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np

from ..answer_key import NoThresholds, calibrate_command, load_thresholds
from ..datasets.declared import DataMissing, ImageData, as_model_input, load_declared
from ..spec import Assignment
from ..tasks import TaskData, task_of
from ..thresholds import MissingThreshold, Threshold, threshold_for
from .outcomes import NotGradable

_loader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="autograder-data")


def used_data(assignment: Assignment) -> list[str]:
    keys = {recipe.data for recipe in assignment.recipes.values()}
    keys |= {subject.data for subject in assignment.subjects.values() if subject.data}
    return sorted(keys)


class DataAccess:
    def __init__(self, assignment: Assignment, data_dir, notes: list[str], staff: list[str]):
        self.assignment, self.data_dir, self.notes, self.staff = assignment, data_dir, notes, staff
        self._cache: dict = {}
        keys = used_data(assignment)
        self._loading = _loader.submit(lambda: {key: self._load(key) for key in keys})

    def _load(self, key: str):
        try:
            return load_declared(self.assignment.data_spec(key), self.data_dir)
        except DataMissing as missing:
            return missing

    def images(self, key: str) -> ImageData:
        """The data set ``key``, prepared as the assignment declares it; NotGradable if it is not here."""
        loaded = self._loading.result()
        if key not in loaded and ("images", key) not in self._cache:
            self._cache[("images", key)] = self._load(key)
        found = loaded[key] if key in loaded else self._cache[("images", key)]
        if isinstance(found, DataMissing):
            raise NotGradable(f"not gradable here: {found}")
        return found

    def available(self, key: str) -> bool:
        try:
            self.images(key)
        except NotGradable:
            return False
        return True

    def task_data(self, recipe_name: str, shape, layout: str) -> TaskData:
        key = ("task", recipe_name, tuple(shape), layout)
        if key not in self._cache:
            recipe = self.assignment.recipe(recipe_name)
            self._cache[key] = task_of(recipe).data(recipe, self.images(recipe.data), tuple(shape), layout)
        return self._cache[key]

    def probe_inputs(self, data_key: str | None, n: int, shape, layout: str, seed: int = 0) -> np.ndarray:
        """``n`` held-out examples as the model takes them; seeded random values in [0, 1) when the data set
        is absent (or not declared), so that checks of structure still run."""
        if data_key is not None:
            try:
                images = self.images(data_key).test_images[:n]
                return as_model_input(images, tuple(shape), layout)
            except (NotGradable, ValueError):
                pass
        return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)

    def threshold(self, recipe_name: str) -> Threshold:
        key = ("threshold", recipe_name)
        if key not in self._cache:
            recipe = self.assignment.recipe(recipe_name)
            images = self.images(recipe.data)
            data_dir = f" --data-dir {self.data_dir}" if self.data_dir else ""
            try:
                found = threshold_for(load_thresholds(self.assignment), recipe_name, images.data_key)
            except NoThresholds as missing:
                if str(missing) not in self.staff:
                    self.staff.append(str(missing))
                raise NotGradable(f"not graded: this assignment has no thresholds yet: run "
                                  f"`{calibrate_command(self.assignment)}{data_dir}` (the instructor's step before "
                                  "grading; no fault of this submission)") from None
            except MissingThreshold:
                raise NotGradable(f"not gradable here: no bar has been calibrated for {recipe_name} on this data "
                                  f"({images.data_key}); the course staff can derive one with "
                                  f"`{calibrate_command(self.assignment)} --recipe {recipe_name}{data_dir}`") from None
            if not found.same_data:
                self.notes.append(f"the threshold of {recipe_name} was calibrated on other data ({found.data_key}); "
                                  "the most lenient calibrated value is used")
            from ..calibration import changed_since

            entry = load_thresholds(self.assignment)["recipes"][recipe_name][found.data_key]
            stale = changed_since(recipe, entry.get("budget", {}))
            if stale:
                self.staff.append(f"recipe {recipe_name} changed since its threshold was calibrated "
                                  f"({', '.join(stale)}): run {calibrate_command(self.assignment)} "
                                  f"--recipe {recipe_name}")
            self._cache[key] = found
        return self._cache[key]

    def calibration(self, recipe_name: str) -> dict:
        """The calibration entry behind the threshold in use (values over seeds, trivial answers)."""
        threshold = self.threshold(recipe_name)
        return load_thresholds(self.assignment)["recipes"][recipe_name][threshold.data_key]
