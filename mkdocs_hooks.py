"""MkDocs hook (mkdocs.yml `hooks:`): make the pages' tables render as they do on GitHub.

GitHub needs a pipe inside a code span of a table cell escaped (`A\\|B`) and shows it as `A|B`;
Python-Markdown keeps code spans whole when it splits a table row, so there the backslash would be
printed. On table rows only, the escape is removed inside code spans before the page is rendered.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"`[^`\n]*`")


def on_page_markdown(markdown: str, **_kwargs) -> str:
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|") and "\\|" in line:
            lines[i] = _CODE.sub(lambda m: m.group(0).replace("\\|", "|"), line)
    return "\n".join(lines)
