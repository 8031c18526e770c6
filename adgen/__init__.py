"""adgen: a source-transforming automatic-differentiation compiler for Python.

Example:
    >>> import math, adgen
    >>> def f(x1, x2):
    ...     return math.log(x1) + x1 * x2 - math.sin(x2)
    >>> adgen.grad(f, argnums=(0, 1))(2.0, 5.0)   # doctest: +SKIP
    (5.5, 1.7163378145367738)
"""

from adgen import primitives as _primitives  # noqa: F401  (registers the primitives)
from adgen.api import (Jacobian, Transformed, grad, hessian, hvp, ir, jacobian,  # noqa
                       jit, jvp, source, value_and_grad, vjp)
from adgen.errors import (AdgenDerivativeError, AdgenError, AdgenInternalError,  # noqa
                          AdgenSyntaxError, AdgenTypeError)
from adgen.extend import custom_jvp, custom_vjp, primitive, stop_gradient  # noqa: F401
from adgen.frontend.parallel import prange  # noqa: F401  (`for i in adgen.prange(n)`)
from adgen.trace import trace  # noqa: F401
from adgen import config  # noqa: F401  (callable: adgen.config(check_nans=True))
from adgen.debug import AdgenNaNError  # noqa: F401
from adgen.selfcheck import CheckError, CheckReport, check  # noqa: F401
from adgen.cuda.vmap import vmap  # noqa: F401  (issue 7: backend="cuda"; numba.cuda is lazy)
from adgen.memory import MemoryReport, memory_report  # noqa: F401

__version__ = "0.1.0"
__all__ = ["grad", "value_and_grad", "jvp", "vjp", "hessian", "hvp", "jacobian", "jit", "source",
           "ir", "trace", "primitive", "custom_jvp", "custom_vjp", "stop_gradient",
           "Transformed", "AdgenError", "AdgenSyntaxError", "AdgenTypeError",
           "AdgenDerivativeError", "AdgenInternalError",
           "check", "CheckReport", "CheckError", "config", "AdgenNaNError",
           "memory_report", "MemoryReport", "vmap", "prange"]
