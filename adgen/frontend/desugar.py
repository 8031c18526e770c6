"""Desugaring of `break`, `continue` and early `return` into flags, on the AST.

After this pass a function body has exactly one `return`, its last statement,
and loops contain no `break`/`continue`: the statements after a possible exit
are guarded by `if not flag:`, a `while` gets `not flag` in its condition, and
a `for` loop that can break or return becomes a `while` over its range (so it
stops early, as the user's loop does). The lowering to IR then only sees
structured control flow.
"""

from __future__ import annotations

import ast
import copy

from adgen.frontend.parallel import is_prange_call

RET, RETURNED = "_ret", "_returned"


def _name(identifier: str, ctx=None) -> ast.Name:
    return ast.Name(id=identifier, ctx=ctx or ast.Load())


def _assign(target: str, value: ast.expr, where: ast.AST) -> ast.Assign:
    node = ast.Assign(targets=[_name(target, ast.Store())], value=value)
    return ast.fix_missing_locations(ast.copy_location(node, where))


def _located(node, where):
    ast.copy_location(node, where)
    return ast.fix_missing_locations(node)


def _not_any(flags, where) -> ast.expr:
    names = [_name(f) for f in flags]
    test = names[0] if len(names) == 1 else ast.BoolOp(op=ast.Or(), values=names)
    return _located(ast.UnaryOp(op=ast.Not(), operand=test), where)


def _is_range(node) -> bool:
    """`range(...)` or `prange(...)`: a loop over indices, not over an array's elements."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range") or is_prange_call(node)


def _contains(nodes, kinds) -> bool:
    """Whether any of `kinds` occurs in `nodes` at this loop level (not inside nested loops
    for break/continue; returns count at any depth)."""
    for node in nodes:
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.For, ast.While)):
            if ast.Return in kinds and any(isinstance(n, ast.Return) for n in ast.walk(node)):
                return True
            continue
        if isinstance(node, ast.If) and _contains(node.body + node.orelse, kinds):
            return True
    return False


class _Desugarer:
    def __init__(self, taken=()):
        self.counters: dict[str, int] = {}
        self.taken = set(taken)  # the user's names: flags never capture one of them
        self.uses_return_flag = False
        self.pending: list = []  # statements to put before the current loop
        self.ret = self.fresh(RET)
        self.returned = self.fresh(RETURNED)

    def fresh(self, base: str) -> str:
        while True:
            n = self.counters[base] = self.counters.get(base, 0) + 1
            name = f"{base}_{n}" if n > 1 else base
            if name not in self.taken:
                self.taken.add(name)
                return name

    # blocks -------------------------------------------------------------
    def block(self, stmts, loop):
        """Desugar a statement list; `loop` is (break_flag, continue_flag) or None."""
        out = []
        for index, stmt in enumerate(stmts):
            new, exits = self.statement(stmt, loop)
            out.extend(new)
            if exits:
                rest = self.block(stmts[index + 1:], loop)
                if rest:
                    out.append(_located(ast.If(test=_not_any(sorted(exits), stmt),
                                               body=rest, orelse=[]), stmts[index + 1]))
                return out
        return out

    def statement(self, stmt, loop):
        """Returns (statements, flags that may be set by this statement)."""
        if isinstance(stmt, ast.Return):
            self.uses_return_flag = True
            value = stmt.value if stmt.value is not None else ast.Constant(None)
            return [_assign(self.ret, value, stmt),
                    _assign(self.returned, ast.Constant(True), stmt)], {self.returned}
        if isinstance(stmt, ast.Break):
            return [_assign(loop[0], ast.Constant(True), stmt)], {loop[0]}
        if isinstance(stmt, ast.Continue):
            return [_assign(loop[1], ast.Constant(True), stmt)], {loop[1]}
        if isinstance(stmt, ast.If):
            body = self.block(stmt.body, loop)
            orelse = self.block(stmt.orelse, loop)
            exits = self.exits(stmt.body + stmt.orelse, loop)
            return [_located(ast.If(test=stmt.test, body=body or [ast.Pass()],
                                    orelse=orelse), stmt)], exits
        if isinstance(stmt, (ast.For, ast.While)):
            new, exits = self.loop(stmt)
            before, self.pending = self.pending, []
            return before + new, exits
        return [stmt], set()

    def exits(self, stmts, loop):
        flags = set()
        if loop and _contains(stmts, (ast.Break,)):
            flags.add(loop[0])
        if loop and _contains(stmts, (ast.Continue,)):
            flags.add(loop[1])
        if _contains(stmts, (ast.Return,)):
            flags.add(self.returned)
        return flags

    # loops ----------------------------------------------------------------
    def loop(self, stmt):
        if isinstance(stmt, ast.For) and not _is_range(stmt.iter):
            saved, self.pending = self.pending, []
            stmt = self.over_elements(stmt)
            # this loop's `_seq = <expression>` goes before it, not before a loop nested
            # in its body (which is desugared below and takes what is pending)
            mine, self.pending = self.pending, saved
            new, exits = self._loop(stmt)
            return mine + new, exits
        return self._loop(stmt)

    def _loop(self, stmt):
        breaks = _contains(stmt.body, (ast.Break,))
        continues = _contains(stmt.body, (ast.Continue,))
        returns = _contains(stmt.body, (ast.Return,))
        flags = (self.fresh("_break") if breaks else None,
                 self.fresh("_continue") if continues else None)
        body = self.block(stmt.body, flags)
        before = []
        if continues:
            body.insert(0, _assign(flags[1], ast.Constant(False), stmt))
        if breaks:
            before.append(_assign(flags[0], ast.Constant(False), stmt))
        stops = [f for f in (flags[0], self.returned if returns else None) if f]
        exits = {self.returned} if returns else set()
        if not stops:
            new = copy.copy(stmt)
            new.body = body
            return before + [new], exits
        if isinstance(stmt, ast.While):
            test = ast.BoolOp(op=ast.And(), values=[_not_any(stops, stmt), stmt.test])
            return before + [_located(ast.While(test=test, body=body, orelse=[]), stmt)], exits
        return before + self.for_as_while(stmt, body, stops), exits

    def over_elements(self, stmt):
        """`for x in a:` as `for _k in range(len(a)): x = a[_k]`."""
        seq = stmt.iter
        before = []
        # Python iterates over the object the name had when the loop started: a body that
        # rebinds the name (u = ...) must not change what is iterated; in-place writes
        # (u[i] = ...) to the same object are seen, so then the name itself is read
        rebinds = isinstance(seq, ast.Name) and seq.id in _rebound(stmt.body)
        if not isinstance(seq, ast.Name) or rebinds:
            name = self.fresh("_seq")
            self.pending.append(_assign(name, seq, stmt))
            seq = _name(name)
        k = self.fresh("_k")
        length = ast.Call(func=_name("len"), args=[seq], keywords=[])
        head = ast.Assign(targets=[stmt.target], value=ast.Subscript(
            value=_name(seq.id), slice=_name(k), ctx=ast.Load()))
        loop = ast.For(target=_name(k, ast.Store()),
                       iter=ast.Call(func=_name("range"), args=[length], keywords=[]),
                       body=[_located(head, stmt)] + list(stmt.body), orelse=[])
        del before
        return _located(loop, stmt)

    def for_as_while(self, stmt, body, stops):
        """`for i in range(a, b, s)` that may stop early, as a while loop."""
        call = stmt.iter
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id == "range" and isinstance(stmt.target, ast.Name)
                and 1 <= len(call.args) <= 3 and not call.keywords):
            return [_located(ast.For(target=stmt.target, iter=stmt.iter, body=body,
                                     orelse=[]), stmt)]  # the lowering reports it
        args = list(call.args)
        start = args[0] if len(args) > 1 else ast.Constant(0)
        stop = args[1] if len(args) > 1 else args[0]
        step = args[2] if len(args) > 2 else ast.Constant(1)
        var = stmt.target.id
        nxt, end, inc = self.fresh(f"_{var}_next"), self.fresh(f"_{var}_stop"), None
        out = [_assign(nxt, start, stmt), _assign(end, stop, stmt)]
        if isinstance(step, ast.Constant) or (isinstance(step, ast.UnaryOp)
                                              and isinstance(step.operand, ast.Constant)):
            inc = step
            positive = not isinstance(step, ast.UnaryOp)
            cmp = ast.Lt() if positive else ast.Gt()
            in_range = ast.Compare(left=_name(nxt), ops=[cmp], comparators=[_name(end)])
        else:
            inc_name = self.fresh(f"_{var}_step")
            out.append(_assign(inc_name, step, stmt))
            inc = _name(inc_name)
            up = ast.BoolOp(op=ast.And(), values=[
                ast.Compare(left=_name(inc_name), ops=[ast.Gt()], comparators=[ast.Constant(0)]),
                ast.Compare(left=_name(nxt), ops=[ast.Lt()], comparators=[_name(end)])])
            down = ast.BoolOp(op=ast.And(), values=[
                ast.Compare(left=_name(inc_name), ops=[ast.Lt()], comparators=[ast.Constant(0)]),
                ast.Compare(left=_name(nxt), ops=[ast.Gt()], comparators=[_name(end)])])
            in_range = ast.BoolOp(op=ast.Or(), values=[up, down])
        test = ast.BoolOp(op=ast.And(), values=[_not_any(stops, stmt), in_range])
        head = [_assign(var, _name(nxt), stmt),
                _assign(nxt, ast.BinOp(left=_name(nxt), op=ast.Add(), right=inc), stmt)]
        out.append(_located(ast.While(test=test, body=head + body, orelse=[]), stmt))
        return out


def desugar(tree: ast.FunctionDef) -> ast.FunctionDef:
    """A copy of `tree` whose only `return` is its last statement."""
    tree = copy.deepcopy(tree)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    taken |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # docstring
    simple = (body and isinstance(body[-1], ast.Return)
              and not _contains(body[:-1], (ast.Return,)))
    if simple or not body:
        if not body:
            tree.body = [ast.Return(value=ast.Constant(None))]
        else:
            tree.body = _Desugarer(taken).block(body[:-1], None) + [body[-1]]
        return tree
    sugar = _Desugarer(taken)
    new_body = [_assign(sugar.returned, ast.Constant(False), tree)] + sugar.block(body, None)
    new_body.append(_located(ast.Return(value=_name(sugar.ret)), body[-1]))
    tree.body = new_body
    return tree


def _rebound(body) -> set[str]:
    """Names that `body` binds to a new object (`u = ...`, `for u in ...`, `u, v = ...`);
    not `u += ...`, which on an array writes into the same object."""
    found = set()
    for node in ast.walk(ast.Module(body=list(body), type_ignores=[])):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.For)):
            targets = [node.target]
        for target in targets:
            found.update(n.id for n in ast.walk(target)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return found
