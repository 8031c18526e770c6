# Found by tests/fuzz (a program with a variable named _returned), minimized by hand.
# Check: [value] -- silently wrong value and derivatives.
# At prog(0.7, -0.4, 3): prog() = -0.28 (x * y), gradient (-0.4, 0.7)
#   value_and_grad = (0.0, (0.0, 0.0)), grad = (0.0, 0.0), jvp = (0.0, 0.0)
# Cause: the desugaring of the early return introduces the flag _returned (and _ret) without
# renaming a user variable of that name.

def prog(x, y, n):
    _returned = x * y
    if x > 2.0:
        return x
    return _returned


POINTS = [
    (0.7, -0.4, 3),
]
