"""Every ``autograder`` command the README shows is one the command line takes, as written: its subcommand
exists and every option it uses is one that subcommand accepts (parsed, not run)."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from autograder.cli import build_parser
from tests.conftest import ROOT

README = ROOT / "README.md"


def readme_commands() -> list[str]:
    """Each line of the README that runs ``autograder`` (in a code block or a shell session), without its
    comment, its optional ``[...]`` parts and what follows a ``;``."""
    found, fenced = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        text = line.strip()
        in_code = fenced or line.startswith("    ")  # a fenced or an indented code block, not prose
        if not in_code or not text.startswith("autograder ") or "`" in text:
            continue
        text = text.split("  #")[0].split(" # ")[0].split(";")[0]
        text = re.sub(r"\[[^\]]*\]", "", text).replace("...", "")
        found.append(" ".join(text.split()))
    return found


def test_the_readme_shows_commands():
    commands = readme_commands()
    assert len(commands) >= 20 and any(c.startswith("autograder grade ") for c in commands)


@pytest.mark.parametrize("command", readme_commands())
def test_each_command_in_the_readme_parses_as_written(command, monkeypatch):
    parser = build_parser()

    def refuse(message):
        raise AssertionError(f"{command!r}: {message}")

    monkeypatch.setattr(argparse.ArgumentParser, "error", lambda self, message: refuse(message))
    parser.parse_args(shlex.split(command)[1:])
