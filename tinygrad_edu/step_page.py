"""The step-through page: one picture laid out once, and the steps as changes to its text.

The picture is the ``Picture`` of ``draw_graph`` with a box layout made for stepping: every
number of a small array has a cell of its own, wide enough for every text it will show
(its value, "·" before the forward pass computes it, each partial sum of its gradient), so
Graphviz lays the graph out once and nothing moves. The page carries that one SVG and, per
step, only what changes (cell texts, which node is current, which arrows carry the flow)
and the caption. ``step_page.html`` and ``step_page.js`` (package data) are the page and its
player; this module fills them in.
"""
from __future__ import annotations

import html
import json
import re
from importlib import resources

import numpy as np

from .draw import MONO, STYLE, graph_of, is_small, shape_text
from .picture import number_text
from .step_math import forward_text, idx_text, share_text

PENDING, NO_GRAD = "·", "—"


def elements(t):
    """The element indices a box shows one cell each for ([None]: one summary cell)."""
    return list(np.ndindex(*t.shape)) if is_small(t.data) and t.size else [None]


def cell_text(a, k):
    """The text of element ``k`` of array ``a`` (``k`` None: min, mean and max)."""
    if k is not None:
        return number_text(a[k])
    if a.size == 0:
        return "(empty)"
    return f"min {number_text(a.min())} mean {number_text(a.mean())} max {number_text(a.max())}"


def grid(t):
    """(rows, columns) of the cells of a box."""
    if not is_small(t.data) or t.ndim == 0 or not t.size:
        return 1, 1
    return (t.shape[0], t.shape[1]) if t.ndim == 2 else (1, t.shape[0])


class Scene:
    """The slots (cells whose text changes) of every box, and the texts each will show."""

    def __init__(self, steps):
        self.steps, self.picture = steps, steps.picture
        self.slots = []  # [node, element number, "d" | "g" | "h"]
        self.widths = []  # each slot's width in characters
        self.text = []  # each slot's text now (while the frames are made)
        self.slot_of = {}  # (node, "d"|"g"|"h", element number) -> slot
        self.elems = {}  # node -> element indices
        shares = {}
        for step in steps:
            for x, _ in step.shares:
                shares[x] = shares.get(x, 0) + 1
        for node, t, kind, _ in self.picture.values:
            if self.picture.names[node] is None:
                continue  # a bare number: nothing changes
            ks = self.elems[node] = elements(t)
            computed = t.op is None
            for n, k in enumerate(ks):
                self.add(node, "d", n, [cell_text(t.data, k), PENDING], 0 if computed else 1)
            if t.requires_grad:
                n = shares.get(t, 1)
                self.add(node, "h", 0, ["grad", "grad: not yet"] + [f"grad: {n} of {n} shares"] * (n > 1), 1)
                for n, k in enumerate(ks):
                    self.add(node, "g", n, [NO_GRAD, cell_text(steps.grads[t].data, k) if t in steps.grads else NO_GRAD], 0)

    def add(self, node, kind, n, texts, start):
        """Reserve a text slot for element ``n`` of ``node``, as wide as the longest of ``texts``
        (every text it will show in any step), so that nothing moves between steps."""
        self.slot_of[(node, kind, n)] = len(self.slots)
        self.slots.append([node, n, kind])
        self.widths.append(max(len(s) for s in texts) + (kind != "h"))  # one space between columns
        self.text.append(texts[start])

    def widen(self, slot, text):
        """Make room for a text found later (a partial sum) before the layout is made."""
        self.widths[slot] = max(self.widths[slot], len(text) + (self.slots[slot][2] != "h"))

    def padded(self, slot, text=None):
        """The slot's text, padded on the left to the slot's fixed width."""
        return (self.text[slot] if text is None else text).rjust(self.widths[slot], "\u00a0")

    # The picture --------------------------------------------------------------------
    def label(self, node, t, name):
        """A box's HTML label: name and shape, a cell per number, the gradient's cells."""
        if name is None:
            return f"<{html.escape(number_text(t.data.reshape(-1)[0]), quote=False)}>"
        rows, cols = grid(t)
        mono = f'<FONT FACE="{MONO}" POINT-SIZE="11"%s>%s</FONT>'

        def cells(kind, color=""):
            out = []
            for r in range(rows):
                tds = "".join(f'<TD ALIGN="RIGHT">{mono % (color, self.cell(node, kind, r * cols + c))}</TD>'
                              for c in range(cols) if r * cols + c < len(self.elems[node]))
                out.append(f"<TR>{tds}</TR>")
            return "".join(out)

        head = (f'<TR><TD COLSPAN="{cols}" ALIGN="LEFT"><B>{html.escape(name, quote=False)}</B> '
                f'<FONT POINT-SIZE="11" COLOR="#555555">{html.escape(shape_text(t))}</FONT></TD></TR>')
        body = cells("d") if self.steps.show_data else ""
        if t.requires_grad:
            grad_color = ' COLOR="#c62828"'
            body += (f'<TR><TD COLSPAN="{cols}" ALIGN="LEFT">{mono % (grad_color, self.cell(node, "h", 0))}</TD></TR>'
                     + cells("g", grad_color))
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{head}{body}</TABLE>>'

    def cell(self, node, kind, n):
        """The padded, escaped text of one element's slot, as the picture first shows it."""
        return html.escape(self.padded(self.slot_of[(node, kind, n)]), quote=False)

    def svg(self, rankdir):
        """Lay the picture out (once) and mark each slot's <text> with data-s="slot"."""
        graph = graph_of(self.picture, rankdir, self.label, node_extra=lambda node: {"id": node}, edge_ids=True)
        graph.graph_attr["pad"] = "0.3"
        svg = graph.pipe(format="svg", encoding="utf-8")
        svg = svg[svg.index("<svg"):]
        svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
        svg = re.sub(r"<title>.*?</title>\n?", "", svg)
        wanted = {}
        for slot, (node, n, kind) in enumerate(self.slots):
            if kind != "d" or self.steps.show_data:
                wanted.setdefault(node, []).append(slot)

        def mark(group):
            node = group.group(1)
            todo = list(wanted.pop(node, ()))

            def one(text):
                if todo and html.unescape(text.group(2)) == self.padded(todo[0]):
                    slot = todo.pop(0)
                    return f'<text data-s="{slot}"{text.group(1)}>{text.group(2)}</text>'
                return text.group(0)

            body = re.sub(r"<text([^>]*)>(.*?)</text>", one, group.group(0))
            if todo:
                raise RuntimeError(f"step page: Graphviz's SVG of node {node} lacks the text of "
                                   f"{len(todo)} cells (expected {self.padded(todo[0])!r})")
            return body

        svg = re.sub(r'<g id="([^"]+)" class="node">.*?</g>', mark, svg, flags=re.S)
        if wanted:
            raise RuntimeError(f"step page: Graphviz's SVG lacks the nodes {sorted(wanted)[:5]}")
        marker = ('<defs><marker id="back-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
                  'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#d50000"/>'
                  '</marker></defs>')
        return re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + marker, svg, count=1)


def page_html(steps, title, intro, count=False):
    """The whole page as text (and, with ``count``, its number of steps)."""
    from .step_frames import frames

    scene = Scene(steps)
    before = list(scene.text)
    made = frames(steps, scene)  # also widens the slots for partial sums: before the layout
    scene.text = before  # the picture shows the state before the forward pass
    svg = scene.svg(steps.rankdir)
    kinds = set(steps.picture.kind.values())
    legend = "".join(f'<span class="chip" style="background:{STYLE[k][0]};border-color:{STYLE[k][1]}">'
                     f"{html.escape(STYLE[k][2])}</span>" for k in STYLE if k in kinds)
    data = {"slots": [[node, n, kind, w] for (node, n, kind), w in zip(scene.slots, scene.widths)],
            "frames": made}
    page = resources.files(__package__).joinpath("step_page.html").read_text(encoding="utf-8")
    script = resources.files(__package__).joinpath("step_page.js").read_text(encoding="utf-8")
    fill = {"TITLE": html.escape(title), "INTRO": html.escape(intro), "SVG": svg, "LEGEND": legend,
            "DATA": json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
            "SCRIPT": script}
    text = re.sub(r"@@(\w+)@@", lambda m: fill[m.group(1)], page)
    return (text, len(made)) if count else text


__all__ = ["page_html", "Scene", "forward_text", "share_text", "idx_text"]
