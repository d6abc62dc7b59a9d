"""Plain values and text tables for the tuning reports."""

import io


def plain(value):
    """A NumPy scalar as the Python number it holds (JSON-able); anything else unchanged."""
    if hasattr(value, "item"):
        value = value.item()
    return value


def columns(rows):
    """The keys of a list of dicts, in order of first appearance."""
    names = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    return names


def format_cell(value):
    """A table cell: `-` for a missing value, 4 significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def grid(header, body):
    """A left-aligned text table: the header, a rule, then one line per row of `body`."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body)]
    buffer = io.StringIO()
    buffer.write("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    buffer.write("  ".join("-" * w for w in widths) + "\n")
    for cells in body:
        buffer.write("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip() + "\n")
    return buffer.getvalue().rstrip("\n")
