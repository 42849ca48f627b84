"""Which packages the distribution holds: the engine always; the answer key (``reference``) unless
``AUTOGRADER_WITHOUT_ANSWER_KEY`` is set, as it is for the wheel students install with their self-check kit
(``autograder student-kit``): solutions, thresholds and written answers never reach them. Everything else is
in pyproject.toml."""

import os

from setuptools import find_namespace_packages, setup

WITHOUT_ANSWER_KEY = os.environ.get("AUTOGRADER_WITHOUT_ANSWER_KEY", "") not in ("", "0")
INCLUDE = ["autograder*"] if WITHOUT_ANSWER_KEY else ["autograder*", "reference*"]
setup(packages=find_namespace_packages(include=INCLUDE, exclude=["*__pycache__*"]))
