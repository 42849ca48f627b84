"""Writing plain data (tables, arrays, strings, numbers, booleans) as TOML, read back identically by tomllib.

Tables of the first two levels (``[models.Net]``, ``[recipes.brief]``) and any table holding a table are
written as sections; deeper ones inline (``a_check = { points = 2, width = 2 }``), as an answer key is
written by hand.
"""

from __future__ import annotations

import json
import math
import re
import tomllib

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
LINE = 100  # an array longer than this is written one item per line


def dumps(data: dict, header: str = "") -> str:
    """``data`` as TOML (after ``header``, comment lines); ValueError if it would not read back the same."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, data, ())
    text = "\n".join(lines).lstrip("\n") + "\n"
    if tomllib.loads(text) != data:
        raise ValueError("the data does not survive a round trip through TOML")
    return text


def _is_section(value, path: tuple) -> bool:
    return isinstance(value, dict) and (len(path) < 2 or any(isinstance(v, dict) for v in value.values()))


def _table(lines: list[str], table: dict, path: tuple) -> None:
    inline = {k: v for k, v in table.items() if not _is_section(v, path)}
    sections = {k: v for k, v in table.items() if _is_section(v, path)}
    if path and (inline or not sections):
        lines += ["", f"[{'.'.join(_key(p) for p in path)}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in inline.items()]
    for key, value in sections.items():
        _table(lines, value, (*path, key))


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        items = [_value(v) for v in value]
        one_line = f"[{', '.join(items)}]"
        return one_line if len(one_line) <= LINE else "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")
