"""Locating key paths in TOML text."""

from __future__ import annotations

from stockwatch.config.tomlpos import key_lines, line_of

TEXT = '''\
top = 1
[a]
b = 2
c.d = 3
"quoted key" = 4
[[arr]]
x = 1
[[arr]]
x = 2
[e."f.g"]
h = """
[not a header]
"""
i = 5
'''


def test_keys_tables_and_arrays_of_tables_have_lines() -> None:
    lines = key_lines(TEXT)
    assert lines[("top",)] == 1
    assert lines[("a", "b")] == 3
    assert lines[("a", "c", "d")] == 4
    assert lines[("a", "quoted key")] == 5
    assert lines[("arr", 1, "x")] == 9
    assert lines[("e", "f.g", "h")] == 11
    assert lines[("e", "f.g", "i")] == 14
    assert ("not a header",) not in lines


def test_unknown_paths_fall_back_to_the_nearest_ancestor() -> None:
    assert line_of(TEXT, ("a", "zzz")) == 2
    assert line_of(TEXT, ("nowhere",)) is None
