"""Metamorphic tests of notebook grading: semantics-preserving rewrites of the example notebooks, graded."""
