"""The answer key: one package per assignment, each describing itself in ``assignment.toml``."""
