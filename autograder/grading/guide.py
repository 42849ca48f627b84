"""The reference part of the authoring guide (``docs/authoring.md``), written from the registry and the
spec's reader so that it cannot go stale: every check type with its options and an example, every key the
reader of ``assignment.toml`` takes.

    python -m autograder.grading.guide docs/authoring.md     # rewrites the part between the markers

``tests/test_authoring_guide.py`` fails when the file differs from what this writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..spec import parse
from .registry import CHECK_TYPES

START, END = "<!-- generated: check types (python -m autograder.grading.guide) -->", "<!-- end of generated -->"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SOURCES = ("reference/*/assignment.toml", "tests/assignments/*/assignment.toml")
TAG_WORDS = {"public": "in student kits", "trains": "trains a model", "bar": "against a calibrated bar",
             "smoke": "a kit's smoke test instead"}


def examples() -> dict[str, str]:
    """Check type -> one line of a bundled assignment that uses it (the first found), as written."""
    found: dict[str, str] = {}
    line = re.compile(r"^\s*([a-z_]+)\s*=\s*(.+)$")
    for pattern in EXAMPLE_SOURCES:
        for toml in sorted(ROOT.glob(pattern)):
            in_checks = False
            for text in toml.read_text().splitlines():
                if text.startswith("["):
                    in_checks = text.rstrip().endswith(".checks]")
                    continue
                match = line.match(text)
                if in_checks and match and match[1] in CHECK_TYPES:
                    found.setdefault(match[1], text.split("  #")[0].strip())
    return found


def _options(kind) -> str:
    shown = [f"`{o}`" + (" (required)" if o in kind.required else "") for o in kind.options]
    return ", ".join(shown) or "none"


def check_type_reference() -> str:
    """A section per check type: what it checks, when it runs, what it applies to, its options, an example."""
    found = examples()
    out = ["### Every check type", "",
           "Each takes the common options `points`, `title`, `hint`, `visibility` (`visible`, `after_due_date`, "
           "`hidden`), `per_variant` and `check` (the type, where the key is another name), and its own below.", ""]
    for name, kind in CHECK_TYPES.items():
        tags = "; ".join(TAG_WORDS[t] for t in sorted(kind.tags)) or "-"
        example = found.get(name) or f"{name} = {{ points = 1" + "".join(
            f", {o} = ..." for o in kind.required) + " }"
        out += [f"#### `{name}`", "",
                f"- checks: {kind.title}",
                f"- stage: {kind.stage}; applies to subjects of kind {', '.join(kind.kinds)}"
                + ("; measures every variant of a sweep at once" if kind.sweep else ""),
                f"- options: {_options(kind)}",
                f"- tags: {tags}",
                f"- example: `{example}`", ""]
    return "\n".join(out).rstrip() + "\n"


def schema_keys() -> set[str]:
    """Every key the reader of ``assignment.toml`` asks for, in any table, found by reading every bundled
    assignment with a reader that notes each key asked for (present or not)."""
    asked: set[str] = set()
    original = parse.Table.get

    def noting(self, key, *args, **kwargs):
        asked.add(key)
        return original(self, key, *args, **kwargs)

    parse.Table.get = noting
    try:
        for pattern in EXAMPLE_SOURCES:
            for toml in sorted(ROOT.glob(pattern)):
                parse.parse_assignment(toml)
    finally:
        parse.Table.get = original
    return asked


def recipe_keys() -> list[str]:
    """The keys of a ``[recipes.NAME]`` table: the fields of a recipe (its name is the table's)."""
    import dataclasses

    from ..common.recipes import Recipe

    return [f.name for f in dataclasses.fields(Recipe) if f.name != "name"]


def key_reference() -> str:
    keys = sorted(schema_keys())
    return ("### Every key\n\nThe keys the reader of `assignment.toml` takes, in some table (each is explained "
            "where its table is, above):\n\n" + ", ".join(f"`{k}`" for k in keys) + ".\n\nThe keys of a recipe "
            "(`[recipes.NAME]`):\n\n" + ", ".join(f"`{k}`" for k in recipe_keys()) + ".\n")


def generated() -> str:
    return f"{START}\n\n{check_type_reference()}\n{key_reference()}\n{END}"


def rewrite(path: Path) -> bool:
    """Replace the generated part of ``path``; True when it changed."""
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path}: the markers {START} ... {END} are missing")
    new = text[:text.index(START)] + generated() + text[text.index(END) + len(END):]
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "authoring.md")
    print(f"{target}: {'rewritten' if rewrite(target) else 'up to date'}")
