"""Generated NumPy code -> a CUDA array program: the host drives, kernels compute.

`backend="cuda"` on a transform (`adgen.value_and_grad(loss, argnums=..., backend="cuda")`)
runs the very source the python back end runs, rewritten on its `ast` so that every
array operation happens on the device and arrays never come back to the host:

* **Element-wise expressions are fused into kernels.** Each maximal tree of
  element-wise operations (arithmetic, comparisons, NumPy ufuncs, `np.where`,
  `astype`) that reads an array becomes a scalar function at the top of the
  module, decorated `@_cu.elementwise` (`adgen.cuda.elementwise`): one kernel
  launch per statement, reading each input element once, with NumPy
  broadcasting. `pre_bar = _adgen.sum_like((1.0 - H * H) * tmp_42, pre)` becomes

      @_cu.elementwise
      def pre_bar_expr(H, tmp_42):
          return (1.0 - H * H) * tmp_42
      ...
      pre_bar = _cu.sum_like(pre_bar_expr(H, tmp_42), pre)

* **Every other array operation calls `adgen.cuda.ops`** (`_cu`): `np.dot` the
  tiled matmul (a `np.transpose` feeding it is read transposed, not copied),
  reductions and their adjoints, allocation, reshapes.
* Scalar code that reads no array (loop counters, `1.0 / n`) stays as it is and
  runs on the host; control flow is the host's.

Reductions are deterministic (a fixed order of summation per shape) unless the
program is generated with `atomics=True`. Operations without a device form
(undo logs of arrays written in loops, concatenation, ...) raise `AdgenTypeError`
naming the user's line when the program is generated.
"""

from __future__ import annotations

import ast
import copy
import re

import numpy as np

from adgen.cuda.device import dotted as _dotted
from adgen.errors import AdgenTypeError

IMPORTS = "import math\n\nimport numpy as np\n\nimport adgen.cuda.ops as _cu\n"
_CASTS = {"float64": "float", "int64": "int", "bool_": "bool", "float32": "np.float32"}
_BUILTINS = {"float", "int", "bool", "abs", "min", "max"}
_REDUCERS = {"sum", "max", "min", "mean", "prod"}
# np.<name> -> _cu.<name>, same arguments
_NP_CALLS = {"dot": "dot", "matmul": "dot", "transpose": "transpose", "outer": "outer",
             "reshape": "reshape", "expand_dims": "expand_dims", "empty": "empty",
             "zeros": "zeros", "ones": "ones", "full": "full", "empty_like": "empty_like",
             "zeros_like": "zeros_like", "ones_like": "ones_like", "full_like": "full_like",
             "concatenate": "concatenate", "stack": "stack"}
# adgen.codegen.support helpers with a device form (same name and arguments in _cu)
_SUPPORT = {"sum_like", "spread_axis", "keep_axis", "reduce_axis", "broadcast_like",
            "reshape_like", "reshape", "trip_count", "log_new", "log_len", "log_write",
            "log_undo_to", "log_undo_last", "revolve_split", "checkpoint_below"}
_METHODS = {"copy": "copy_of", "reshape": "reshape", "astype": "astype"}
_HOST_ATTRS = {"shape", "ndim", "size", "dtype"}
_CONSTANTS = {"np.nan", "np.inf", "np.pi", "np.e", "math.pi", "math.e", "math.inf", "math.nan",
              "np.float64", "np.float32", "np.int64", "np.bool_"}
_LINE = re.compile(r"^\s*# line (\d+)(?:: (.*))?$")


def _is_ufunc(path: str | None) -> bool:
    if not path or not path.startswith("np."):
        return False
    return isinstance(getattr(np, path[3:], None), np.ufunc)


def is_elementwise(node: ast.AST) -> bool:
    """Whether `node` itself is an element-wise operation (its operands may not be)."""
    if isinstance(node, ast.BinOp):
        return not isinstance(node.op, ast.MatMult)
    if isinstance(node, (ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp)):
        return True
    if isinstance(node, ast.Call) and not node.keywords:
        path = _dotted(node.func)
        if path is None:
            return False
        if _is_ufunc(path) or path in ("np.where", "np.clip") or path.startswith("math."):
            return True
        if path in _BUILTINS or path[3:] in _CASTS and path.startswith("np."):
            return True
        return (isinstance(node.func, ast.Attribute) and node.func.attr == "astype"
                and len(node.args) == 1 and (_dotted(node.args[0]) or "")[3:] in _CASTS)
    return False


def _operands(node: ast.AST) -> list:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "astype":
            return [node.func.value]
        return list(node.args)
    return [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]


class _Scalarize(ast.NodeTransformer):
    """The body of a fused kernel's scalar function: NumPy forms that have a scalar
    spelling numba.cuda compiles get it (`np.where` an `if` expression, casts the
    builtin ones, `np.logical_*` boolean operators)."""

    def visit_Call(self, node):
        self.generic_visit(node)
        path = _dotted(node.func) or ""
        if path == "np.where":
            test, body, orelse = node.args
            return ast.IfExp(test=test, body=body, orelse=orelse)
        if path in ("np.logical_or", "np.logical_and"):
            op = ast.Or() if path.endswith("or") else ast.And()
            return ast.BoolOp(op=op, values=list(node.args))
        if path == "np.clip":  # as adgen prints a scalar clip (Numba has no scalar np.clip)
            x, lo, hi = node.args
            return _call("min", [_call("max", [x, lo]), hi])
        if path == "np.logical_not":
            return ast.UnaryOp(op=ast.Not(), operand=node.args[0])
        if path.startswith("np.") and path[3:] in _CASTS:
            return ast.Call(func=_name_or_path(_CASTS[path[3:]]), args=node.args, keywords=[])
        if isinstance(node.func, ast.Attribute) and node.func.attr == "astype":
            cast = _CASTS[_dotted(node.args[0])[3:]]
            return ast.Call(func=_name_or_path(cast), args=[node.func.value], keywords=[])
        return node


def _name_or_path(path: str) -> ast.expr:
    node: ast.expr = ast.Name(id=path.split(".")[0], ctx=ast.Load())
    for part in path.split(".")[1:]:
        node = ast.Attribute(value=node, attr=part, ctx=ast.Load())
    return node


def _call(path: str, args, keywords=None) -> ast.Call:
    return ast.Call(func=_name_or_path(path), args=list(args),
                    keywords=[ast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()])


class ProgramWriter:
    """Rewrites one generated function into a CUDA array program (see the module's
    docstring). `device` names the variables that may hold device arrays."""

    def __init__(self, source: str, func: ast.FunctionDef, device: set[str], atomics: bool):
        self.lines = source.splitlines()
        self.func = func
        self.device = set(device)
        self.atomics = atomics
        self.kernels: list[ast.FunctionDef] = []
        self.kernel_names: dict[str, str] = {}  # kernel text -> name
        self.used_names: set[str] = set()
        self.target = "expr"

    # errors ----------------------------------------------------------------------------
    def fail(self, node: ast.AST, what: str) -> None:
        line = ""
        for index in range(getattr(node, "lineno", 1) - 1, -1, -1):
            found = _LINE.match(self.lines[index]) if index < len(self.lines) else None
            if found:
                text = f" (`{found.group(2).strip()}`)" if found.group(2) else ""
                line = f" at line {found.group(1)}{text}"
                break
        raise AdgenTypeError(f"{self.func.name}: {what}{line} has no form on the CUDA array "
                             "back end; run this transform with backend=\"numba\", or per "
                             "sample with adgen.vmap(..., backend=\"cuda\")")

    # which values live on the device ---------------------------------------------------
    def maybe_device(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return False
        if isinstance(node, ast.Name):
            return node.id in self.device
        if _dotted(node) in _CONSTANTS:
            return False
        if isinstance(node, ast.Attribute) and node.attr in _HOST_ATTRS:
            return False
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr in _HOST_ATTRS:
            return False
        if is_elementwise(node):
            return any(self.maybe_device(child) for child in _operands(node))
        return True

    # expressions -----------------------------------------------------------------------
    def expr(self, node: ast.expr) -> ast.expr:
        if is_elementwise(node):
            leaves: list[ast.expr] = []
            self._collect(node, leaves)
            if any(self.maybe_device(leaf) for leaf in leaves):
                return self.fuse(node, leaves)
            return self._map_leaves(node)
        return self.call_or_leaf(node)

    def _collect(self, node: ast.expr, leaves: list) -> None:
        for child in _operands(node):
            if is_elementwise(child):
                self._collect(child, leaves)
            else:
                leaves.append(child)

    def _map_leaves(self, node: ast.expr) -> ast.expr:
        """`node` with its non-element-wise operands rewritten (scalar code on the host)."""
        leaves: list[ast.expr] = []
        self._collect(node, leaves)
        return _substitute(node, {id(leaf): self.call_or_leaf(leaf) for leaf in leaves})

    def fuse(self, node: ast.expr, leaves: list) -> ast.Call:
        """A call of the fused kernel of the element-wise tree `node`."""
        params: dict[str, str] = {}  # leaf text -> parameter
        args: list[ast.expr] = []
        replace: dict[int, str] = {}
        for leaf in leaves:
            if isinstance(leaf, ast.Constant) or _dotted(leaf) in _CONSTANTS:
                continue
            text = ast.unparse(leaf)
            if text not in params:
                params[text] = leaf.id if isinstance(leaf, ast.Name) else f"arg{len(args)}"
                args.append(self.call_or_leaf(leaf))
            replace[id(leaf)] = params[text]

        names = {key: ast.Name(id=param, ctx=ast.Load()) for key, param in replace.items()}
        body = _Scalarize().visit(_substitute(node, names))
        name = self.kernel(list(params.values()), body)
        return _call(name, args)

    def kernel(self, params: list[str], body: ast.expr) -> str:
        text = f"({', '.join(params)}) -> {ast.unparse(body)}"
        if text in self.kernel_names:
            return self.kernel_names[text]
        base = f"{self.target}_expr"
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}_{k}"
        self.used_names.add(name)
        self.kernel_names[text] = name
        fn = ast.FunctionDef(
            name=name, args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                                          kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[ast.Return(value=body)], decorator_list=[_name_or_path("_cu.elementwise")],
            returns=None, type_params=[])
        self.kernels.append(fn)
        return name

    def call_or_leaf(self, node: ast.expr) -> ast.expr:
        """A non-element-wise expression: array operations mapped onto `_cu`."""
        if isinstance(node, (ast.Name, ast.Constant)) or _dotted(node) in _CONSTANTS:
            return node
        if isinstance(node, ast.Attribute):
            if node.attr in _HOST_ATTRS:
                return node
            if node.attr == "T":
                return _call("_cu.transpose", [self.expr(node.value)])
            self.fail(node, f"the attribute `.{node.attr}`")
        if isinstance(node, ast.Subscript):
            return ast.Subscript(value=self.expr(node.value), slice=self.index(node.slice),
                                 ctx=node.ctx)
        if isinstance(node, (ast.Tuple, ast.List)):
            return type(node)(elts=[self.expr(e) for e in node.elts], ctx=node.ctx)
        if isinstance(node, ast.Call):
            return self.call(node)
        if is_elementwise(node):
            return self.expr(node)
        self.fail(node, f"`{ast.unparse(node)}`")

    def index(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Slice):
            return ast.Slice(*(None if part is None else self.expr(part)
                               for part in (node.lower, node.upper, node.step)))
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self.index(e) for e in node.elts], ctx=ast.Load())
        return self.expr(node)

    def call(self, node: ast.Call) -> ast.expr:
        path = _dotted(node.func) or ""
        args = [self.expr(a) for a in node.args]
        keywords = {k.arg: self.expr(k.value) for k in node.keywords}
        if path in ("range", "len", "min", "max", "int", "float", "abs"):
            return ast.Call(func=node.func, args=args,
                            keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()])
        if path.startswith("np.") and path[3:] in _REDUCERS:
            axis = keywords.pop("axis", None)
            how = ast.Constant(path[3:])
            if axis is None or (isinstance(axis, ast.Constant) and axis.value is None):
                return self.sum_call("_cu.total", [args[0], how], path[3:] == "sum")
            return self.sum_call("_cu.reduce_axis", [args[0], axis, how], path[3:] == "sum")
        if path.startswith("np.") and path[3:] in _NP_CALLS:
            return _call("_cu." + _NP_CALLS[path[3:]], args, keywords)
        if path.startswith("_adgen.") and path[7:] in _SUPPORT:
            name = path[7:]
            is_sum = name == "sum_like" or (name == "reduce_axis"
                                            and ast.unparse(node.args[2]) == "'sum'")
            return self.sum_call("_cu." + name, args, is_sum)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
            return _call("_cu." + _METHODS[node.func.attr], [self.expr(node.func.value), *args])
        self.fail(node, f"`{path or ast.unparse(node.func)}(...)`")

    def sum_call(self, path: str, args, is_sum: bool) -> ast.Call:
        keywords = {"atomic": ast.Constant(True)} if self.atomics and is_sum else {}
        return _call(path, args, keywords)

    # statements ------------------------------------------------------------------------
    def statements(self, body: list) -> list:
        out = []
        for stmt in body:
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt: ast.stmt) -> list:
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if isinstance(stmt, ast.Assign) and len(stmt.targets) != 1:
                self.fail(stmt, "a chained assignment")
            self.target = _target_name(target)
            value = stmt.value
            if isinstance(stmt, ast.AugAssign):  # value semantics: a new array
                value = ast.BinOp(left=_as_load(target), op=stmt.op, right=stmt.value)
            if isinstance(target, ast.Subscript):  # into a device array, on the device
                index = _index_value(self.index(target.slice))
                return [ast.Expr(value=_call("_cu.setitem", [
                    self.expr(target.value), index, self.expr(value)]))]
            if any(isinstance(t, ast.Subscript) for t in ast.walk(target)):
                self.fail(stmt, "an unpacking assignment into array elements")
            return [ast.Assign(targets=[target], value=self.expr(value), lineno=0)]
        if isinstance(stmt, ast.Return):
            self.target = "result"
            return [ast.Return(value=None if stmt.value is None else self.expr(stmt.value))]
        if isinstance(stmt, ast.For):
            self.target = _target_name(stmt.target)
            if not (isinstance(stmt.iter, ast.Call) and _dotted(stmt.iter.func) == "range"):
                self.fail(stmt, "a loop over something other than range()")
            loop = ast.Call(func=stmt.iter.func, args=[self.host(a) for a in stmt.iter.args],
                            keywords=[])
            return [ast.For(target=stmt.target, iter=loop,
                            body=self.statements(stmt.body), orelse=[], lineno=0)]
        if isinstance(stmt, ast.While):
            self.target = "condition"
            return [ast.While(test=self.host(stmt.test), body=self.statements(stmt.body),
                              orelse=[])]
        if isinstance(stmt, ast.If):
            self.target = "condition"
            return [ast.If(test=self.host(stmt.test), body=self.statements(stmt.body),
                           orelse=self.statements(stmt.orelse))]
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return [ast.Expr(value=self.call(stmt.value))]
        if isinstance(stmt, ast.Pass):
            return [stmt]
        self.fail(stmt, f"the statement `{ast.unparse(stmt).splitlines()[0]}`")

    def host(self, node: ast.expr) -> ast.expr:
        """A value the host's control flow needs (a device scalar is read back)."""
        rewritten = self.expr(node)
        if self.maybe_device(node):
            return _call("_cu.host", [rewritten])
        return rewritten


def _substitute(node: ast.AST, names: dict) -> ast.AST:
    """A copy of `node` in which the nodes whose ids are keys of `names` are replaced by
    their values."""
    if id(node) in names:
        return names[id(node)]
    clone = copy.copy(node)
    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            setattr(clone, field, [_substitute(v, names) if isinstance(v, ast.AST) else v
                                   for v in value])
        elif isinstance(value, ast.AST):
            setattr(clone, field, _substitute(value, names))
    return clone


def _index_value(node: ast.expr) -> ast.expr:
    """An index as a value (`a:b` -> `slice(a, b)`), to pass to a function."""
    if isinstance(node, ast.Slice):
        parts = [ast.Constant(None) if p is None else p for p in (node.lower, node.upper)]
        if node.step is not None:
            parts.append(node.step)
        return _call("slice", parts)
    if isinstance(node, ast.Tuple):
        return ast.Tuple(elts=[_index_value(e) for e in node.elts], ctx=ast.Load())
    return node


def _target_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Subscript):
        return _target_name(target.value)
    if isinstance(target, ast.Tuple) and target.elts:
        return _target_name(target.elts[0])
    return "expr"


def _as_load(node: ast.expr) -> ast.expr:
    clone = copy.deepcopy(node)
    for child in ast.walk(clone):
        if hasattr(child, "ctx"):
            child.ctx = ast.Load()
    return clone


def device_names(func: ast.FunctionDef, arrays: set[str]) -> set[str]:
    """`arrays` and every variable assigned from an expression that reads one of them
    (a reduction to a scalar stays on the device), to a fixed point over loops."""
    device = set(arrays)
    writer = ProgramWriter("", func, device, False)
    changed = True
    while changed:
        changed = False
        for node in ast.walk(func):
            targets, value = [], None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AugAssign):
                targets, value = [node.target], node.value
            if value is None or not writer.maybe_device(value):
                continue
            for target in targets:  # a write into an array defines no new variable
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for name in names:
                    if isinstance(name, ast.Name) and name.id not in device:
                        device.add(name.id)
                        changed = True
    return device


def array_variables(fn) -> set[str]:
    """The Python variables of `fn`'s generated code that hold arrays (codegen's layout
    names the IR's values)."""
    from adgen.codegen.layout import plan_layout
    from adgen.ir.types import ArrayType

    layout = plan_layout(fn)
    values = list(fn.params)

    def walk(region) -> None:
        values.extend(region.args)
        for op in region.ops:
            values.extend(op.results)
            for sub in op.regions:
                walk(sub)

    walk(fn.body)
    return {layout.name(v) for v in values if isinstance(v.type, ArrayType)}


def program_source(source: str, name: str, arrays: set[str], atomics: bool = False) -> str:
    """The CUDA array program for the function `name` of the generated module `source`
    (see the module's docstring); `arrays` names its array-typed variables."""
    tree = ast.parse(source)
    func = next(node for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == name)
    device = device_names(func, arrays)
    writer = ProgramWriter(source, func, device, atomics)
    writer.used_names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)} | {name}
    body = writer.statements(func.body)
    params = [a.arg for a in func.args.args if a.arg in arrays]
    if params:
        moved = ast.Assign(targets=[ast.Tuple(elts=[ast.Name(id=p, ctx=ast.Store())
                                                    for p in params], ctx=ast.Store())]
                           if len(params) > 1 else [ast.Name(id=params[0], ctx=ast.Store())],
                           value=(ast.Tuple(elts=[_call("_cu.array", [ast.Name(id=p)])
                                                  for p in params], ctx=ast.Load())
                                  if len(params) > 1 else _call("_cu.array",
                                                                [ast.Name(id=params[0])])),
                           lineno=0)
        body.insert(0, moved)
    program = ast.FunctionDef(name=name, args=func.args, body=body, decorator_list=[],
                              returns=None, type_params=[])
    text = _with_comments(source, func, program)
    header = ""
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        header += line + "\n"
    reductions = ("atomic (opt-in: the last bits of sums vary run to run)" if atomics
                  else "deterministic")
    header += (f"# backend: cuda (array program: element-wise expressions fused into kernels, "
               f"reductions {reductions})\n")
    kernels = "\n\n\n".join(ast.unparse(ast.fix_missing_locations(k)) for k in writer.kernels)
    return f"{header}\n{IMPORTS}\n\n{kernels}\n\n\n{text}" if kernels else \
        f"{header}\n{IMPORTS}\n\n{text}"


def _with_comments(source: str, func: ast.FunctionDef, program: ast.FunctionDef) -> str:
    """`program` printed with the `# line N: ...` comments of the original function
    before the statements they precede (matched by position in each block)."""
    comments = _statement_comments(source, func)
    _attach(func.body, program.body, comments)
    text = ast.unparse(ast.fix_missing_locations(program))
    out = []
    for line in text.splitlines():
        match = re.match(r"^(\s*)__adgen_comment__\((.*)\)$", line)
        if match:
            out.append(match.group(1) + ast.literal_eval(match.group(2)))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _statement_comments(source: str, func: ast.FunctionDef) -> dict:
    """id(statement) -> the comment lines right above it in `source`."""
    lines = source.splitlines()
    found = {}
    for node in ast.walk(func):
        for field in ("body", "orelse"):
            for stmt in getattr(node, field, []) if not isinstance(node, ast.expr) else []:
                if not isinstance(stmt, ast.stmt):
                    continue
                above, index = [], stmt.lineno - 2
                while index >= 0 and lines[index].strip().startswith("# line"):
                    above.insert(0, lines[index].strip())
                    index -= 1
                if above:
                    found[id(stmt)] = above
    return found


def _attach(original: list, rewritten: list, comments: dict) -> None:
    """Insert comment markers into `rewritten` (statement lists correspond 1:1, after a
    leading `_cu.array` move in the function body)."""
    offset = len(rewritten) - len(original)
    for k in range(len(original) - 1, -1, -1):
        old, new = original[k], rewritten[k + offset]
        for field in ("body", "orelse"):
            if isinstance(getattr(old, field, None), list) and isinstance(old, ast.stmt):
                _attach(getattr(old, field), getattr(new, field), comments)
        for text in reversed(comments.get(id(old), [])):
            rewritten.insert(k + offset, ast.Expr(value=_call("__adgen_comment__",
                                                               [ast.Constant(text)])))
