"""The web app's stylesheet is well formed: a rule left open swallows every rule after it into itself (merged
stylesheets did this twice, and the build does not fail on it; the screens just lose their styles)."""

from __future__ import annotations

import re
from pathlib import Path

STYLES = Path(__file__).resolve().parents[2] / "web" / "src" / "styles.css"


def test_every_rule_of_the_stylesheet_is_closed_where_it_should_be() -> None:
    text = re.sub(r"/\*.*?\*/", "", STYLES.read_text(), flags=re.S)
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        # A selector starting at the left margin opens a top-level rule: nothing may be open then
        if re.match(r"^[.#a-zA-Z:\[*@]", line) and line.rstrip().endswith("{"):
            assert depth == 0, f"styles.css line {number}: {line.strip()!r} opens inside an unclosed rule"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"styles.css line {number}: a brace closes nothing"
    assert depth == 0, "styles.css ends with a rule still open"
