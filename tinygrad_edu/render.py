"""Rendering a drawing: system Graphviz (the ``dot`` program) if present, else the Graphviz
libraries that the pygraphviz wheels bundle.

``Graph`` is a ``graphviz.Digraph`` whose ``pipe`` and ``render`` pick one of the two, so a
picture renders on a machine with either. The environment variable
``TINYGRAD_EDU_RENDERER`` (``auto``, ``dot`` or ``pygraphviz``), or the attribute
``render_with`` of one drawing, forces one.
"""
from __future__ import annotations

import os
import shutil

import graphviz

__all__ = ["Graph", "RenderError", "available_renderers", "choose_renderer", "RENDERER_ENV", "RENDERERS"]

RENDERER_ENV = "TINYGRAD_EDU_RENDERER"
RENDERERS = ("auto", "dot", "pygraphviz")


class RenderError(RuntimeError):
    """Raised when a picture must be rendered but no Graphviz is installed."""


INSTALL_HELP = (
    "Rendering a picture needs Graphviz, and none was found: there is no `dot` program on "
    "PATH and the Python package pygraphviz is not installed. Install either one:\n"
    '    pip install "tinygrad_edu[render]"    (pygraphviz; its wheels bundle Graphviz)\n'
    "    apt-get install graphviz              (or: brew install graphviz / conda install graphviz)\n"
    "Without a renderer you can still build the drawing and read its DOT text with .source."
)


def have_dot():
    """Is the ``dot`` program on PATH?"""
    return shutil.which("dot") is not None


def have_pygraphviz():
    """Can pygraphviz be imported?"""
    try:
        import pygraphviz  # noqa: F401
    except ImportError:
        return False
    return True


def available_renderers():
    """The renderers found on this machine: a list holding ``"dot"`` and/or ``"pygraphviz"``."""
    return [name for name, found in (("dot", have_dot()), ("pygraphviz", have_pygraphviz())) if found]


def choose_renderer(forced=None):
    """``"dot"`` or ``"pygraphviz"``: the one forced by ``forced`` (a drawing's ``render_with``)
    or by the environment variable, else the first one available.

    Raises ``ValueError`` naming the setting for an unknown name, ``RenderError`` when the
    renderer asked for (or every renderer) is missing.
    """
    if forced is not None:
        want, setting = forced, "render_with"
    else:
        want, setting = os.environ.get(RENDERER_ENV) or "auto", f"the environment variable {RENDERER_ENV}"
    if want not in RENDERERS:
        raise ValueError(f"{setting} is {want!r}; the renderer must be one of "
                         f"{', '.join(map(repr, RENDERERS))}" + ("" if forced is not None else " (or leave it unset)"))
    if want == "dot" and not have_dot():
        raise RenderError("the renderer 'dot' was asked for, but there is no `dot` on PATH "
                          "(apt-get install graphviz)")
    if want == "pygraphviz" and not have_pygraphviz():
        raise RenderError('the renderer \'pygraphviz\' was asked for, but it is not installed '
                          '(pip install "tinygrad_edu[render]")')
    if want != "auto":
        return want
    found = available_renderers()
    if not found:
        raise RenderError(INSTALL_HELP)
    return found[0]


def pygraphviz_draw(source, fmt, engine):
    """Render DOT ``source`` to bytes of format ``fmt`` with pygraphviz's bundled Graphviz."""
    import pygraphviz

    return pygraphviz.AGraph(string=source).draw(format=fmt, prog=engine or "dot")


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with system Graphviz or, failing that, pygraphviz.

    Everything else is graphviz's: ``.source``, ``.render(path, format=...)``,
    ``.pipe(format=...)`` and the Jupyter display (an inline SVG) all work as documented there.
    """

    render_with = None  # None: automatic; "dot" or "pygraphviz" forces one renderer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = {}  # id(tensor) -> the name its box shows
        self.calls = {}  # id(tensor) -> the Scope of the collapsed call that computed it

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False,
             *, engine=None, encoding=None):
        """The rendered picture as bytes (or str, given ``encoding``), e.g. ``pipe("svg")``."""
        if choose_renderer(self.render_with) == "dot":
            return super().pipe(format=format, renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet, engine=engine, encoding=encoding)
        data = pygraphviz_draw(self.source, format or self.format, engine or self.engine)
        return data.decode(encoding) if encoding else data

    def _repr_svg_(self):
        """Jupyter shows the picture inline as SVG."""
        return self.pipe(format="svg", encoding="utf-8")

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False,
               *, outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):
        """Write the DOT source to ``filename`` and the picture next to it (``filename.svg``),
        or to ``outfile``; returns the picture's path. Same arguments as graphviz's."""
        if choose_renderer(self.render_with) == "dot":
            return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                  renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
                                  quiet=quiet, quiet_view=quiet_view, outfile=outfile, engine=engine,
                                  raise_if_result_exists=raise_if_result_exists,
                                  overwrite_source=overwrite_source)
        if outfile is not None:
            outfile = os.fspath(outfile)
            format = format or os.path.splitext(outfile)[1].lstrip(".") or None
            if filename is None:
                filename = os.path.splitext(outfile)[0] + ".gv"
        format = format or self.format
        source_path = self.save(filename, directory=directory)
        out = outfile or f"{source_path}.{format}"
        with open(out, "wb") as f:
            f.write(pygraphviz_draw(self.source, format, engine or self.engine))
        if cleanup:
            os.remove(source_path)
        if view:
            self._view(out, format=format, quiet=quiet_view)
        return out
