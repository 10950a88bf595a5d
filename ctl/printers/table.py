"""Column-aligned tables like kubectl's tabwriter: three spaces between
columns, upper-case headers, the last column unpadded."""

from __future__ import annotations

from collections.abc import Callable, Sequence

PADDING = 3


def render(
    headers: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    style: Callable[[int, str], str] | None = None,
) -> str:
    """The table as text (no trailing newline). ``style(column, padded_cell)``
    may colour a cell after alignment, so escapes never skew widths."""
    lines = ([list(headers)] if headers else []) + [list(r) for r in rows]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for number, line in enumerate(lines):
        cells = []
        for i, cell in enumerate(line):
            padded = cell if i == len(line) - 1 else cell.ljust(widths[i] + PADDING)
            is_header = headers is not None and number == 0
            cells.append(style(i, padded) if style and not is_header else padded)
        out.append("".join(cells).rstrip())
    return "\n".join(out)
