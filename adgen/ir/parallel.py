"""Parallel `for` loops (`for i in prange(n)`): what may connect their iterations.

A `for` op with the attribute `parallel` promises that its iterations may run
in any order, at the same time (Numba's `prange`). A value the loop carries
must then be one of:

* unchanged: the body yields the value it received;
* private: the body never reads the incoming value (every iteration assigns
  it afresh); after the loop it is undefined, so nothing may use the result
  (the frontend checks this);
* a reduction: `acc = acc + e` (or `-`, `*`), one operator, at most one update
  on every path through an iteration, the value read nowhere else: Numba's
  prange reductions, scalars or arrays;
* array writes: `a[idx] = v` / `a[idx] += v` at an index that involves the
  loop variable, the array read only at such indices.

`carried_values(body)` classifies every carried value of a loop body. With
`exact=True`, writes and reads of arrays must have the loop variable itself
at some integer position of their index, so that each iteration touches its
own elements: what a reverse loop needs to scatter adjoints (`x_bar[i] += g`)
in parallel. A loop whose values are all valid may be printed as a prange.

Example:
    >>> # for op in walk_ops(fn.body):
    >>> #     if is_parallel(op): print(carried_values(op.regions[0]))
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.values import Loc, Value

PARALLEL = "parallel"  # the attribute of a parallel `for`
REDUCTIONS = ("add", "sub", "mul")
WRITES = ("setitem", "index_add")
SHAPE_READS = ("dim", "len", "size")
_READ = "its previous value is read other than by one update (`+=`, `-=` or `*=`)"


def is_parallel(op: Op) -> bool:
    """Whether `op` is a `for` loop marked parallel."""
    return op.opcode == "for" and bool(op.attr(PARALLEL, False))


def without_parallel(attrs) -> tuple:
    """`attrs` (an op's sorted pairs) without the parallel mark: a serial loop."""
    return tuple((key, value) for key, value in attrs if key != PARALLEL)


@dataclass(frozen=True)
class Carried:
    """How one carried value connects the iterations of a parallel loop.

    `kind` is "unchanged", "private", "reduction", "writes" or "invalid";
    `operator` the reduction's opcode; `steps` the ops that update the value
    (the reduction's `acc + e`, or the writes); `values` every SSA value of the
    chain from the region argument to the yield (nested regions included);
    `problem` and `loc` say why and where an invalid one breaks the rules.
    """

    kind: str
    operator: str | None = None
    steps: tuple[Op, ...] = ()
    values: tuple[Value, ...] = ()
    problem: str = ""
    loc: Loc | None = None

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"


class _Broken(Exception):
    def __init__(self, problem: str, loc: Loc | None):
        super().__init__(problem)
        self.problem = problem
        self.loc = loc


@dataclass
class _Chain:
    """What following one carried value has found so far."""

    kind: str | None = None  # "reduction" or "writes", fixed by the first update
    operator: str | None = None
    steps: list = field(default_factory=list)
    values: list = field(default_factory=list)
    reads: list = field(default_factory=list)


def _uses_in(op: Op, name: str) -> int:
    count = sum(v.name == name for v in op.operands)
    for region in op.regions:
        count += _uses_in_region(region)[name]
    return count


def _uses_in_region(region: Region) -> Counter:
    """How often each value is used in `region` (operands and yields, nested too)."""
    counts = Counter(v.name for v in region.yields)
    for op in walk_ops(region):
        counts.update(v.name for v in op.operands)
        for sub in op.regions:
            counts.update(v.name for v in sub.yields)
    return counts


def _reads_in_region(region: Region, name: str) -> int:
    """Uses of `name` in `region`, except as the initial value of a nested loop's carried
    value that the loop never reads (an inner loop's variable, a value it assigns before
    reading it): the value flows through without being read."""
    count = sum(v.name == name for v in region.yields)
    for op in region.ops:
        if op.opcode in ("for", "while"):
            offset = 1 if op.opcode == "for" else 0
            inits = op.operands[3:] if offset else op.operands
            count += sum(v.name == name for v in op.operands[:3 * offset])
            count += sum(1 for k, v in enumerate(inits) if v.name == name and any(
                _reads_in_region(sub, sub.args[k + (offset if sub is op.regions[-1] else 0)].name)
                for sub in op.regions))
        else:
            count += sum(v.name == name for v in op.operands)
        count += sum(_reads_in_region(sub, name) for sub in op.regions)
    return count


def _integer_indices(op: Op) -> list[Value]:
    """The operands of `op`'s index (a read or a write) at integer positions."""
    from adgen.primitives.arrays import index_spec

    operands = list(op.operands[1:-1] if op.opcode in WRITES else op.operands[1:])
    found = []
    for part in index_spec(dict(op.attrs)):
        if part == "i":
            found.append(operands.pop(0))
        else:  # a slice: its bounds are operands too
            del operands[:part[1:].count("1")]
    return found


def _varying(body: Region) -> set[str]:
    """Values of `body` that may change with its loop variable (an over-approximation:
    everything computed from it, and every value of a region entered with it)."""
    varying = {body.args[0].name}

    def visit(region: Region) -> None:
        for op in region.ops:
            entered = any(v.name in varying for v in op.operands)
            for sub in op.regions:
                if entered:
                    varying.update(a.name for a in sub.args)
                visit(sub)
            inner = any(v.name in varying for sub in op.regions for v in sub.yields)
            inner = inner or any(v.name in varying for sub in op.regions
                                 for o in walk_ops(sub) for v in o.operands)
            if entered or inner:
                varying.update(r.name for r in op.results)

    visit(body)
    return varying


class _Follower:
    """Follows carried values through the body of one parallel loop."""

    def __init__(self, body: Region, exact: bool):
        self.body = body
        self.index = body.args[0]
        self.exact = exact
        self.varying = None if exact else _varying(body)

    def index_ok(self, op: Op) -> bool:
        indices = _integer_indices(op)
        if self.exact:
            return any(v.name == self.index.name for v in indices)
        return any(v.name in self.varying for v in indices)

    def is_read(self, op: Op, value: Value) -> bool:
        """A read of the array `value` that leaves it unchanged: its shape, or an element
        at an index that is fine for a parallel loop."""
        if op.opcode in SHAPE_READS or op.opcode == "getitem":
            uses = [v for v in op.operands if v.name == value.name]
            return (len(uses) == 1 and op.operands[0].name == value.name
                    and (op.opcode in SHAPE_READS or self.index_ok(op)))
        return False

    def slot(self, k: int) -> Carried:
        arg, result = self.body.args[1 + k], self.body.yields[k]
        if result.name == arg.name:
            return Carried("unchanged", values=(arg,))
        if _reads_in_region(self.body, arg.name) == 0:
            return Carried("private")
        chain = _Chain()
        try:
            end = self.follow(self.body, arg, chain)
            if end.name != result.name or [v.name for v in self.body.yields].count(end.name) > 1:
                raise _Broken(_READ, None)
            if chain.kind == "reduction" and chain.reads:
                raise _Broken("it is reduced and also read inside the loop", chain.reads[0].loc)
        except _Broken as broken:
            return Carried("invalid", problem=broken.problem, loc=broken.loc)
        return Carried(chain.kind, chain.operator, tuple(chain.steps), tuple(chain.values))

    def follow(self, region: Region, value: Value, chain: _Chain) -> Value:
        """Where `value` ends up at the end of `region` (its last version), checking that
        every use of every version on the way is a read or one allowed update."""
        counts = _uses_in_region(region)
        chain.values.append(value)
        seen, updates = 0, 0
        for op in region.ops:
            n = _uses_in(op, value.name)
            if n == 0:
                continue
            if chain.kind != "reduction" and self.is_read(op, value):
                chain.reads.append(op)
                seen += n
                continue
            if seen + n != counts[value.name]:
                raise _Broken(_READ, op.loc)
            updates += 1
            value = self.update(op, value, chain)
            if chain.kind == "reduction" and updates > 1:
                raise _Broken("it is updated more than once per iteration (Numba allows "
                              "one update: `acc += a + b`)", op.loc)
            chain.values.append(value)
            seen = 0
        if seen + [v.name for v in region.yields].count(value.name) != counts[value.name]:
            raise _Broken(_READ, None)
        return value

    def update(self, op: Op, value: Value, chain: _Chain) -> Value:
        """The version of `value` after `op`, which updates it."""
        if op.regions:
            return self.update_control(op, value, chain)
        uses = [k for k, v in enumerate(op.operands) if v.name == value.name]
        if op.opcode in REDUCTIONS and len(uses) == 1 and (op.opcode != "sub" or uses == [0]):
            self.settle(chain, "reduction", op)
            if chain.operator not in (None, op.opcode):
                raise _Broken(f"it is updated with both {chain.operator} and {op.opcode} "
                              "(Numba allows one operator per reduction)", op.loc)
            chain.operator = op.opcode
            chain.steps.append(op)
            return op.result
        if op.opcode in WRITES and uses == [0]:
            self.settle(chain, "writes", op)
            if not self.index_ok(op):
                where = "is not the loop variable" if self.exact else \
                    "does not involve the loop variable"
                raise _Broken(f"it is written at an index that {where}", op.loc)
            chain.steps.append(op)
            return op.result
        raise _Broken(_READ, op.loc)

    @staticmethod
    def settle(chain: _Chain, kind: str, op: Op) -> None:
        if chain.kind not in (None, kind):
            raise _Broken("it is both reduced and written by index", op.loc)
        chain.kind = kind

    def update_control(self, op: Op, value: Value, chain: _Chain) -> Value:
        if op.opcode == "if":
            if any(v.name == value.name for v in op.operands):
                raise _Broken("it decides a branch", op.loc)
            ends = [self.follow(region, value, chain) for region in op.regions]
            return op.results[self.position(op, ends)]
        offset = 1 if op.opcode == "for" else 0
        inits = op.operands[3:] if offset else op.operands
        slots = [k for k, v in enumerate(inits) if v.name == value.name]
        if len(slots) != 1 or _uses_in(op, value.name) != 1:
            raise _Broken(_READ, op.loc)
        (k,) = slots
        body = op.regions[-1]
        for region in op.regions[:-1]:  # a while loop's condition must not read it
            if _uses_in_region(region)[region.args[k].name]:
                raise _Broken("it decides when a loop stops", op.loc)
        end = self.follow(body, body.args[offset + k], chain)
        yields = [v.name for v in body.yields]
        if yields[k] != end.name or yields.count(end.name) != 1:
            raise _Broken(_READ, op.loc)
        return op.results[k]

    @staticmethod
    def position(op: Op, ends) -> int:
        """The one result position at which both branches of `op` yield the value."""
        places = [[k for k, v in enumerate(region.yields) if v.name == end.name]
                  for region, end in zip(op.regions, ends)]
        if any(len(p) != 1 for p in places) or places[0] != places[1]:
            raise _Broken(_READ, op.loc)
        return places[0][0]


def carried_values(body: Region, exact: bool = False) -> list[Carried]:
    """How each carried value of a parallel loop's `body` connects its iterations
    (one `Carried` per carried value, in order)."""
    follower = _Follower(body, exact)
    return [follower.slot(k) for k in range(len(body.yields))]


def parallel_ok(op: Op, exact: bool = False) -> bool:
    """Whether the `for` loop `op` may run its iterations in parallel."""
    return op.opcode == "for" and all(c.valid for c in carried_values(op.regions[0], exact))
