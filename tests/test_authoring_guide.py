"""The authoring guide (docs/authoring.md) names every check type and every key, and its generated part is
what the registry and the reader say today."""

from __future__ import annotations

from pathlib import Path

from autograder.grading import guide
from autograder.grading.registry import CHECK_TYPES

DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"


def test_the_generated_part_is_what_the_registry_and_the_reader_say_today():
    text = DOC.read_text()
    start, end = text.index(guide.START), text.index(guide.END) + len(guide.END)
    assert text[start:end] == guide.generated(), \
        "docs/authoring.md is stale: run python -m autograder.grading.guide docs/authoring.md"


def test_every_check_type_has_its_section_with_options_and_an_example():
    text = DOC.read_text()
    for name, kind in CHECK_TYPES.items():
        section = text.split(f"#### `{name}`\n", 1)[1].split("####", 1)[0]
        assert "- example: `" in section and all(f"`{o}`" in section for o in kind.options), name


def test_every_key_the_reader_takes_is_in_the_guide():
    text = DOC.read_text()
    keys = guide.schema_keys() | set(guide.recipe_keys())
    assert {"id", "problem_label", "aliases", "argument_aliases", "steps", "limits"} <= keys
    assert not [key for key in keys if f"`{key}`" not in text]


def test_the_reader_is_left_as_it_was_after_the_keys_are_noted():
    from autograder.spec import parse

    before = parse.Table.get
    guide.schema_keys()
    assert parse.Table.get is before
