"""The primitive registry and every built-in primitive (importing this
package registers them)."""

from adgen.primitives import (arithmetic, arrays, elementwise, linalg, nondiff,  # noqa: F401
                              reductions, undo)
from adgen.primitives.registry import (Primitive, Scatter, Zero, all_primitives, get, has,
                                       register)

__all__ = ["Primitive", "Scatter", "Zero", "all_primitives", "get", "has", "register"]
