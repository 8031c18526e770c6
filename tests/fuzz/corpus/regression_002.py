# Found by tests/fuzz, minimized by hand from the shrunk example.
# Check: [reverse vs forward] -- adgen.grad is wrong even when the loop does not run.
# At prog(-1.15, -0.2, 0):  prog = 4 * x, so the gradient is (4.0, 0.0)
#   forward (jvp) = (4.0, 0.0)    (= value_and_grad's gradient, = FD)
#   reverse (grad) = (0.0, 0.0)
# Cause (codegen layout), the same class as regression_001: the generated prog_grad starts
#     b, b = 4.0, 0.0
# (the primal `b` and the adjoint accumulator of x share the variable `b`).

def prog(x, y, n):
    b = 4.0
    s = 0.0
    for i in range(n):
        b, s = s, x
    return s + x * b


POINTS = [
    (-1.15, -0.2, 0),
    (0.3, 0.9, 2),
]
