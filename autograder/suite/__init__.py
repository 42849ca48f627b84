"""The grading suite as pytest tests: ``pytest --pyargs autograder.suite --submission PATH``."""
