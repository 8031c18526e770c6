"""Per-sample kernels: the generated derivative function, called once per sample.

`per_sample_module` writes one module (through `adgen.codegen.loader`, so it
lands in the cache directory like every generated module) holding

* the derivative function as adgen generated it for one sample's scalar
  types, as a device function (backend "cuda": `@cuda.jit(device=True)`, tapes
  in `cuda.local.array`s, see `adgen.cuda.device`) or as it is (backend
  "numba": `@numba.njit`; "python": plain Python);
* a kernel `<name>_vmap(<batched and broadcast arguments>, <outputs>)` whose
  thread `i` (a grid-stride loop on the GPU, `numba.prange` on the CPU) reads
  sample `i` of every batched argument (`a[i]`) and the broadcast ones as they
  are, calls the function (static arguments are written into the call as
  literals), and writes each result into its output array.

For example, the gradient of the logistic map w.r.t. r and x0 for a static
trip count, with r and x0 batched:

    @cuda.jit
    def f_grad_vmap(r, x0, r_bar_out, x_bar_out):
        for i in range(cuda.grid(1), r_bar_out.shape[0], cuda.gridsize(1)):
            result = f_grad(r[i], x0[i], 100)
            r_bar_out[i] = result[0]
            x_bar_out[i] = result[1]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adgen.codegen.loader import load_function
from adgen.cuda.device import device_function_source, function_text

CUDA_IMPORTS = ("import math\n\nimport numba\nimport numpy as np\nfrom numba import cuda\n\n"
                "import adgen.cuda.support as _adgen\n")
CPU_IMPORTS = ("import math\n\nimport numba\nimport numpy as np\n\n"
               "import adgen.codegen.support as _adgen\n")


@dataclass
class Call:
    """One call of the function per sample: its argument expressions (in terms of the
    kernel's parameters and `i`), and (result index, output array) pairs."""

    args: list
    outputs: list = field(default_factory=list)


def _header(source: str, extra: list[str]) -> str:
    lines = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines + [f"# {e}" for e in extra]) + "\n"


def kernel_source(name: str, kernel_params: list[str], calls: list[Call], tuple_result: bool,
                  backend: str) -> str:
    """The text of the kernel `<name>_vmap` (see the module's docstring)."""
    first_out = calls[0].outputs[0][1]
    if backend == "cuda":
        lines = ["@cuda.jit",
                 f"def {name}_vmap({', '.join(kernel_params)}):",
                 f"    for i in range(cuda.grid(1), {first_out}.shape[0], cuda.gridsize(1)):"]
    elif backend == "numba":
        lines = ['@numba.njit(parallel=True, error_model="numpy")',
                 f"def {name}_vmap({', '.join(kernel_params)}):",
                 f"    for i in numba.prange({first_out}.shape[0]):"]
    else:
        lines = [f"def {name}_vmap({', '.join(kernel_params)}):",
                 f"    for i in range({first_out}.shape[0]):"]
    for number, call in enumerate(calls):
        result = "result" if len(calls) == 1 else f"result_{number}"
        lines.append(f"        {result} = {name}({', '.join(call.args)})")
        for index, out in call.outputs:
            value = f"{result}[{index}]" if tuple_result else result
            lines.append(f"        {out}[i] = {value}")
    return "\n".join(lines) + "\n"


def per_sample_module(compiled_source: str, name: str, kernel_params: list[str],
                      calls: list[Call], tuple_result: bool, backend: str, description: str,
                      static_hint=None):
    """(module text, kernel, function) for the per-sample kernel of the function `name`
    of `compiled_source` (an adgen-generated module), for backend "cuda", "numba" or
    "python"."""
    users = [line for line in compiled_source.splitlines()
             if line == "import adgen.extend as _adgen_ext"
             or re.match(r"^\w+ = _adgen_ext\.implementation\(", line)]
    if backend == "cuda":
        if users:
            from adgen.errors import AdgenTypeError

            raise AdgenTypeError(f"{name} calls a user primitive, which has no CUDA "
                                 "implementation; use vmap(..., backend=\"numba\")")
        kwargs = {"static_hint": static_hint} if static_hint else {}
        function = device_function_source(compiled_source, name, **kwargs)
        imports = CUDA_IMPORTS
    else:
        function = function_text(compiled_source, name)
        if backend == "numba":
            function = '@numba.njit(error_model="numpy")\n' + function
        imports = CPU_IMPORTS + "".join(line + "\n" for line in users)
    header = _header(compiled_source, [f"backend: {backend} (per-sample kernel: {description})"])
    kernel = kernel_source(name, kernel_params, calls, tuple_result, backend)
    text = f"{header}\n{imports}\n\n{function}\n\n{kernel}"
    stem = f"{name}_vmap_{backend}"
    # backend "python" for the loader: the text carries its own decorators
    kernel_fn = load_function(text, stem, f"{name}_vmap", "python")
    function_obj = load_function(text, stem, name, "python")
    return text, kernel_fn, function_obj
