"""Tools for instructors writing an assignment: ``new-assignment`` drafts an ``assignment.toml`` from a solution."""
