"""The IR text form (printer and parser round trip) and the verifier."""

from __future__ import annotations

import math

import pytest

from adgen.errors import AdgenInternalError
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.parser import parse_function
from adgen.ir.printer import print_function
from adgen.ir.types import BOOL, F32, F64, I64, ArrayType
from adgen.ir.values import Loc, Value
from adgen.ir.verify import verify

FILE = "demo.py"


# functions to print, parse and verify ---------------------------------------------------
def straight_line() -> Function:
    b = Builder(NameTable(), Loc(FILE, 2, 4))
    x, y = b.param("x", F64), b.param("y", F64)
    t = b.emit("mul", x, y, name="t")
    b.loc = Loc(FILE, 3, 8)
    s = b.emit("sin", t, name="s")
    c = b.const(2.0, F64)
    r = b.emit("add", s, c, name="r")
    return Function("straight", b.finish_region((x, y), (r,)), Loc(FILE, 1, 0))


def loop_with_if() -> Function:
    """acc = 1.0; for i in range(0, n, 1): if acc < 100.0: acc = acc * x"""
    b = Builder(NameTable(), Loc(FILE, 10, 4))
    x, n = b.param("x", F64), b.param("n", I64)
    start, step = b.const(0, I64, "start"), b.const(1, I64, "step")
    acc0 = b.const(1.0, F64, "acc")
    i, acc = b.value("i", I64), b.value("acc", F64)
    b.open_block()
    small = b.emit("lt", acc, b.const(100.0, F64, "lim"), name="small")
    b.open_block()
    then = b.close_block((), (b.emit("mul", acc, x, name="acc"),))
    b.open_block()
    orelse = b.close_block((), (acc,))
    (acc_if,) = b.control("if", (small,), (then, orelse), ("acc",), (F64,))
    body = b.close_block((i, acc), (acc_if,))
    (out,) = b.control("for", (start, n, step, acc0), (body,), ("acc",), (F64,))
    return Function("loop_with_if", b.finish_region((x, n), (out,)), Loc(FILE, 9, 0))


def while_loop() -> Function:
    """k = 0; while a < 10.0: a, k = a * 2.0, k + 1; return a, k"""
    b = Builder(NameTable(), Loc(FILE, 20, 4))
    a0 = b.param("a", F64)
    k0 = b.const(0, I64, "k")
    ca, ck = b.value("a", F64), b.value("k", I64)
    b.open_block()
    cond = b.close_block((ca, ck), (b.emit("lt", ca, b.const(10.0, F64, "ten"), name="go"),))
    a, k = b.value("a", F64), b.value("k", I64)
    b.open_block()
    a2 = b.emit("mul", a, b.const(2.0, F64, "two"), name="a")
    k2 = b.emit("add", k, b.const(1, I64, "one"), name="k")
    body = b.close_block((a, k), (a2, k2))
    outs = b.control("while", (a0, k0), (cond, body), ("a", "k"), (F64, I64))
    return Function("while_loop", b.finish_region((a0,), outs), Loc(FILE, 19, 0),
                    tuple_return=True)


LITERALS = [1.0, -0.5, 1e-08, -0.0, 1e16, 1.5e-300, float("inf"), float("-inf"), 0, -7,
            10**20, True, False, None, "plain", "it's \"quoted\"", "back\\slash\n\t",
            "not {a} @1:2 %x, = -> !f64", (), (1,), (1, 2.5, "a"), ((1, -2), (None,)),
            F64, I64, BOOL, F32, ArrayType(F64, 2), ArrayType(I64, 1), (F64, "f64")]


def literals() -> Function:
    """Untyped IR with typed values here and there, every literal kind, locs in 3 forms."""
    b = Builder(NameTable(), None)
    x = b.param("x", None)
    for k, value in enumerate(LITERALS):
        b.loc = (None, Loc("other.py", k + 1, 2), Loc(FILE, k + 1, 0))[k % 3]
        b.emit("const", attrs={"value": value, "type": None}, name="c", types=(None,))
    b.loc = Loc(FILE, 40, 4)
    y = b.emit("sin", x, name="y", types=(F64,))
    z = b.emit("cast", y, attrs={"to": "f32", "why": "narrow", "n": 2}, name="z")
    flag = b.emit("gt", x, z, name="flag", types=(BOOL,))
    b.open_block()
    then = b.close_block((), ())
    b.open_block()
    orelse = b.close_block((), ())
    b.control("if", (flag,), (then, orelse), (), ())  # an op without results
    return Function("literals", b.finish_region((x,), (z, y)), Loc(FILE, 39, 0),
                    tuple_return=True)


def no_loc() -> Function:
    """No function loc (op locs print with their file), no params, a bare return."""
    b = Builder(NameTable(), Loc("lib/util.py", 7, 0))
    c = b.const(True, BOOL, "flag")
    b.loc = None
    b.open_block()
    then = b.close_block((), ())
    b.open_block()
    orelse = b.close_block((), ())
    b.control("if", (c,), (then, orelse), (), ())
    return Function("no_loc", b.finish_region((), ()))


def with_nan() -> Function:
    b = Builder(NameTable(), Loc(FILE, 2, 4))
    c = b.const(float("nan"), F64)
    return Function("with_nan", b.finish_region((), (c,)), Loc(FILE, 1, 0))


FUNCTIONS = [straight_line, loop_with_if, while_loop, literals, no_loc]


# round trip --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", FUNCTIONS, ids=lambda f: f.__name__)
def test_round_trip(make):
    fn = make()
    text = print_function(fn)
    back = parse_function(text)
    assert back == fn
    assert print_function(back) == text


def test_round_trip_nan_compares_by_text():
    fn = with_nan()
    text = print_function(fn)
    back = parse_function(text)
    assert "value = nan" in text
    assert print_function(back) == text
    assert math.isnan(back.body.ops[0].attr("value"))
    assert back.body.ops[0].results == fn.body.ops[0].results  # all else is equal


def test_literals_keep_their_python_type():
    back = parse_function(print_function(literals()))
    values = [op.attr("value") for op in back.body.ops[:len(LITERALS)]]
    assert [type(v) for v in values] == [type(v) for v in LITERALS]
    assert math.copysign(1.0, values[LITERALS.index(-0.0)]) == -1.0


def test_golden_text():
    assert print_function(straight_line()) == GOLDEN_STRAIGHT
    assert print_function(while_loop()) == GOLDEN_WHILE
    assert parse_function(GOLDEN_WHILE) == while_loop()


GOLDEN_STRAIGHT = """\
func @straight(%x: f64, %y: f64) @"demo.py":1:0 {
  %t: f64 = mul %x, %y @2:4
  %s: f64 = sin %t @3:8
  %c: f64 = const {type = !f64, value = 2.0} @3:8
  %r: f64 = add %s, %c @3:8
  return %r
}
"""

GOLDEN_WHILE = """\
func @while_loop(%a: f64) -> tuple @"demo.py":19:0 {
  %k: i64 = const {type = !i64, value = 0} @20:4
  %a_4: f64, %k_4: i64 = while %a, %k @20:4 (%a_1: f64, %k_1: i64) {
    %ten: f64 = const {type = !f64, value = 10.0} @20:4
    %go: bool = lt %a_1, %ten @20:4
    yield %go
  } (%a_2: f64, %k_2: i64) {
    %two: f64 = const {type = !f64, value = 2.0} @20:4
    %a_3: f64 = mul %a_2, %two @20:4
    %one: i64 = const {type = !i64, value = 1} @20:4
    %k_3: i64 = add %k_2, %one @20:4
    yield %a_3, %k_3
  }
  return %a_4, %k_4
}
"""


def test_parse_ignores_blank_lines_and_indentation():
    text = GOLDEN_STRAIGHT.replace("\n  ", "\n\n      ")
    assert parse_function(text) == straight_line()


# parse errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, message", [
    ("func @f(%x: f64) {\n  %y: f64 sin %x\n  return %y\n}\n", 2, "expected '='"),
    ("func @f(%x: f65) {\n  return %x\n}\n", 1, "unknown type 'f65'"),
    ("func @f(%x: f64) {\n  %y: f64 = sin %x\n  return %z\n}\n", 3, "undefined value %z"),
    ("func @f(%x: f64) {\n  %y: f64 = sin %x\n  return %y\n", 4, "unexpected end"),
    ("func @f(%x: f64) {\n  %y: f64 = sin $x\n  return %y\n}\n", 2, "unexpected character"),
    ("func @f(%x: f64) {\n  return %x\n}\n}\n", 4, "after the end"),
    ("func @f(%x: f64) {\n  %c = const {value = 1.0 @2:3\n  return %c\n}\n", 2, "expected '}'"),
    ("func @f(%x: f64) {\n  %c = const {value = frob}\n  return %c\n}\n", 2, "literal"),
    ("func @f(%c: bool) {\n  if %c () {\n  } () {\n    yield\n  }\n  return\n}\n", 3,
     "expected an op or 'yield'"),
])
def test_parse_error_names_the_line(text, line, message):
    with pytest.raises(AdgenInternalError, match=rf"line {line}: .*{message}"):
        parse_function(text)


# verifier ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", FUNCTIONS + [with_nan], ids=lambda f: f.__name__)
def test_verify_accepts(make):
    verify(make())


def test_default_typedness():
    verify(literals())  # untyped params: untyped IR, typed values inside are fine
    with pytest.raises(AdgenInternalError, match="no type"):
        verify(literals(), typed=True)


X, Y, Z = Value("x", F64), Value("y", F64), Value("z", F64)
C = Value("c", BOOL)


def function(params, ops, returns) -> Function:
    return Function("bad", Region(tuple(params), tuple(ops), tuple(returns)))


def rejected(fn: Function) -> str:
    with pytest.raises(AdgenInternalError) as info:
        verify(fn)
    return str(info.value)


def test_rejects_use_before_definition():
    fn = function([X], [Op("sin", (Z,), (Y,)), Op("cos", (X,), (Z,))], [Y])
    assert "%z is used in sin before its definition" in rejected(fn)


def test_rejects_value_defined_twice():
    fn = function([X], [Op("sin", (X,), (Y,)), Op("cos", (X,), (Y,))], [Y])
    assert "%y is defined twice" in rejected(fn)


def test_rejects_use_from_sibling_region():
    then = Region((), (Op("sin", (X,), (Z,)),), (Z,))
    orelse = Region((), (), (Z,))  # %z belongs to the then region
    fn = function([X, C], [Op("if", (C,), (Y,), regions=(then, orelse))], [Y])
    message = rejected(fn)
    assert "%z is used in yield of else region of if outside the region that defines it" \
        in message
    assert "1 problem" in message


def test_rejects_wrong_number_of_yields():
    then = Region((), (), (X, X))
    orelse = Region((), (), (X,))
    fn = function([X, C], [Op("if", (C,), (Y,), regions=(then, orelse))], [Y])
    assert "yields of then region of if: 2 values, expected 1" in rejected(fn)


def test_rejects_f64_condition_of_if_in_typed_ir():
    then, orelse = Region((), (), (X,)), Region((), (), (X,))
    fn = function([X], [Op("if", (X,), (Y,), regions=(then, orelse))], [Y])
    assert "condition of if is f64, expected bool" in rejected(fn)


def test_rejects_for_with_disagreeing_carried_types():
    n, i, acc = Value("n", I64), Value("i", I64), Value("acc", I64)
    body = Region((i, acc), (), (acc,))
    loop = Op("for", (n, n, n, X), (Y,), regions=(body,), loc=Loc(FILE, 5, 4))
    message = rejected(function([X, n], [loop], [Y]))
    assert ("types of carried value #0 of for (demo.py:5:4) disagree: init f64, "
            "region arg i64, yield i64, result f64") in message


def test_rejects_result_type_against_type_rule():
    fn = function([X], [Op("sin", (X,), (Value("k", I64),))], [])
    assert "result types of sin: (i64) but its type rule gives (f64)" in rejected(fn)


def test_rejects_unknown_opcode():
    fn = function([X], [Op("frobnicate", (X,), (Y,))], [Y])
    assert "unknown opcode 'frobnicate'" in rejected(fn)


def test_lists_every_problem():
    fn = function([X], [Op("frobnicate", (Z,), (Y,)), Op("sin", (X,), (Y,))], [Y])
    message = rejected(fn)
    assert "3 problems" in message
    assert "unknown opcode" in message and "never defined" in message
    assert "defined twice" in message


def test_rejects_a_use_whose_type_differs_from_its_definition():
    fn = function([X], [Op("sin", (Value("x", F32),), (Y,))], [Y])
    assert "%x is used in sin with type f32 but defined with type f64" in rejected(fn)
