# Found by tests/fuzz (shrunk by hypothesis; no-op lines removed by hand).
# Check: [reverse vs forward] -- adgen.grad is wrong, jvp and value_and_grad are right.
# At prog(1.2574414248353785, -0.648931719758411, 2):
#   forward (jvp) = (7.9528589859868095, 0.0)      (= value_and_grad's gradient, = FD)
#   reverse (grad) = (1.2753693969775461, 0.0)
# Cause (codegen layout): two loop-carried values that are live at once get the same
# Python variable; the generated prog_grad starts its loop with
#     a, b, b, k = x, 0.0, y, 0
# The same happens with `t = s; s = a * x; a = t` instead of the tuple assignment.

def prog(x, y, n):
    a = x
    b = y
    s = 0.0
    for i in range(n):
        a, s = s, a * x
        b = a
    return s + a * b


POINTS = [
    (1.2574414248353785, -0.648931719758411, 2),
    (-0.7, 0.4, 3),
]
