"""The primitive registry and every built-in primitive (importing this
package registers them)."""

from adgen.primitives import arithmetic, arrays, elementwise, nondiff  # noqa: F401
from adgen.primitives.registry import Primitive, Zero, all_primitives, get, has, register

__all__ = ["Primitive", "Zero", "all_primitives", "get", "has", "register"]
