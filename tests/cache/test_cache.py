"""The compile cache: its key, edits of a function or of a callee in another
module, threads, processes starting cold on one cache directory, and damaged
cache files (the generated .py, Numba's .nbi and .nbc), which are rebuilt."""

import importlib
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import adgen
import adgen.api
from adgen.codegen import loader

REPO = Path(adgen.__file__).resolve().parents[1]

TARGET = '''import math


def f(x):
    s = 0.0
    for i in range(3):
        s = s + math.sin(x * (i + 1))
    return s
'''


def target_grad(x):
    return sum((i + 1) * math.cos(x * (i + 1)) for i in range(3))


# ------------------------------------------------------------------------------ helpers
@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache directory for this test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ADGEN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def loads(monkeypatch):
    """The stems of the modules `Transformed.compile` loads, in order."""
    seen = []
    real = adgen.api.load_function

    def counting(source, stem, name, backend):
        seen.append(stem)
        return real(source, stem, name, backend)

    monkeypatch.setattr(adgen.api, "load_function", counting)
    return seen


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """write(stem, text) -> the imported module (uniquely named) of a file in tmp_path."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    names = []

    def write(stem, text):
        name = f"adgen_cache_{stem}_{uuid.uuid4().hex[:8]}"
        (folder / f"{name}.py").write_text(text)
        names.append(name)
        return importlib.import_module(name)

    yield write
    for name in names:
        sys.modules.pop(name, None)


def rewrite(module, old, new):
    """Edit a module's file in place; its mtime moves 2 s on, so the edit is always seen."""
    path = Path(module.__file__)
    path.write_text(path.read_text().replace(old, new))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def forget_generated_modules():
    """What a new process starts with: no generated module imported."""
    for name in [n for n in sys.modules if n.startswith("adgen_generated.")]:
        del sys.modules[name]


def numba_stats(transformed):
    """(cache hits, cache misses) of the one Numba dispatcher of `transformed`."""
    (compiled,) = transformed.cache.values()
    stats = compiled.func.stats
    return sum(stats.cache_hits.values()), sum(stats.cache_misses.values())


# ------------------------------------------------------------------------------ the key
def test_key_covers_source_backend_and_versions(monkeypatch):
    source = "def f(x):\n    return x\n"
    key = loader.cache_key(source, "numba")
    assert loader.cache_key(source, "numba") == key
    assert loader.cache_key(source + "\n", "numba") != key
    assert loader.cache_key(source, "python") != key
    real = loader.versions()
    assert (real[0], real[2]) == (adgen.__version__, np.__version__)
    for i in range(3):  # adgen, Numba, NumPy
        other = list(real)
        other[i] += "+changed"
        monkeypatch.setattr(loader, "versions", lambda other=tuple(other): other)
        assert loader.cache_key(source, "numba") != key


def test_generated_file_is_named_by_the_key(cache):
    df = adgen.grad(square, backend="python")
    assert df(3.0) == 6.0
    (compiled,) = df.cache.values()
    (path,) = cache.glob("*.py")
    assert path.name == f"square_grad_{loader.cache_key(compiled.source, 'python')}.py"
    assert path.read_text() == compiled.source


def square(x):
    return x * x


# ------------------------------------------------------------------------------ edits
@pytest.mark.parametrize("backend, reload", [("python", False), ("python", True),
                                             ("numba", False)])
def test_editing_a_callee_in_another_module_recompiles(modules, loads, backend, reload):
    callee = modules("callee", "def g(x):\n    return x * x\n")
    caller = modules("caller", f"import {callee.__name__}\n\n\ndef f(x):\n"
                               f"    return {callee.__name__}.g(x) + 1.0\n")
    df = adgen.grad(caller.f, backend=backend)
    d2f = adgen.hessian(caller.f, backend=backend)
    assert df(3.0) == 6.0
    assert d2f(3.0) == pytest.approx(2.0)
    assert df(3.0) == 6.0 and len(loads) == 2  # nothing changed: nothing recompiled

    rewrite(callee, "x * x", "x * x * x")
    if reload:
        importlib.reload(callee)
    assert df(3.0) == 27.0
    assert d2f(3.0) == pytest.approx(18.0)
    assert len(loads) == 4

    rewrite(caller, "+ 1.0", "* 2.0")  # and an edit of the function's own file
    assert df(3.0) == 54.0
    assert len(loads) == 5
    assert df(3.0) == 54.0 and len(loads) == 5


def test_ir_is_relowered_only_when_a_source_changes(modules):
    callee = modules("callee", "def g(x):\n    return x * x\n")
    caller = modules("caller", f"from {callee.__name__} import g\n\n\ndef f(x):\n"
                               "    return g(x)\n")
    sources, first = adgen.api._lowered(caller.f)
    assert {s[0] for s in sources} == {caller.__file__, callee.__file__}
    assert adgen.api._lowered(caller.f)[1] is first
    rewrite(callee, "x * x", "x - x")
    assert adgen.api._lowered(caller.f)[1] is not first
    assert adgen.grad(caller.f, backend="python")(3.0) == 0.0


# ------------------------------------------------------------------------------ threads
def run_threads(n, work):
    """`work(i)` in n threads started together; their results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_eight_threads_compile_a_new_gradient_once(cache, modules, loads):
    df = adgen.grad(modules("target", TARGET).f)
    xs = [0.1 * (i + 1) for i in range(8)]
    results = run_threads(8, lambda i: df(xs[i]))
    assert results == [pytest.approx(target_grad(x), rel=1e-12) for x in xs]
    assert len(loads) == 1
    assert numba_stats(df) == (0, 1)  # one Numba compilation, cache empty before
    assert len(df.cache) == 1 and len(next(iter(df.cache.values())).func.signatures) == 1


def test_eight_transforms_of_one_function_share_one_module(cache, modules):
    f = modules("target", TARGET).f
    transforms = [adgen.grad(f) for _ in range(8)]
    results = run_threads(8, lambda i: transforms[i](0.7))
    assert results == [pytest.approx(target_grad(0.7), rel=1e-12)] * 8
    funcs = {id(next(iter(t.cache.values())).func) for t in transforms}
    assert len(funcs) == 1  # one module, one dispatcher
    assert len(list(cache.glob("*.py"))) == 1 and not list(cache.glob("*.tmp"))
    assert numba_stats(transforms[0]) == (0, 1)  # compiled once


def test_readers_never_see_a_half_written_module(cache):
    source = "# padding\n" * 50_000 + "def f(x):\n    return x\n"  # big: writes take time
    path = Path(loader.write_module(source, "big"))
    stop = threading.Event()
    seen = []

    def write(_):
        while not stop.is_set():
            path.unlink(missing_ok=True)
            loader.write_module(source, "big")

    def read(_):
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                seen.append(path.read_text() == source)
            except FileNotFoundError:
                pass
        stop.set()

    run_threads(4, lambda i: (write if i < 2 else read)(i))
    assert seen and all(seen)
    assert not list(cache.glob("*.tmp"))


# ------------------------------------------------------------------------------ processes
WORKER = '''import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import adgen, numba  # the slow imports, before the start line
import {module} as target
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.005)
df = adgen.grad(target.f)
value = df(0.7)
stats = next(iter(df.cache.values())).func.stats
print(json.dumps({{"value": value, "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}}))
'''


def start_workers(n, script, modules_dir, cache, tmp_path):
    env = dict(os.environ, ADGEN_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{uuid.uuid4().hex}" for _ in range(n)]
    procs = [subprocess.Popen([sys.executable, str(script), str(modules_dir), str(r), str(go)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for r in readies]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in readies) and time.monotonic() < deadline:
        if any(p.poll() not in (None, 0) for p in procs):
            break
        time.sleep(0.01)
    go.touch()  # all start compiling at once
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


def test_four_processes_start_cold_on_one_cache_then_survive_damage(cache, modules, tmp_path):
    target = modules("target", TARGET)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(module=target.__name__))
    modules_dir = Path(target.__file__).parent
    expected = target_grad(0.7)

    outs = start_workers(4, script, modules_dir, cache, tmp_path)
    assert [o["value"] for o in outs] == [pytest.approx(expected, rel=1e-12)] * 4
    (py,) = cache.glob("*.py")
    (nbi,) = cache.glob("__pycache__/*.nbi")
    assert list(cache.glob("__pycache__/*.nbc")) and not list(cache.glob("**/*.tmp*"))

    (out,) = start_workers(1, script, modules_dir, cache, tmp_path)
    assert out == {"value": pytest.approx(expected, rel=1e-12), "hits": 1, "misses": 0}

    for path in [py, nbi, *cache.glob("__pycache__/*.nbc")]:
        path.write_bytes(os.urandom(64))
    (out,) = start_workers(1, script, modules_dir, cache, tmp_path)
    assert out == {"value": pytest.approx(expected, rel=1e-12), "hits": 0, "misses": 1}
    (out,) = start_workers(1, script, modules_dir, cache, tmp_path)  # rebuilt, and read back
    assert out == {"value": pytest.approx(expected, rel=1e-12), "hits": 1, "misses": 0}


# ------------------------------------------------------------------------------ damage
def garble(path):
    path.write_bytes(os.urandom(max(path.stat().st_size, 64)))


def truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def empty(path):
    path.write_bytes(b"")


@pytest.mark.parametrize("pattern, damage", [
    ("*.py", garble), ("*.py", truncate),
    ("__pycache__/*.nbi", garble), ("__pycache__/*.nbi", truncate),
    ("__pycache__/*.nbi", empty),
    ("__pycache__/*.nbc", garble), ("__pycache__/*.nbc", truncate),
], ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_damaged_cache_file_is_detected_and_rebuilt(cache, modules, pattern, damage):
    f = modules("target", TARGET).f
    expected = target_grad(0.7)
    assert adgen.grad(f)(0.7) == pytest.approx(expected, rel=1e-12)
    (victim,) = cache.glob(pattern)
    damage(victim)

    forget_generated_modules()  # as in a new process
    df = adgen.grad(f)
    assert df(0.7) == pytest.approx(expected, rel=1e-12)
    if pattern == "*.py":  # rewritten as it was: Numba's entry for that text may stand
        assert sum(numba_stats(df)) == 1
    else:
        assert numba_stats(df) == (0, 1)  # detected: compiled again
    (py,) = cache.glob("*.py")
    assert py.read_text() == next(iter(df.cache.values())).source

    forget_generated_modules()
    df = adgen.grad(f)
    assert df(0.7) == pytest.approx(expected, rel=1e-12)
    assert numba_stats(df) == (1, 0)  # rebuilt: read back from the cache


def test_module_file_damaged_while_imported(cache):
    df = adgen.grad(square, backend="python")
    assert df(3.0) == 6.0
    (py,) = cache.glob("*.py")
    py.write_text("garbage(")
    assert adgen.grad(square, backend="python")(3.0) == 6.0  # reloads
    assert py.read_text() == next(iter(df.cache.values())).source


def test_imported_module_is_not_reused_for_another_text(cache, monkeypatch):
    monkeypatch.setattr(loader, "cache_key", lambda source, backend: "0" * 16)  # a collision
    one = loader.load_function("def f(x):\n    return x + 1.0\n", "same", "f", "python")
    two = loader.load_function("def f(x):\n    return x + 2.0\n", "same", "f", "python")
    assert (one(1.0), two(1.0)) == (2.0, 3.0)
    assert loader.load_function("def f(x):\n    return x + 2.0\n", "same", "f", "python") is two
