# Found by tests/fuzz (a program with a variable named _break), minimized by hand.
# Check: [value] -- silently wrong value and derivatives.
# At prog(0.7, -0.4, 3): prog() = -0.28 (x * y), gradient (-0.4, 0.7)
#   value_and_grad = (-0.0, (0.0, 0.0)), grad = (0.0, 0.0)
# Cause: the desugaring of break introduces the flag _break without renaming a user variable
# of that name. The same happens with _continue and with the names of a for loop turned into
# a while loop (_i_next, _i_stop): the same class of bug as regression_004.

def prog(x, y, n):
    _break = x
    for i in range(n):
        if y > 2.0:
            break
    return _break * y


POINTS = [
    (0.7, -0.4, 3),
]
