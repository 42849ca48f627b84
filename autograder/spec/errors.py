"""The one error an assignment's data can raise."""


class SpecError(ValueError):
    """An assignment.toml that does not say what the engine needs; the message names the key."""
