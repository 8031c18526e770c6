"""Where each value lives in the printed program: which single-use temporaries
are inlined into the expression that uses them, and which SSA values share one
Python variable (loop-carried values, `if` results, arrays written in place).

Values may share a variable when their live ranges do not interfere. Ranges
are positions in program order; uses inside a loop of a value defined outside
it last until the loop's end; uses in the other branch of an `if` do not
interfere with values defined in this branch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import ArrayType
from adgen.primitives import registry

TEMP = re.compile(r"tmp(_\d+)*")
LITERALS = ("const", "undef")
_NO_INLINE = ("setitem", "push", "empty", "zeros")


@dataclass
class Layout:
    inline: set[str] = field(default_factory=set)  # values printed as expressions
    literal: set[str] = field(default_factory=set)  # consts and undefs
    var: dict[str, str] = field(default_factory=dict)  # value -> Python variable
    defining: dict[str, Op] = field(default_factory=dict)
    shared: set[str] = field(default_factory=set)  # arrays that must be copied, not aliased

    def name(self, value) -> str:
        return self.var.get(value.name, value.name)


class _Builder:
    def __init__(self, fn: Function):
        self.fn = fn
        self.layout = Layout()
        self.uses: dict[str, list] = {}  # value -> [(kind, region id, op)]
        self.region_of_def: dict[str, int] = {}
        self.position: dict[str, tuple] = {}  # value -> (region id, index of defining op)
        self.regions: dict[int, Region] = {}
        self.params = {p.name for p in fn.params}
        self.pos = 0
        self.path: dict[int, tuple] = {}  # position -> ((op id, region index), ...)
        self.def_pos: dict[str, int] = {}
        self.use_pos: dict[str, list[int]] = {}
        self.parent: dict[str, str] = {}
        self.slot: dict[str, tuple] = {}  # loop result / region arg -> (loop id, slot)

    # pass 1: uses and inlining --------------------------------------------------------
    def count(self, region: Region) -> None:
        self.regions[id(region)] = region
        for index, op in enumerate(region.ops):
            for r in op.results:
                self.layout.defining[r.name] = op
                self.region_of_def[r.name] = id(region)
                self.position[r.name] = (id(region), index)
            if op.opcode in LITERALS:
                self.layout.literal.add(op.result.name)
            for v in op.operands:
                self.uses.setdefault(v.name, []).append(("op", id(region), op))
            for sub in op.regions:
                for a in sub.args:
                    self.region_of_def[a.name] = id(sub)
                self.count(sub)
                for v in sub.yields:
                    self.uses.setdefault(v.name, []).append(("yield", id(sub), op))
        if region is self.fn.body:
            for v in region.yields:
                self.uses.setdefault(v.name, []).append(("return", id(region), None))

    def choose_inlines(self) -> None:
        for name, op in self.layout.defining.items():
            if (op.regions or op.opcode in LITERALS or op.opcode in _NO_INLINE
                    or not registry.get(op.opcode).pure):
                continue
            if not TEMP.fullmatch(name):
                continue
            uses = self.uses.get(name, [])
            if isinstance(op.results[0].type, ArrayType) and not self.fusable(op, uses):
                continue
            if len(uses) == 1 and uses[0][1] == self.region_of_def[name] \
                    and not self.crosses_write(name, op, uses[0]):
                self.layout.inline.add(name)

    @staticmethod
    def fusable(op: Op, uses) -> bool:
        """Whether an array temporary may be printed inside the expression that uses it:
        an element-wise op read once, by an op that only reads it (not a store, not an
        in-place op). Numba fuses an array expression into one loop with one
        allocation; split into statements, each op allocates and makes its own pass
        over memory."""
        if not registry.get(op.opcode).extra.get("elementwise") or len(uses) != 1:
            return False
        kind, _, user = uses[0]
        if kind != "op" or not registry.has(user.opcode) or user.opcode in _NO_INLINE:
            return False
        prim = registry.get(user.opcode)
        return prim.pure and not prim.effect and prim.inplace_operand is None

    def crosses_write(self, name: str, op: Op, use) -> bool:
        """Whether an in-place write into one of `op`'s array operands lies between the
        definition of `name` and its use (inlining would then read the array too late)."""
        arrays = {v.name for v in op.operands if isinstance(v.type, ArrayType)}
        if not arrays:
            return False
        region_id, start = self.position[name]
        region = self.regions[region_id]
        user = use[2]
        stop = len(region.ops)
        for index in range(start + 1, len(region.ops)):
            if region.ops[index] is user:
                stop = index
                break
        for between in region.ops[start + 1:stop + 1]:
            for inner in [between] + [o for sub in between.regions for o in _walk(sub)]:
                prim = registry.get(inner.opcode) if registry.has(inner.opcode) else None
                if prim is not None and prim.inplace_operand is not None and \
                        inner.operands[prim.inplace_operand].name in arrays:
                    return True
        return False

    # pass 2: positions --------------------------------------------------------------------
    def tick(self, path) -> int:
        self.pos += 1
        self.path[self.pos] = path
        return self.pos

    def use(self, value, position, loops) -> None:
        name = value.name
        if name in self.layout.literal:
            return
        if name in self.layout.inline:
            for operand in self.layout.defining[name].operands:
                self.use(operand, position, loops)
            return
        self.use_pos.setdefault(name, []).append(position)
        for loop_start, loop_end_holder in loops:
            if self.def_pos.get(name, -1) < loop_start:
                loop_end_holder.append(name)

    def visit(self, region: Region, path: tuple, loops: list) -> None:
        for op in region.ops:
            start = self.tick(path)
            inlined = op.results and op.results[0].name in self.layout.inline
            if not inlined:
                for v in op.operands:
                    self.use(v, start, loops)
            if not op.regions:
                for r in op.results:
                    self.def_pos[r.name] = start
                continue
            pending: list[str] = []
            inner_loops = loops + [(start, pending)] if op.opcode in ("for", "while") else loops
            for index, sub in enumerate(op.regions):
                sub_path = path + ((id(op), index),)
                for a in sub.args:
                    self.def_pos[a.name] = start
                self.visit(sub, sub_path, inner_loops)
                at = self.tick(sub_path)
                for v in sub.yields:
                    self.use(v, at, inner_loops)
            end = self.tick(path)
            for name in pending:
                self.use_pos.setdefault(name, []).append(end)
            for r in op.results:
                self.def_pos[r.name] = end

    # pass 3: sharing variables ----------------------------------------------------------
    def find(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def members(self, root: str) -> list[str]:
        return [n for n in list(self.parent) + [root] if self.find(n) == root]

    def exclusive(self, p: int, q: int) -> bool:
        a, b = self.path[p], self.path[q]
        for x, y in zip(a, b):
            if x != y:
                return x[0] == y[0] and self._is_if(x[0])
        return False

    def _is_if(self, op_id: int) -> bool:
        return op_id in self.if_ops

    def end(self, name: str, against: int) -> int:
        ends = [p for p in self.use_pos.get(name, []) if not self.exclusive(p, against)]
        return max(ends, default=self.def_pos[name])

    def interferes(self, a: str, b: str) -> bool:
        da, db = self.def_pos[a], self.def_pos[b]
        if self.exclusive(da, db):
            return False
        return da < self.end(b, da) and db < self.end(a, db)

    def variable(self, name: str) -> bool:
        return (name in self.def_pos and name not in self.params
                and name not in self.layout.inline and name not in self.layout.literal)

    def merge(self, a: str, b: str, force: bool = False) -> bool:
        if not (self.variable(a) and self.variable(b)):
            return False
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.different_slots(ra, rb):
            return False
        if not force:
            for x in self.members(ra):
                for y in self.members(rb):
                    if self.interferes(x, y):
                        return False
        self.parent.setdefault(ra, ra)
        self.parent.setdefault(rb, rb)
        self.parent[rb] = ra
        return True

    def different_slots(self, ra: str, rb: str) -> bool:
        """Whether the two groups hold different carried values of one loop: each needs its
        own variable around the loop's back edge, even where one of them looks dead."""
        slots_a = {self.slot[m] for m in self.members(ra) if m in self.slot}
        slots_b = {self.slot[m] for m in self.members(rb) if m in self.slot}
        return any(x[0] == y[0] and x[1] != y[1] for x in slots_a for y in slots_b)

    def bind_slots(self, region: Region) -> None:
        """A loop's result, region arguments and carried variable are one variable per
        slot. Done for the whole function before any optional sharing, so that no
        optional merge is made without the slots it will be forced together with."""
        for op in region.ops:
            if op.opcode in ("for", "while"):
                offset = 1 if op.opcode == "for" else 0
                body = op.regions[-1]
                for k, result in enumerate(op.results):
                    self.slot[result.name] = (id(op), k)
                    for sub in op.regions:
                        arg = sub.args[offset + k] if sub is body else sub.args[k]
                        self.slot[arg.name] = (id(op), k)
                        self.merge(result.name, arg.name, force=True)
            for sub in op.regions:
                self.bind_slots(sub)

    def share(self, region: Region) -> None:
        for op in region.ops:
            if op.opcode in ("for", "while"):
                offset = 1 if op.opcode == "for" else 0
                inits = op.operands[3:] if offset else op.operands
                body = op.regions[-1]
                for k, result in enumerate(op.results):
                    self.merge(result.name, body.yields[k].name)
                    self.merge(result.name, inits[k].name)
            elif op.opcode == "if":
                for k, result in enumerate(op.results):
                    for sub in op.regions:
                        self.merge(result.name, sub.yields[k].name)
            elif op.results and registry.has(op.opcode):
                prim = registry.get(op.opcode)
                if prim.inplace_operand is not None:
                    self.merge(op.result.name, op.operands[prim.inplace_operand].name)
                else:  # `s_1 = s + x` prints as `s = s + x` when s is dead afterwards
                    base = _base(op.result.name)
                    for v in op.operands:
                        if _base(v.name) == base and v.type == op.result.type:
                            self.merge(op.result.name, v.name)
                            break
            for sub in op.regions:
                self.share(sub)

    def run(self) -> Layout:
        self.count(self.fn.body)
        self.choose_inlines()
        self.if_ops = set()
        self._collect_ifs(self.fn.body)
        for p in self.fn.params:
            self.def_pos[p.name] = 0
        self.path[0] = ()
        self.visit(self.fn.body, (), [])
        at = self.tick(())
        for v in self.fn.body.yields:
            self.use(v, at, [])
        self.bind_slots(self.fn.body)
        self.share(self.fn.body)
        for name, uses in self.uses.items():
            if len(uses) > 1 or name in self.params:
                self.layout.shared.add(name)
        for name in list(self.parent):
            root = self.find(name)
            group = self.members(root)
            chosen = min(group, key=_shortest)
            for member in group:
                self.layout.var[member] = chosen
        return self.layout

    def _collect_ifs(self, region: Region) -> None:
        for op in region.ops:
            if op.opcode == "if":
                self.if_ops.add(id(op))
            for sub in op.regions:
                self._collect_ifs(sub)


_VERSION = re.compile(r"(_\d+)+$")


def _base(name: str) -> str:
    """The user's variable behind an SSA name: `x_bar_2` -> `x_bar`."""
    return _VERSION.sub("", name)


def _walk(region: Region):
    for op in region.ops:
        yield op
        for sub in op.regions:
            yield from _walk(sub)


def _shortest(name: str):
    return (len(name), name)


def plan_layout(fn: Function) -> Layout:
    """Decide inlining and variable sharing for printing `fn`."""
    return _Builder(fn).run()
