"""Writing a traced program as Python: one numpy call per line, named and commented.

The code is the program: ``tg.compile`` runs exactly this text (``.source``). Each primitive
op has a one-line template here that computes what its ``forward`` computes (the tests
compare every template with its op); an op without a template (an op added later) is
called through its own ``forward``. Names come from labels, argument names and the
places the function found its tensors (``layers_0_weight``); a gradient is ``d_`` and the
name of its value. Labels are turned into identifiers here (letters, digits and ``_``
only): no user string is ever put into the code as it is.

The last pass, buffer *reuse* (``compiler_passes.plan``), is applied while writing: when an
elementwise op's input dies at that line and has the result's shape, dtype and layout, the
result is written into its memory (``np.add(t, b, out=t)``, as ``t += b`` would); a large
value is ``del``-eted after its last use, so its memory goes back at once instead of when
the function returns.
"""
from __future__ import annotations

import keyword
import math
import re
import unicodedata

import numpy as np

from . import ops
from .compiler_passes import Not, Subtract, plan
from .compiler_program import Value

INLINE_MAX = 100  # constants with more elements are not printed: given in the namespace
DEL_MIN = 4096  # values with fewer elements are not del-eted (it would only add lines)
COMMENT_COLUMN = 48
NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")

BINARY = {ops.Add: ("+", "np.add"), Subtract: ("-", "np.subtract"), ops.Mul: ("*", "np.multiply"),
          ops.Div: ("/", "np.divide"),
          ops.Less: ("<", "np.less"), ops.LessEqual: ("<=", "np.less_equal"),
          ops.Greater: (">", "np.greater"), ops.GreaterEqual: (">=", "np.greater_equal"),
          ops.Equal: ("==", "np.equal"), ops.NotEqual: ("!=", "np.not_equal")}
CALLS = {ops.Exp: "np.exp", ops.Log: "np.log", ops.Maximum: "np.maximum", Not: "np.logical_not"}
OUT_OPS = (*BINARY, *CALLS)  # numpy ufuncs: can write into a dead buffer with out=
FRESH_OPS = (*OUT_OPS, ops.Pow, ops.Where, ops.Sum, ops.Max, ops.Cast, ops.ScatterAdd, ops.MatMul)
INLINE_OPS = (*BINARY, ops.Maximum)  # a float constant may be written as a number here


def is_basic_index(idx):
    """Only slices, integers, None and ``...`` (numpy's basic indexing: no element twice)?"""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice | np.integer) for i in items)


def identifier(text, fallback):
    """``text`` as a Python identifier (ASCII letters, digits, _), or ``fallback``."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = NOT_IDENTIFIER.sub("_", text).strip("_")[:32]
    if not text:
        return fallback
    if text[0].isdigit():
        text = f"{fallback}_{text}"
    return text + "_" if keyword.iskeyword(text) else text


class Names:
    """Unique identifiers: a wanted name gets a suffix if it is taken."""

    def __init__(self):
        self.used = {"np", "select", "forward", "backward", "guard", "K", "Tensor", "None", "True", "False"}
        self.counters = {}

    def take(self, wanted):
        """``wanted`` if it is free, else ``wanted_1``, ``wanted_2``, ...; now taken."""
        name, k = wanted, 1
        while name in self.used:
            name, k = f"{wanted}_{k}", k + 1
        self.used.add(name)
        return name

    def numbered(self, prefix):
        """The next free ``prefix1``, ``prefix2``, ... (``t`` for values, ``g`` for gradients)."""
        while True:
            k = self.counters[prefix] = self.counters.get(prefix, 0) + 1
            if f"{prefix}{k}" not in self.used:
                return self.take(f"{prefix}{k}")


def literal(x):
    """A float as Python source that reads back as the same number."""
    x = float(x)
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def array_source(a):
    """Source that rebuilds the small array ``a`` exactly: ``np.array([...], dtype=...)``."""
    if a.dtype.kind == "f":
        body = _nested(a.tolist(), literal)
    else:
        body = repr(a.tolist())
    return f"np.array({body}, dtype=np.{a.dtype.name})"


def _nested(obj, fmt):
    if isinstance(obj, list):
        return "[" + ", ".join(_nested(o, fmt) for o in obj) + "]"
    return fmt(obj)


class Writer:
    """Writes one program. ``write()`` returns (source, namespace extras, facts)."""

    def __init__(self, program, title, input_names, reuse):
        self.p, self.title, self.reuse = program, title, reuse
        self.names = Names()
        self.extras = {}  # name -> object the code needs but cannot spell (big constants)
        self.notes = []
        self.reused = 0
        for v, name in zip(program.inputs, input_names):
            v.name = self.names.take(identifier(name, "x"))
        users = {}
        for v in program.steps:
            for d in v.deps():
                users.setdefault(id(d), []).append(v)
        self.users = users

    # ----- names ------------------------------------------------------------------------
    def name_values(self):
        """Name every value: forward values first (in order), the seed, then the backward."""
        p = self.p
        for v in p.steps:
            v.name = None
        forward = [v for v in p.steps if v.phase == "forward"]
        backward = [v for v in p.steps if v.phase == "backward"]
        for v in forward:
            v.name = self.names.take(self.hint(v)) if self.hint(v) else self.names.numbered("t")
        for v, g in zip(p.inputs, p.grads):  # a gradient returned for an input: d_<input>
            if g is not None and g.kind == "op" and g.phase == "backward" and g.label is None:
                g.grad_of = v
        if p.seed is not None:
            out = p.output.name if p.output.name and p.output.kind != "const" else "out"
            p.seed.name = self.names.take(f"d_{out}")
        for v in backward:
            hint = self.hint(v)
            v.name = self.names.take(hint) if hint else self.names.numbered("g")

    def hint(self, v):
        """The name ``v`` would like: its label, ``d_`` + the name of the value it is the
        gradient of, or the name of the composite/module call whose result it is."""
        label = v.label
        if label:
            return identifier(label, "v")
        if v.phase == "backward":
            of = v.grad_of
            return f"d_{of.name}" if of is not None and of.name else None
        if not v.scope:
            return "out" if v is self.p.output else None
        # the largest composite or module call whose result this is: the outermost scope
        # that a (forward) user of the value is not inside
        users = [u.scope for u in self.users.get(id(v), ()) if u.phase == "forward"]
        for s in v.scope:
            if v is self.p.output or any(s not in scope for scope in users):
                return identifier(s.name.lower(), "v")
        return None

    def code(self, v, user=None):
        """How a line refers to ``v``: its name, or a number for an inlined constant."""
        if v.kind == "const" and user is not None and self.inline(v, user):
            return literal(v.array)
        if v.name is None:  # a constant with no name yet
            v.name = self.names.numbered("c")
            if v.size <= INLINE_MAX:
                self.consts.append(f"{v.name} = {array_source(v.array)}")
            else:
                self.extras[v.name] = v.array
                self.notes.append(f"# {v.name}: a {v.dtype} array of shape {v.shape}, too large to print: "
                                  f"given in the namespace")
        return v.name

    def inline(self, c, user):
        """May constant ``c`` be written as a plain number in ``user``'s line? Only where
        numpy then computes the same (a float of the other operand's dtype, in a ufunc)."""
        if type(user.op) not in INLINE_OPS or c.shape != () or c.dtype.kind != "f":
            return False
        others = [a for a in user.args if a is not c]
        return (len(others) == 1 and others[0].kind != "const" and others[0].dtype == c.dtype
                and math.isfinite(float(c.array)))

    # ----- one line -----------------------------------------------------------------------
    def expression(self, v, out=None):
        """The right-hand side computing ``v`` (``out``: a dead buffer to write into)."""
        kind, a = type(v.op), [self.code(x, v) for x in v.args]
        params = v.params or {}
        if kind in BINARY:
            sym, fn = BINARY[kind]
            return f"{fn}({a[0]}, {a[1]}, out={out})" if out else f"{a[0]} {sym} {a[1]}"
        if kind in CALLS:
            return f"{CALLS[kind]}({', '.join(a)}" + (f", out={out})" if out else ")")
        if kind is ops.Pow:
            return f"{a[0]} ** {a[1]}"
        if kind is ops.MatMul:
            return f"{a[0]} @ {a[1]}"
        if kind is ops.Where:
            return f"select({a[0]}, {a[1]}, {a[2]})"
        if kind in (ops.Sum, ops.Max):
            args = []
            if params.get("axis") is not None:
                args.append(f"axis={params['axis']!r}")
            if params.get("keepdims"):
                args.append("keepdims=True")
            return f"{a[0]}.{kind.name}({', '.join(args)})"
        if kind is ops.Reshape:
            return f"{a[0]}.reshape({params['shape']!r})"
        if kind is ops.Transpose:
            axes = params["axes"]
            reverse = axes == tuple(range(len(axes) - 1, -1, -1))
            return f"{a[0]}.T" if reverse else f"{a[0]}.transpose({axes!r})"
        if kind is ops.Expand:
            return f"np.broadcast_to({a[0]}, {params['shape']!r})"
        if kind is ops.Cast:
            return f"{a[0]}.astype(np.{np.dtype(params['dtype']).name})"
        if kind is ops.Detach:
            return a[0]
        if kind is ops.GetItem:
            return f"{a[0]}[{self.index(params['idx'], subscript=True)}]"
        name = self.names.numbered("op")  # an op with no template: its own forward
        self.extras[name] = v.op
        self.notes.append(f"# {name}: the op '{v.op.name}' ({type(v.op).__name__}), which has no line of "
                          f"its own here: given in the namespace, its forward() is called")
        kw = "".join(f", {k}={self.param(x)}" for k, x in params.items())
        return f"{name}.forward({', '.join(a)}{kw})"

    def param(self, x):
        """Source for a parameter of an op (a shape, an axis, an index array, ...)."""
        if isinstance(x, Value):
            return self.code(x)
        if isinstance(x, tuple):
            inner = ", ".join(self.param(i) for i in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if isinstance(x, list):
            return "[" + ", ".join(self.param(i) for i in x) + "]"
        if isinstance(x, slice):
            return f"slice({self.param(x.start)}, {self.param(x.stop)}, {self.param(x.step)})"
        if isinstance(x, np.dtype):
            return f"np.{x.name}"
        if isinstance(x, int | float | bool | str | type(None) | np.integer | np.bool_):
            return literal(x) if isinstance(x, float) else repr(x.item() if isinstance(x, np.generic) else x)
        if x is Ellipsis:
            return "..."
        name = self.names.numbered("p")
        self.extras[name] = x
        self.notes.append(f"# {name}: a parameter of type {type(x).__name__}: given in the namespace")
        return name

    def index(self, idx, subscript):
        """Source for an index: ``a, 1:3`` inside ``[]`` (``subscript``), else a tuple."""
        items = idx if isinstance(idx, tuple) else (idx,)
        parts = []
        for i in items:
            if subscript and isinstance(i, slice):
                parts.append(":".join("" if s is None else self.param(s) for s in (i.start, i.stop))
                             + ("" if i.step is None else f":{self.param(i.step)}"))
            else:
                parts.append(self.param(i))
        if not isinstance(idx, tuple):
            return parts[0]
        if subscript:
            return ", ".join(parts) + ("," if len(parts) == 1 else "") if parts else "()"
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def comment(self, v):
        """The comment of ``v``'s line: the op, and the call (forward) or the step of the
        backward walk (the rule of an op, unbroadcast, adding a gradient) that made it."""
        op = v.op.name
        if type(v.op) is Subtract:
            op = "x + y·(−1) = x − y"
        if v.phase == "forward":
            where = " > ".join(s.name for s in v.scope[-2:])
            return f"{op}, in {where}" if where else op
        subject = v.subject.name if v.subject is not None and v.subject.name else None
        if v.context == "rule" and v.rule is not None:
            rule = v.rule
            where = f" in {rule.scope[-1].name}" if rule.scope else ""
            return f"{op}: backward of {rule.op.name}{where}" + (f" ({rule.name})" if rule.name else "")
        if v.context == "unbroadcast":
            return f"{op}: unbroadcast to the shape of {subject}" if subject else \
                f"{op}: unbroadcast (sum over the axes broadcasting stretched)"
        if v.context == "accumulate":
            return f"{op}: {subject or 'a value'} is used more than once: add its gradients"
        return op

    def lines_for(self, v, out):
        """The source line(s) computing ``v`` (no indent, no comment)."""
        if type(v.op) is ops.ScatterAdd:
            idx, shape = v.params["idx"], v.params["shape"]
            g = self.code(v.args[0], v)
            first = f"{v.name} = np.zeros({shape!r}, dtype=np.{v.dtype.name})"
            if is_basic_index(idx) or v.hint == "assign":
                return [first, f"{v.name}[{self.index(idx, subscript=True)}] = {g}"]
            return [first, f"np.add.at({v.name}, {self.index(idx, subscript=False)}, {g})"]
        return [f"{v.name} = {self.expression(v, out)}"]

    # ----- a function -------------------------------------------------------------------------
    def function(self, header, steps, pinned):
        """The body of one function; with ``self.reuse``, as ``compiler_passes.plan`` says:
        results written into dead buffers (``out=``) and large values ``del``-eted."""
        outs, dels = plan(steps, pinned, OUT_OPS, FRESH_OPS, DEL_MIN) if self.reuse else ({}, {})
        self.reused += len(outs)
        body = []
        for i, v in enumerate(steps):
            out = outs.get(id(v))
            lines = self.lines_for(v, out.name if out is not None else None)
            body.append((lines[0], self.comment(v)))
            body += [(line, None) for line in lines[1:]]
            if dels.get(i):
                names = ", ".join(w.name for w in dels[i])
                body.append((f"del {names}", "not needed any more: free the memory now"))
        return [header] + ["    " + _with_comment(line, c) for line, c in body]

    def write(self):
        """The whole source: header, constants, ``forward`` and ``backward``."""
        p = self.p
        self.consts = []
        self.name_values()
        forward = [v for v in p.steps if v.phase == "forward"]
        backward = [v for v in p.steps if v.phase == "backward"]
        defined_in_forward = {id(v) for v in forward} | {id(v) for v in p.inputs}
        residuals = []
        for v in backward:
            for d in v.deps():
                if id(d) in defined_in_forward and d not in residuals:
                    residuals.append(d)
        for g in p.grads:
            if g is not None and id(g) in defined_in_forward and g not in residuals:
                residuals.append(g)
        out_code = self.code(p.output)
        fwd_pinned = {id(v) for v in residuals} | {id(p.output)}
        fwd = self.function(f"def forward({', '.join(v.name for v in p.inputs)}):", forward, fwd_pinned)
        saved = ", ".join(v.name for v in residuals) + ("," if len(residuals) == 1 else "")
        fwd.append(f"    return {out_code}, ({saved})")
        src = []
        if p.seed is not None:
            params = ", ".join([p.seed.name] + [v.name for v in residuals])
            bwd_pinned = {id(g) for g in p.grads if g is not None}
            bwd = self.function(f"def backward({params}):", backward, bwd_pinned)
            grads = []
            for g in p.grads:
                if g is None:
                    grads.append("None")
                else:
                    c = self.code(g)
                    grads.append(f"np.asarray({c})" if g.shape == () else c)
            bwd.append(f"    return ({', '.join(grads)}{',' if len(grads) == 1 else ''})")
            src = bwd
        n_fwd, n_bwd = len(forward), len(backward)
        stats = p.stats
        passes = ", ".join(f"{k} {'rewrote' if k == 'simplify' else 'removed'} {stats[k]}"
                           for k in ("fold", "simplify", "cse", "dce") if k in stats)
        head = [f"# {self.title}: the traced program as numpy code ({n_fwd} ops forward, "
                f"{n_bwd} backward).",
                f"# Passes: {passes or 'none'}" + (f"; reuse wrote {self.reused} results into dead buffers."
                                                     if self.reuse else "."),
                "import numpy as np",
                "from tinygrad_edu.speed import select  # = np.where(cond, x, y), bit for bit, faster",
                ""]
        head += self.notes + self.consts + ([""] if self.consts or self.notes else [])
        text = "\n".join(head + ["", *fwd] + (["", "", *src] if src else [])) + "\n"
        facts = {"forward_ops": n_fwd, "backward_ops": n_bwd, "reused": self.reused,
                 "residuals": [v.name for v in residuals]}
        return text, self.extras, facts


def _with_comment(line, comment):
    if not comment:
        return line
    return f"{line.ljust(COMMENT_COLUMN - 4)}  # {comment}"


def write(program, title, input_names, reuse=True):
    """Python source for ``program``: ``(source, extras, facts)``. ``extras`` maps the names
    the source uses but cannot spell (big constants, ops with no template) to their objects."""
    return Writer(program, title, input_names, reuse).write()
