"""A generic audit of every primitive in the registry: a new primitive is
tested as soon as it has a sampler in `samplers.py` (and the meta-test below
fails until it has a sampler or a NOT_AUDITED reason).

1. The rules, evaluated on numbers (`adgen.testing.check_primitive`), at 32
   random float64 points of each sampled primitive: the tangent rule against
   central finite differences of `impl` (rtol 1e-6), the adjoint rule against
   the tangent rule by the dot-product test (rel 1e-12), and the same rules in
   float32 (types stay f32; forward and reverse agree to rtol 1e-4). For
   `nondiff` primitives: finite differences of `impl` are 0 at the points.
2. Through the real compiler: for each primitive reachable from Python source
   (its `python_names`, and the operators), a tiny module calling it is
   written to a temp dir and imported, and `adgen.testing.check_grads` checks
   forward and reverse mode on the python backend (4 points, every spelling)
   and on the numba backend (1 point, one spelling).
"""

import importlib.util
import pathlib
import sys
import zlib

import numpy as np
import pytest

import adgen
from adgen.primitives.registry import _REGISTRY
from adgen.testing import check_grads, check_primitive

_HERE = pathlib.Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
from samplers import NOT_AUDITED, SAMPLERS  # noqa: E402

N_POINTS = 32

# Known bugs, reported to the compiler's owners: xfail (strict, so a fix shows up).
# Spellings that the frontend refuses (none at the moment); each entry is an explicit,
# strict xfail with the reason, removed as soon as the frontend accepts the spelling.
FRONTEND_BUGS: dict[str, str] = {}

# Operators reach their primitives through syntax rather than python_names.
OPERATOR_FORMS = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "pow": "{0} ** {1}", "mod": "{0} % {1}", "floordiv": "{0} // {1}", "neg": "-{0}",
}


def _registered(names):
    return sorted(n for n in names if n in _REGISTRY)


def _points(name, n, salt="rules"):
    rng = np.random.default_rng([zlib.crc32(name.encode()), zlib.crc32(salt.encode())])
    return [tuple(SAMPLERS[name](rng)) for _ in range(n)]


SAMPLED = _registered(SAMPLERS)
DIFFERENTIABLE = [n for n in SAMPLED if not _REGISTRY[n].nondiff]
NONDIFF = [n for n in SAMPLED if _REGISTRY[n].nondiff]


# the tables cover the registry ---------------------------------------------------------
def test_every_primitive_has_a_sampler_or_a_reason():
    # adgen's own primitives; users' (tests/extend registers some) are checked there
    registry = {name for name, prim in _REGISTRY.items() if not prim.extra.get("user")}
    missing = sorted(registry - set(SAMPLERS) - set(NOT_AUDITED))
    assert not missing, (
        f"primitives without a sampler in tests/primitives/samplers.py: {missing}; add a "
        "sampler (a point inside the domain where it is differentiable) or a NOT_AUDITED "
        "reason")
    both = sorted(set(SAMPLERS) & set(NOT_AUDITED))
    assert not both, f"primitives both sampled and NOT_AUDITED: {both}"
    stale = sorted((set(SAMPLERS) | set(NOT_AUDITED)) - registry)
    assert not stale, f"samplers.py names primitives that are not registered: {stale}"
    assert all(reason.strip() for reason in NOT_AUDITED.values())


def test_samplers_draw_points_of_the_right_arity_inside_the_domain():
    rng = np.random.default_rng(0)
    for name in SAMPLED:
        prim = _REGISTRY[name]
        for _ in range(8):
            point = SAMPLERS[name](rng)
            assert isinstance(point, tuple), name
            with np.errstate(all="raise"):
                out = prim.impl(*point)
            assert np.isfinite(float(out)), (name, point, out)


# 1. the rules on numbers ------------------------------------------------------------------
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_rules_match_finite_differences_and_each_other(name):
    check_primitive(name, _points(name, N_POINTS), rtol=1e-6, dot_rtol=1e-12,
                    float32=True, float32_rtol=1e-4)


@pytest.mark.parametrize("name", NONDIFF)
def test_nondiff_primitives_have_zero_derivative(name):
    check_primitive(name, _points(name, N_POINTS))


@pytest.mark.parametrize("to", ["f64", "i64", "bool"])
def test_cast_rules(to):
    """cast needs its 'to' attribute, which the generic table cannot give."""
    rng = np.random.default_rng(7)
    points = [(float(rng.integers(-5, 6)) + rng.uniform(0.05, 0.95),) for _ in range(N_POINTS)]
    check_primitive("cast", points, attrs={"to": to})


# 2. through the compiler ------------------------------------------------------------------
def _spellings(name):
    """(label, expression template) for each way Python source reaches `name`."""
    prim = _REGISTRY[name]
    out = []
    for pyname in prim.python_names:
        module, _, attr = pyname.rpartition(".")
        callee = attr if module == "builtins" else pyname
        out.append((pyname, callee + "({args})"))
    if name in OPERATOR_FORMS:
        out.append((f"operator {OPERATOR_FORMS[name].format('x', 'y')}", OPERATOR_FORMS[name]))
    return out


def _has_float_result(name):
    point = SAMPLERS[name](np.random.default_rng(0))
    out = np.asarray(_REGISTRY[name].impl(*point))
    return out.ndim == 0 and np.issubdtype(out.dtype, np.floating)


REACHABLE = [n for n in SAMPLED if _spellings(n) and _has_float_result(n)]
CASES = [(n, label, template) for n in REACHABLE for label, template in _spellings(n)]


def _mark(label):
    if label in FRONTEND_BUGS:
        return [pytest.mark.xfail(reason=FRONTEND_BUGS[label], raises=adgen.AdgenSyntaxError,
                                  strict=True)]
    return []


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Imports (once per primitive) a module with one function per spelling."""
    folder = tmp_path_factory.mktemp("audit_sources")
    modules = {}

    def get(name):
        if name not in modules:
            arity = len(SAMPLERS[name](np.random.default_rng(0)))
            params = ", ".join(f"x{i}" for i in range(arity))
            lines = ["import math", "import numpy", ""]
            for k, (_, template) in enumerate(_spellings(name)):
                if "{args}" in template:
                    expr = template.format(args=params)
                else:
                    expr = template.format(*[f"x{i}" for i in range(arity)])
                lines += ["", f"def {name}_{k}({params}):", f"    return {expr}", ""]
            path = folder / f"audit_{name}.py"
            path.write_text("\n".join(lines), encoding="utf-8")
            spec = importlib.util.spec_from_file_location(f"adgen_audit_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules[name] = module
        return modules[name]

    return get


def _function_and_argnums(generated, name, label):
    index = [lab for lab, _ in _spellings(name)].index(label)
    f = getattr(generated(name), f"{name}_{index}")
    point = SAMPLERS[name](np.random.default_rng(0))
    argnums = tuple(i for i, v in enumerate(point) if isinstance(v, float))
    return f, argnums


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, label, template",
                         [pytest.param(*case, marks=_mark(case[1]), id=f"{case[0]}-{case[1]}")
                          for case in CASES])
def test_compiled_python_backend(generated, name, label, template):
    f, argnums = _function_and_argnums(generated, name, label)
    for point in _points(name, 4, salt="compiled"):
        check_grads(f, point, argnums=argnums, modes=("fwd", "rev"), backend="python")


NUMBA_CASES = []
for _name in REACHABLE:
    _labels = [lab for lab, _ in _spellings(_name)]
    _usable = [lab for lab in _labels if lab not in FRONTEND_BUGS]
    NUMBA_CASES.append(pytest.param(_name, (_usable or _labels)[0],
                                    marks=[] if _usable else _mark(_labels[0]), id=_name))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, label", NUMBA_CASES)
def test_compiled_numba_backend(generated, name, label):
    f, argnums = _function_and_argnums(generated, name, label)
    (point,) = _points(name, 1, salt="numba")
    check_grads(f, point, argnums=argnums, modes=("fwd", "rev"), backend="numba")
