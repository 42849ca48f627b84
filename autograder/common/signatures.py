"""Matching the arguments a handout declares with the parameters a student's constructor takes.

A handout says ``autoencoderMLP4Layer(N_bottleneck=8)``; a correct submission may write
``def __init__(self, n_bottleneck)``, ``def __init__(self, bottleneck)`` or ``def __init__(self, width)``.
Each declared keyword goes to the parameter of the same name; else to the one equal to it up to case and
``_``; else to one the assignment declares as its alias (``argument_aliases``); and where none of the
declared keywords has a parameter of its name, a constructor that takes exactly as many required positional
parameters as the handout declares arguments gets them by position, in the order the handout declares them.

Plain functions over plain data: the worker describes a callable's parameters (``parameters_of``) and maps
the call it makes (``map_arguments``); the trusted side reads the same descriptions from an import's outcome
to find a class that can be the subject (``takes_arguments``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

POSITIONAL = ("positional_only", "positional_or_keyword")
BY_KEYWORD = ("positional_or_keyword", "keyword_only")
KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def loose(name: str) -> str:
    """A name as compared with another: ``N_bottleneck``, ``n_bottleneck`` and ``nBottleneck`` are one."""
    return str(name).replace("_", "").lower()


def parameters_of(function) -> list[dict] | None:
    """``[{"name", "kind", "required"}]`` of a callable (a class: its constructor's, without ``self``); None
    when Python cannot tell."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [{"name": p.name[:100], "kind": KINDS[p.kind], "required": p.default is inspect.Parameter.empty
             and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
            for p in list(signature.parameters.values())[:64]]


@dataclass(frozen=True)
class Mapping:
    """Where each declared keyword goes: a parameter's name, or a position (after the declared positional
    arguments); ``changed`` lists ``(declared, parameter, how)`` for those not passed under their own name."""

    keywords: dict = field(default_factory=dict)  # declared -> the parameter's name
    by_position: tuple[str, ...] = ()  # declared keywords passed by position, in order
    changed: tuple[tuple[str, str, str], ...] = ()  # (declared, parameter, "case" | "alias" | "position")


def _by_name(declared: str, names: list[str], aliases: dict) -> tuple[str, str] | None:
    if declared in names:
        return declared, "same"
    close = [n for n in names if loose(n) == loose(declared)]
    if len(close) == 1:
        return close[0], "case"
    accepted = {loose(a) for a in aliases.get(declared, ())}
    named = [n for n in names if loose(n) in accepted]
    return (named[0], "alias") if len(named) == 1 else None


def map_keywords(parameters: list[dict] | None, positional: int, keywords: list[str],
                 aliases: dict | None = None, complete: bool = True) -> Mapping | None:
    """How a callable with ``parameters`` takes ``positional`` arguments and the declared ``keywords``; None
    when it cannot (a keyword with no parameter to go to, or, ``complete``, a required parameter left without
    a value)."""
    if parameters is None:
        return None
    aliases = aliases or {}
    positional_names = [p["name"] for p in parameters if p["kind"] in POSITIONAL]
    taken = positional_names[:positional]
    names = [p["name"] for p in parameters if p["kind"] in BY_KEYWORD and p["name"] not in taken]
    varargs = any(p["kind"] == "var_keyword" for p in parameters)
    found = {k: _by_name(k, names, aliases) for k in keywords}
    if keywords and not any(found.values()) and not varargs:
        return _by_position(parameters, positional, keywords)
    mapped, changed = {}, []
    for declared, match in found.items():
        if match is None and not varargs:
            return None
        mapped[declared] = match[0] if match else declared
        if match and match[1] != "same":
            changed.append((declared, match[0], match[1]))
    if len(set(mapped.values())) < len(mapped):
        return None
    if complete and _left_out(parameters, positional, set(taken) | set(mapped.values())):
        return None
    return Mapping(mapped, (), tuple(changed))


def _left_out(parameters: list[dict], positional: int, covered: set) -> bool:
    """A required parameter would get no value."""
    named = any(p["required"] and p["name"] not in covered for p in parameters if p["kind"] != "positional_only")
    return named or sum(p["required"] for p in parameters if p["kind"] == "positional_only") > positional


def _by_position(parameters: list[dict], positional: int, keywords: list[str]) -> Mapping | None:
    required = [p for p in parameters if p["kind"] in POSITIONAL and p["required"]]
    if len(required) != positional + len(keywords) or any(p["required"] for p in parameters
                                                          if p["kind"] == "keyword_only"):
        return None
    names = [p["name"] for p in required[positional:]]
    return Mapping({}, tuple(keywords), tuple((k, n, "position") for k, n in zip(keywords, names, strict=True)))


def takes_arguments(parameters: list[dict] | None, positional: int, keywords: list[str],
                    aliases: dict | None = None) -> bool:
    """A callable with ``parameters`` can be called with the declared arguments."""
    return map_keywords(parameters, positional, keywords, aliases) is not None


def map_arguments(function, args: list, kwargs: dict, aliases: dict | None = None) -> tuple[list, dict, Mapping]:
    """The call to make: ``args`` and ``kwargs`` with each declared keyword under the parameter it maps to (or
    by position); unchanged, with an empty mapping, where the parameters cannot be read or do not fit (the call
    then fails as the student's code would, saying what is missing)."""
    mapping = map_keywords(parameters_of(function), len(args), list(kwargs), aliases, complete=False)
    if mapping is None or not mapping.changed:
        return list(args), dict(kwargs), Mapping()
    positional = list(args) + [kwargs[k] for k in mapping.by_position]
    return positional, {mapping.keywords[k]: v for k, v in kwargs.items() if k in mapping.keywords}, mapping


def describe_change(declared: str, parameter: str, how: str) -> str:
    """One mapped keyword, in words: "N_bottleneck as n_bottleneck"."""
    if how == "position":
        return f"{declared} by position (as {parameter})"
    return f"{declared} as {parameter}" + (" (a name the assignment accepts for it)" if how == "alias" else "")
