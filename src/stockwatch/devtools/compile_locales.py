"""Compile the CLI's gettext catalogue: ``python -m stockwatch.devtools.compile_locales``.

Typer asks gettext for its own words ("Options", "default: {default}", "required" …); their
zh-CN text lives in ``entrypoints/cli/framework_texts.FRAMEWORK_ZH``. This writes it as the GNU
``.mo`` file gettext reads (the standard library reads ``.mo`` files but cannot write them).
Run it after changing the table; ``tests/unit/test_framework_texts.py`` fails until then.
"""

from __future__ import annotations

import struct
from pathlib import Path

from stockwatch.entrypoints.cli.framework_texts import FRAMEWORK_ZH, locale_dir

HEADER = "Content-Type: text/plain; charset=UTF-8\nLanguage: zh_CN\n"


def mo_bytes(catalogue: dict[str, str]) -> bytes:
    """Return ``catalogue`` (message id → translation) as a GNU .mo file, ids sorted."""
    entries = sorted({"": HEADER, **catalogue}.items())
    ids = [k.encode("utf-8") for k, _ in entries]
    texts = [v.encode("utf-8") for _, v in entries]
    count = len(entries)
    ids_table, texts_table = 28, 28 + 8 * count
    data_start = 28 + 16 * count
    index: list[int] = []
    blob = b""
    for strings in (ids, texts):
        for s in strings:
            index += [len(s), data_start + len(blob)]
            blob += s + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, count, ids_table, texts_table, 0, data_start)
    return head + struct.pack(f"<{4 * count}I", *index) + blob


def catalogue_path() -> Path:
    return Path(locale_dir()) / "zh_CN" / "LC_MESSAGES" / "messages.mo"


def main() -> None:
    catalogue_path().write_bytes(mo_bytes(FRAMEWORK_ZH))
    print(f"wrote {catalogue_path()}")


if __name__ == "__main__":
    main()
