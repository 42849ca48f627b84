"""Problem headings of a notebook's markdown: read in the forms the examples use, written in other forms.

A parser of its own (not the engine's): it reads ``**Solution to Problem 1 Part (a)**``, ``## Problem 1: ...``,
``#### Problem 1 (f) (g) Solution``, ``## Exercise 2 - CNN Classifier``, ``### Task 1`` (a task of the exercise
above it), ``### Problem 4.2``, ``### 4.1``, ``## Problem 2 (b) Run on ...``, and every form of ``FORMS``. A
heading is a markdown heading line, a line that starts emphasised (bold, ``<h3>``, ``<font>``), or a line that is
nothing but a problem's name; a paragraph that starts with "Problem 5.1" and goes on is not one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .cells import source_of, with_source

WORDS = {"problem": "problem", "question": "problem", "exercise": "exercise", "task": "task"}
_NUMBER = r"\d+(?:\.\d+)*"
_NAMED = re.compile(rf"^(?:solution\s+(?:to|for|of)\s+)?(?P<word>problem|question|exercise|task)\s+"
                    rf"(?P<number>{_NUMBER})(?P<rest>.*)$", re.IGNORECASE)
_BARE = re.compile(rf"^(?P<number>{_NUMBER})(?P<rest>(?:\s*\(\s*[a-z]\s*\))*)\.?(?P<title>(?:[\s:\-–—].*)?)$")
_PART = re.compile(r"^\s*(?:,|(?i:and)|&)?\s*(?i:parts?\s*)?"
                   r"(?:\(\s*(?P<a>[a-z])\s*\)|(?P<b>[a-z])\)|(?:\d+)?\.(?P<c>[a-z])(?!\w))")
_PART_NUMBER = re.compile(r"^\s*,?\s*part\s+(?P<sub>\d+)\b", re.IGNORECASE)
_TASK_OF = re.compile(r"^\s*,?\s*task\s+(?P<task>\d+)\b", re.IGNORECASE)
_PART_OF = re.compile(r"^parts?\s*(?P<parts>(?:\(\s*[a-z]\s*\)(?:\s*(?:,|and|&)\s*(?:part\s*)?)?)+)\s+of\s+"
                      rf"(?:problem|question)\s+(?P<number>{_NUMBER})$", re.IGNORECASE)
_NUMBER_OF = re.compile(r"^part\s+(?P<sub>\d+)\s+of\s+(?:problem|question)\s+(?P<number>\d+)$", re.IGNORECASE)
_TASK_OF_EXERCISE = re.compile(r"^task\s+(?P<task>\d+)\s+of\s+exercise\s+(?P<number>\d+)$", re.IGNORECASE)
_ANSWER = re.compile(rf"^answer\s+(?P<number>{_NUMBER})(?P<parts>(?:\.[a-z](?:\s*(?:,|and)\s*\d+)?)*)$",
                     re.IGNORECASE)
_TAGS = re.compile(r"</?(?:font|h\d|b|strong|span|u|em|i)\b[^>]*>", re.IGNORECASE)
_EMPHASIS = re.compile(r"^(?:\*\*|__|<(?:h\d|font|b|strong)\b)", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*(?:[:\-–—.,]\s*)?")
_TITLED = re.compile(r"^\s*(?:solution\b)?\s*[:\-–—]")  # a title after a colon or a dash


@dataclass(frozen=True)
class Heading:
    """A problem heading: where it is and what it names."""

    cell: int
    line: int  # index of the line in the cell
    kind: str  # problem, exercise, task
    number: str  # "1", "4.2"; a task's own number ("1", or "2.1" when written whole)
    parts: tuple[str, ...] = ()
    title: str = ""
    within: str | None = None  # a task's exercise

    @property
    def problems(self) -> tuple[str, ...]:
        """What the heading names, as the assignment numbers problems: ("1f", "1g"), ("4.2",), ("2.1",)."""
        if self.kind == "task" and self.within and "." not in self.number:
            return (f"{self.within}.{self.number}",)
        return tuple(f"{self.number}{p}" for p in self.parts) or (self.number,)

    @property
    def top(self) -> bool:
        """A whole problem or exercise (a section above parts and tasks)."""
        return self.kind == "exercise" or (self.kind == "problem" and not self.parts and "." not in self.number)


def _clean(text: str) -> tuple[int, bool, str]:
    """(markdown heading level, starts emphasised, the text without markup and leading symbols)."""
    stripped = text.strip()
    level = len(stripped) - len(stripped.lstrip("#"))
    stripped = stripped.lstrip("#").strip()
    emphasised = bool(_EMPHASIS.match(stripped))
    plain = _TAGS.sub("", stripped).replace("**", "").replace("__", "")
    plain = re.sub(r"^[^\w(]+", "", plain.strip()).strip()
    return level, emphasised, plain


def _parts(rest: str) -> tuple[tuple[str, ...], str]:
    parts = []
    while match := _PART.match(rest):
        parts.append(match["a"] or match["b"] or match["c"])
        rest = rest[match.end():]
    return tuple(parts), rest


def _title(rest: str) -> str:
    rest = re.sub(r"^\s*solution\b", "", rest.strip(), flags=re.IGNORECASE)
    return _SEPARATOR.sub("", rest, count=1).strip()


def read_line(text: str) -> dict | None:
    """What one markdown line names, if it is a heading: {kind, number, parts, title, within?}."""
    level, emphasised, plain = _clean(text)
    if not plain:
        return None
    for pattern in (_PART_OF, _NUMBER_OF, _TASK_OF_EXERCISE, _ANSWER):
        if match := pattern.match(plain):
            return _whole_line(pattern, match)
    if match := _NAMED.match(plain):
        found, rest = _named(match)
        if found["title"] and not (level or emphasised) and not _TITLED.match(rest):
            return None  # a paragraph that begins with a problem's name ("Problem 5.1 A bottleneck ...")
        return found
    if level and (match := _BARE.match(plain)):
        title = _SEPARATOR.sub("", match["title"], count=1).strip()
        inner = read_line(title) if title else None
        if inner is not None:  # "### 2.4 Problem 1 (d)": a section number, then the heading
            return inner
        parts, _ = _parts(match["rest"])
        if "." not in match["number"] and not parts and not re.match(r"^\s*[:\-–—]\s*\S", match["title"]):
            return None  # "## 2." alone: an item of whatever is above it, not a problem
        return {"kind": "problem", "number": match["number"], "parts": parts, "title": _title(title)}
    return None


def _whole_line(pattern, match) -> dict:
    if pattern is _PART_OF:
        return {"kind": "problem", "number": match["number"], "parts": tuple(re.findall(r"\(\s*([a-z])\s*\)",
                                                                                       match["parts"])), "title": ""}
    if pattern is _NUMBER_OF:
        return {"kind": "problem", "number": f"{match['number']}.{match['sub']}", "parts": (), "title": ""}
    if pattern is _TASK_OF_EXERCISE:
        return {"kind": "task", "number": match["task"], "parts": (), "title": "", "within": match["number"]}
    return {"kind": "problem", "number": match["number"], "parts": tuple(re.findall(r"\.([a-z])", match["parts"])),
            "title": ""}


def _named(match) -> tuple[dict, str]:
    """The heading, and the text after its name (where a title would be)."""
    kind, number, rest = WORDS[match["word"].lower()], match["number"], match["rest"]
    if kind == "exercise" and (task := _TASK_OF.match(rest)):
        rest = rest[task.end():]
        return {"kind": "task", "number": task["task"], "parts": (), "title": _title(rest), "within": number}, rest
    if kind == "problem" and (sub := _PART_NUMBER.match(rest)):
        rest = rest[sub.end():]
        return {"kind": "problem", "number": f"{number}.{sub['sub']}", "parts": (), "title": _title(rest)}, rest
    parts, rest = _parts(rest)
    return {"kind": kind, "number": number, "parts": parts, "title": _title(rest)}, rest


def read_headings(notebook: dict) -> list[Heading]:
    """Every problem heading of the notebook's markdown, in order; a task knows the exercise above it."""
    found, within = [], None
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for line_index, line in enumerate(source_of(cell).splitlines()):
            entry = read_line(line)
            if entry is None:
                continue
            if entry["kind"] == "task":
                entry.setdefault("within", within)
            elif entry["kind"] == "exercise" or (not entry["parts"] and "." not in entry["number"]):
                within = entry["number"]
            found.append(Heading(index, line_index, **entry))
    return found


# ---------------------------------------------------------------- forms


def _colon(title: str) -> str:
    return f": {title}" if title else ""


def _dash(title: str) -> str:
    return f" - {title}" if title else ""


def _spaced(h: Heading) -> str:
    return "".join(f" ({p})" for p in h.parts)


def _tight(h: Heading) -> str:
    return "".join(f"({p})" for p in h.parts)


def _rel(h: Heading) -> str:
    return h.number.rsplit(".", 1)[-1]


def _exercise(h: Heading) -> str:
    return h.within or h.number.rsplit(".", 1)[0]


def _whole(h: Heading) -> str:
    return h.problems[0] if h.kind == "task" else h.number


@dataclass(frozen=True)
class Form:
    """A way of writing every kind of heading: an exercise, a task, a whole problem, parts of one, a numbered
    sub-problem (4.2). ``sections`` = (section, subsection) numbers, for the numbered forms."""

    name: str
    exercise: Callable[[Heading, tuple], str]
    task: Callable[[Heading, tuple], str]
    top: Callable[[Heading, tuple], str]
    parts: Callable[[Heading, tuple], str]
    dotted: Callable[[Heading, tuple], str]

    def write(self, h: Heading, sections: tuple[int, int]) -> str:
        if h.kind == "exercise":
            return self.exercise(h, sections)
        if h.kind == "task":
            return self.task(h, sections)
        if h.top:
            return self.top(h, sections)
        return (self.parts if h.parts else self.dotted)(h, sections)


FORMS = [
    Form("font-solution",
         lambda h, s: f"<font color='red'>**Exercise {h.number}{_colon(h.title)}**</font>",
         lambda h, s: f"<font color='red'>**Solution to Task {_rel(h)}**</font>",
         lambda h, s: f"<font color='red'>**Problem {h.number}{_colon(h.title)}**</font>",
         lambda h, s: "<font color='red'>**Solution to Problem {} {}**</font>".format(
             h.number, " and ".join(f"Part ({p})" for p in h.parts)),
         lambda h, s: f"<font color='red'>**Solution to Problem {h.number}**</font>"),
    Form("hash-compact",
         lambda h, s: f"## {h.number}{_dash(h.title)}" if h.title else f"## Exercise {h.number}",
         lambda h, s: f"### {_whole(h)}",
         lambda h, s: f"## {h.number}{_dash(h.title)}" if h.title else f"## Problem {h.number}",
         lambda h, s: f"### {h.number}{_tight(h)}{_colon(h.title)}",
         lambda h, s: f"### {h.number}{_colon(h.title)}"),
    Form("bold-paren",
         lambda h, s: f"**Exercise {h.number}{_dash(h.title)}**",
         lambda h, s: f"**Task {_rel(h)}**",
         lambda h, s: f"**Problem {h.number}{_colon(h.title)}**",
         lambda h, s: "**Problem {} {}**".format(h.number, " ".join(f"{p})" for p in h.parts)),
         lambda h, s: f"**Problem {h.number}**"),
    Form("part-of",
         lambda h, s: f"Exercise {h.number}{_colon(h.title)}",
         lambda h, s: f"Task {_rel(h)} of Exercise {_exercise(h)}",
         lambda h, s: f"Problem {h.number}{_colon(h.title)}",
         lambda h, s: "{} of Problem {}".format(" and ".join(f"Part ({p})" for p in h.parts), h.number),
         lambda h, s: "Part {1} of Problem {0}".format(*h.number.rsplit(".", 1))),
    Form("answer-dot",
         lambda h, s: f"Exercise {h.number}{_dash(h.title)}",
         lambda h, s: f"Answer {_whole(h)}",
         lambda h, s: f"Problem {h.number}{_dash(h.title)}",
         lambda h, s: "Answer " + ", ".join(f"{h.number}.{p}" for p in h.parts),
         lambda h, s: f"Answer {h.number}"),
    Form("h3",
         lambda h, s: f"<h2>Exercise {h.number}{_colon(h.title)}</h2>",
         lambda h, s: f"<h3>Task {_rel(h)}</h3>",
         lambda h, s: f"<h2>Problem {h.number}{_colon(h.title)}</h2>",
         lambda h, s: f"<h3>Problem {h.number}{_spaced(h)}</h3>",
         lambda h, s: f"<h3>Problem {h.number}</h3>"),
    Form("bold-compact",
         lambda h, s: f"**Exercise {h.number}**{_colon(h.title)}",
         lambda h, s: f"**Task {_whole(h)}**",
         lambda h, s: f"**Problem {h.number}**{_colon(h.title)}",
         lambda h, s: f"**Problem {h.number}{_tight(h)}**",
         lambda h, s: f"**Problem {h.number}**"),
    Form("emoji",
         lambda h, s: f"## ✅ Exercise {h.number}{_colon(h.title)}",
         lambda h, s: f"### ✅ Task {_rel(h)}",
         lambda h, s: f"## ✅ Problem {h.number}{_colon(h.title)}",
         lambda h, s: f"## ✅ Problem {h.number}{_spaced(h)}{_colon(h.title)}",
         lambda h, s: f"## ✅ Problem {h.number}{_colon(h.title)}"),
    Form("numbered",
         lambda h, s: f"## {s[0]} Exercise {h.number}{_colon(h.title)}",
         lambda h, s: f"### {s[0]}.{s[1]} Task {_rel(h)}",
         lambda h, s: f"## {s[0]} Problem {h.number}{_colon(h.title)}",
         lambda h, s: f"### {s[0]}.{s[1]} Problem {h.number}{_spaced(h)}{_colon(h.title)}",
         lambda h, s: f"### {s[0]}.{s[1]} Problem {h.number}{_colon(h.title)}"),
    Form("numbered-task",
         lambda h, s: f"## 1.{s[0]} Exercise {h.number}{_colon(h.title)}",
         lambda h, s: f"### 1.{s[0]}.{s[1]} Task {_rel(h)}",
         lambda h, s: f"## 1.{s[0]} Problem {h.number}{_colon(h.title)}",
         lambda h, s: f"### 1.{s[0]}.{s[1]} Problem {h.number}{_spaced(h)}",
         lambda h, s: f"### 1.{s[0]}.{s[1]} Problem {h.number}"),
    Form("exercise-task",
         lambda h, s: f"### Exercise {h.number}{'. ' + h.title if h.title else ''}",
         lambda h, s: f"#### Exercise {_exercise(h)}, Task {_rel(h)}",
         lambda h, s: f"### Problem {h.number}{'. ' + h.title if h.title else ''}",
         lambda h, s: (f"#### Problem {h.number}, Part ({h.parts[0]})" if len(h.parts) == 1 else
                       "#### Problem {}, Parts {}".format(h.number, " and ".join(f"({p})" for p in h.parts))),
         lambda h, s: "#### Problem {}, Part {}".format(*h.number.rsplit(".", 1))),
    Form("bold-task",
         lambda h, s: f"**Exercise {h.number}{' — ' + h.title if h.title else ''}**",
         lambda h, s: f"**Task {_whole(h)}**",
         lambda h, s: f"**Problem {h.number}{' — ' + h.title if h.title else ''}**",
         lambda h, s: "**Problem {}**".format(", ".join(f"{h.number}.{p}" for p in h.parts)),
         lambda h, s: f"**Problem {h.number}**"),
    Form("h2-exercise",
         lambda h, s: f"<h2>Exercise {h.number}{_colon(h.title)}</h2>",
         lambda h, s: f"<h4>Task {_rel(h)}</h4>",
         lambda h, s: f"<h2>Problem {h.number}{_colon(h.title)}</h2>",
         lambda h, s: f"<h4>Problem {h.number}{_spaced(h)}</h4>",
         lambda h, s: f"<h4>Problem {h.number}</h4>"),
]
HEADING_FORMS: dict[str, Form] = {form.name: form for form in FORMS}


def section_numbers(headings: list[Heading]) -> list[tuple[int, int]]:
    """(section, subsection) of each heading, as a notebook that numbers its headings would: a whole problem or
    an exercise opens a section, a part or a task is the next subsection of it."""
    numbers, section, sub = [], 0, 0
    for h in headings:
        if h.top:
            section, sub = section + 1, 0
        else:
            sub += 1
        numbers.append((max(section, 1), sub))
    return numbers


def rewrite(notebook: dict, choose: Callable[[Heading], Form]) -> dict | None:
    """The notebook with each heading written in the form ``choose`` gives it (the rest of each line's cell
    kept); None when it has no heading."""
    headings = read_headings(notebook)
    if not headings:
        return None
    cells = list(notebook["cells"])
    for h, sections in zip(headings, section_numbers(headings), strict=True):
        lines = source_of(cells[h.cell]).splitlines(keepends=True)
        end = lines[h.line][len(lines[h.line].rstrip("\r\n")):]
        lines[h.line] = choose(h).write(h, sections) + end
        cells[h.cell] = with_source(cells[h.cell], "".join(lines))
    return {**notebook, "cells": cells}

