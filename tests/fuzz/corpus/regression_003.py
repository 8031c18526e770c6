# Found by tests/fuzz (a program with a variable named np), minimized by hand.
# Check: crash -- grad, value_and_grad and jvp raise
#   UnboundLocalError: cannot access local variable 'np' where it is not associated with a value
# At prog(0.7, -0.4, 3): expected value -0.2576870748950764, gradient (y cos x, sin x).
# Cause: the generated code calls np.cos(...) (numpy, imported at module level) inside a
# function where the user's local variable np shadows it. The same happens with a local
# named _adgen (AttributeError: 'numpy.float64' object has no attribute 'push').
import math


def prog(x, y, n):
    np = math.sin(x)
    return np * y


POINTS = [
    (0.7, -0.4, 3),
]
