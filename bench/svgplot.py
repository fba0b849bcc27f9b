"""Owns: the small SVG charts the benchmark reports draw (standard library only,
so a fresh machine needs nothing installed to regenerate a report).

- `lines(series, ...)`: one or more labelled polylines over numeric x values
  (optionally log-scaled x), with axes, ticks and a legend;
- `heatmap(rows, cols, values, ...)`: a labelled grid coloured by value, each cell
  printing its number (None cells are grey and say "n/a").
"""

import math
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def _fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def lines(series, title, xlabel, ylabel, logx=False, width=640, height=380):
    """`series`: list of (label, [(x, y), ...]); points with y None are skipped."""
    pad_l, pad_r, pad_t, pad_b = 70, 160, 40, 50
    pts = [(x, y) for _, s in series for x, y in s if y is not None]
    if not pts:
        return _empty(title, width, height)
    fx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    xs = [fx(x) for x, _ in pts]
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x1 = x0 + 1
    y1 = max(y for _, y in pts) * 1.1 or 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(v):
        return pad_l + (fx(v) - x0) / (x1 - x0) * w

    def py(v):
        return pad_t + h - v / y1 * h

    out = [_head(width, height, title)]
    out.append(f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="black"/>')
    out.append(f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="black"/>')
    for i in range(5):
        v = y1 * i / 4
        out.append(f'<text x="{pad_l - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
        out.append(f'<line x1="{pad_l}" y1="{py(v):.1f}" x2="{pad_l + w}" y2="{py(v):.1f}" stroke="#eee"/>')
    for xv in sorted({x for x, _ in pts}):
        out.append(f'<text x="{px(xv):.1f}" y="{pad_t + h + 16}" text-anchor="middle">{_fmt(xv)}</text>')
    out.append(f'<text x="{pad_l + w / 2}" y="{height - 10}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text transform="translate(16,{pad_t + h / 2}) rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>')
    for i, (label, s) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        good = [(x, y) for x, y in s if y is not None]
        if not good:
            continue
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                   % (color, " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)))
        for x, y in good:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
        out.append(f'<text x="{pad_l + w + 10}" y="{pad_t + 14 + 16 * i}" fill="{color}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def heatmap(rows, cols, values, title, row_label, col_label, width=560, height=360, higher_is_better=True):
    """`values[r][c]` for row labels `rows` and column labels `cols`."""
    pad_l, pad_t, pad_b = 110, 40, 50
    cw = (width - pad_l - 20) / max(len(cols), 1)
    ch = (height - pad_t - pad_b) / max(len(rows), 1)
    flat = [v for r in values for v in r if v is not None]
    lo, hi = (min(flat), max(flat)) if flat else (0, 1)
    out = [_head(width, height, title)]
    for ri, rlab in enumerate(rows):
        out.append(f'<text x="{pad_l - 6}" y="{pad_t + ri * ch + ch / 2 + 4:.1f}" text-anchor="end">{escape(str(rlab))}</text>')
        for ci, _ in enumerate(cols):
            v = values[ri][ci]
            if v is None:
                color = "#ccc"
            else:
                t = 0.5 if hi == lo else (v - lo) / (hi - lo)
                if not higher_is_better:
                    t = 1 - t
                color = f"rgb({int(230 - 180 * t)},{int(120 + 100 * t)},{int(120 - 60 * t)})"
            x, y = pad_l + ci * cw, pad_t + ri * ch
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{ch:.1f}" fill="{color}" stroke="white"/>')
            out.append(f'<text x="{x + cw / 2:.1f}" y="{y + ch / 2 + 4:.1f}" text-anchor="middle">{_fmt(v)}</text>')
    for ci, clab in enumerate(cols):
        out.append(f'<text x="{pad_l + ci * cw + cw / 2:.1f}" y="{height - pad_b + 16}" text-anchor="middle">{escape(str(clab))}</text>')
    out.append(f'<text x="{pad_l + (width - pad_l) / 2}" y="{height - 10}" text-anchor="middle">{escape(col_label)}</text>')
    out.append(f'<text transform="translate(16,{pad_t + (height - pad_t - pad_b) / 2}) rotate(-90)" text-anchor="middle">{escape(row_label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _head(width, height, title):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>')


def _empty(title, width, height):
    return _head(width, height, title) + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>'
