"""The problems a line of a notebook's markdown names, read as a TA reads a heading.

A handout may prescribe its own form (``<font color='red'>**Solution to
Problem 1 Part (d)**</font>``) and students vary it freely; all of these name
Problem 1 (d)::

    ## Problem 1 (d)          **Problem 1 d)**          ### 1(d)
    Part (d) of Problem 1     Answer 1.d                <h3>Problem 1 (d)</h3>
    ## ✅ Problem 1 (d)        ### 2.4 Problem 1 (d)     Q1(d)

A heading may name several parts (``Problem 3 (a) (b) Solution``,
``Part (f) and Part (g)``), a task within the exercise above it (``### 1.2.1
Task 1`` under ``## Exercise 2`` is task 2.1), or only a part of the problem
above it (``### (d)``). Words start a marker anywhere a line starts ("Problem
5.1 A bottleneck..."); a bare number or part letter counts only in a heading
(``#`` or a line that is all emphasis or HTML), so that prose such as "**2.**
With padding p..." is not read as a problem.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = r"(?:problem|prob|question|exercise|exercice|aufgabe|task)"
_SHORT = r"(?:q|p|ex)(?=\s?\d)"  # Q1, P3, Ex 2
_PREFIX = r"(?:(?:solutions?|answers?|ans|sol|soln)\b\s*(?:(?:to|for|of)\b)?\s*[:.\-]?\s*)"
_NUMBER = r"(?P<number>\d+(?:\.\d+)*)"
_PART = r"(?-i:[a-z])"
# one part after a number: "(d)", "part (d)", "part d", ".d", "d)", "d" attached ("1d", "4.2b")
_PART_AFTER = re.compile(
    rf"\s*,?\s*(?:part\s*)?\(\s*(?P<p1>{_PART})\s*\)"
    rf"|\s*,?\s*part\s+(?P<p2>{_PART})\b"
    rf"|\.(?P<p3>{_PART})(?![\w])"
    rf"|\s?(?P<p4>{_PART})\)"
    rf"|(?P<p5>{_PART})(?=$|[\s:.,)\-])"
    rf"|\s(?P<p6>{_PART})(?=$|[:.,)]|\s*-\s)",
    re.IGNORECASE,
)
# further parts: "(a) (b)", "(a), (b)", "(f) and (g)", "Part (f) and Part (g)", "(a)-(c)"
_MORE_PARTS = re.compile(
    rf"\s*(?P<sep>,|and|&|/|\+|-|–|to)?\s*(?:part\s*)?\(\s*(?P<part>{_PART})\s*\)"
    rf"|\s*(?:,|and|&)\s*part\s+(?P<bare>{_PART})\b",
    re.IGNORECASE,
)
_KEYWORD = re.compile(rf"^{_PREFIX}?(?P<word>{_WORD}|{_SHORT})\s*[#.]?\s*{_NUMBER}", re.IGNORECASE)
_ANSWER_NUMBER = re.compile(rf"^(?:solutions?|answers?|ans|sol|soln)\b\s*(?:(?:to|for|of)\b)?\s*{_NUMBER}",
                            re.IGNORECASE)  # "Answer 1.d", never "Answer: 64"
_PART_OF = re.compile(
    rf"^{_PREFIX}?part\s*\(?\s*(?P<part>{_PART})\s*\)?\s+(?:of|in|for)\s+(?:{_WORD}|{_SHORT})\s*{_NUMBER}",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(rf"^{_NUMBER}")
_TASK_OF = re.compile(r"^task\s*(?P<task>\d+)\s+(?:of|in)\s+(?:exercise|problem)\s*(?P<exercise>\d+)", re.IGNORECASE)
_BARE_PART = re.compile(rf"^(?:{_PREFIX})?(?:part\s*)?\(\s*(?P<part>{_PART})\s*\)(?=$|[\s:.\-])"
                        rf"|^part\s+(?P<bare>{_PART})(?=$|[\s:.\-])", re.IGNORECASE)
_TASK_WITHIN = re.compile(r"^\s*[,:\-–]?\s*task\s*(?P<task>\d+)", re.IGNORECASE)
_NUMBERING = re.compile(rf"^\d+(?:\.\d+)*\.?\s+(?={_PREFIX}|{_WORD}|part\b)", re.IGNORECASE)
_BONUS = re.compile(rf"^{_PREFIX}?bonus\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_EMPHASISED = re.compile(r"^\s*(?:\*\*|__|\*|_|<[^>]+>)+.*?(?:\*\*|__|\*|_|</[^>]+>)+[\s:.]*$")


def plain(line: str) -> str:
    """The line as read: HTML tags, emphasis, escapes, heading marks, bullets and symbols (emoji, arrows) gone."""
    text = _TAG.sub(" ", line).replace("\\", "")
    text = re.sub(r"\*+|(?<!\w)__?|__?(?!\w)|`+|~~", " ", text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("S", "C")) or ch in "+=<>")
    text = re.sub(r"^[\s#>\-+]*", "", text)
    return re.sub(r"\s+", " ", text).strip()


def heading_like(line: str) -> bool:
    """A markdown heading, or a line that is all emphasis or HTML (``**1 (d)**``, ``<h3>1 (d)</h3>``)."""
    stripped = line.strip()
    return stripped.startswith("#") or bool(_EMPHASISED.match(stripped))


def _parts(rest: str, first: str | None = None) -> tuple[list[str], str]:
    """The part letters at the start of ``rest`` (after ``first``, when one was read already) and what follows."""
    if first is None:
        match = _PART_AFTER.match(rest)
        if not match:
            return [], rest
        first, rest = next(v for v in match.groupdict().values() if v), rest[match.end():]
    parts = [first.lower()]
    while more := _MORE_PARTS.match(rest):
        part = (more["part"] or more["bare"]).lower()
        if more["sep"] in ("-", "–", "to") and part > parts[-1]:
            parts += [chr(c) for c in range(ord(parts[-1]) + 1, ord(part))]  # (a)-(c): a, b, c
        parts.append(part)
        rest = rest[more.end():]
    return parts, rest


def _keys(number: str, parts: list[str]) -> list[str]:
    return [number + part for part in parts] if parts else [number]


Within = tuple  # (the exercise a "Task M" belongs to, the problem a bare "(d)" belongs to)


def line_markers(line: str, within: Within = (None, None), titled_numbers: bool = True) -> tuple[list[str], Within]:
    """The problems a line names (normalised keys: '1d', '3.1', '2a'), and what later lines are within.
    ``titled_numbers``: a heading that is a number and a title ("## 2. Convolutional autoencoders") names problem
    2; in a notebook whose headings name problems in words, such a heading is a step within one ("### 1. Load the
    data") and names nothing."""
    text = plain(line)
    if not text:
        return [], within
    exercise, problem = within
    heading = heading_like(line)
    text = _NUMBERING.sub("", text)
    if _BONUS.match(text):
        return ["bonus"], within
    if match := _PART_OF.match(text):
        return [match["number"] + match["part"].lower()], (None, match["number"])
    if match := _TASK_OF.match(text):
        return [f"{match['exercise']}.{match['task']}"], (match["exercise"], f"{match['exercise']}.{match['task']}")
    match = _KEYWORD.match(text) or _ANSWER_NUMBER.match(text) or (_BARE_NUMBER.match(text) if heading else None)
    if match:
        number, rest = match["number"], text[match.end():]
        word = (match.groupdict().get("word") or "").lower()
        if word == "task":
            if exercise and "." not in number:
                number = f"{exercise}.{number}"  # Task M of the exercise above
            parts, _ = _parts(rest)
            return _keys(number, parts), (exercise, number)
        parts, after = _parts(rest)
        if match.re is _ANSWER_NUMBER and not parts and not heading and "." not in number:
            return [], within  # "Answer 64 neurons": an answer, not a heading ("Answer 3.4" is one)
        if not parts and (task := _TASK_WITHIN.match(rest)):
            key = f"{number}.{task['task']}"  # "Exercise 2, Task 1"
            return [key], (number, key)
        if match.re is _BARE_NUMBER and not parts and after.strip() and not re.match(r"^\s*[:.\-–)]", after):
            return [], within  # "## 1 Machine Learning Essentials": a number, then words, is not a problem
        if match.re is _BARE_NUMBER and not parts and "." not in number and not titled_numbers and \
                re.sub(r"^[\s.:)\-–]*", "", after):
            return [], within  # "### 1. Load the data" in a notebook of "Problem N" headings: a step
        if match.re is _BARE_NUMBER and not parts and exercise and "." not in number and \
                re.fullmatch(r"[\s.:)]*", after):
            key = f"{exercise}.{number}"  # "## 2." under "## Exercise 1": its second question, 1.2
            return [key], (exercise, key)
        top = number.split(".")[0]  # "Answer 3.3" is within exercise 3: a "Task 4" after it is 3.4
        return _keys(number, parts), (top if not parts or "." in number else exercise, number)
    if heading and problem and (match := _BARE_PART.match(text)):
        parts, _ = _parts(text[match.end():], match["part"] or match["bare"])
        return _keys(problem, parts), within
    return [], within


def worded(line: str) -> bool:
    """The line names a problem in words ("Problem 2", "Task 1", "Part (d) of Problem 1", "Answer 1.d")."""
    text = _NUMBERING.sub("", plain(line))
    return bool(_KEYWORD.match(text) or _PART_OF.match(text) or _TASK_OF.match(text) or
                (_ANSWER_NUMBER.match(text) and line_markers(line)[0]))


def markers(text: str, within: Within = (None, None), titled_numbers: bool = True) -> tuple[list[str], Within]:
    """The problems a markdown cell names (those of its last line that names any), and the problem later
    cells are within (``titled_numbers``: see ``line_markers``)."""
    found: list[str] = []
    for line in text.splitlines():
        keys, within = line_markers(line, within, titled_numbers)
        if keys:
            found = keys
    return found, within
