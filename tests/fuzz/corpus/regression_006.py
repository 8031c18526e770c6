# Found by tests/fuzz as a hang (a while loop that never ends; its tape grows without bound),
# minimized by hand to a case that returns a wrong value instead.
# Check: [value] -- silently wrong value and derivatives (every transform).
# At prog(0.5, 0.25, 2): prog() = 0.375 (the loop stops at s = 1.5), gradient (0.75, 1.5)
#   value_and_grad = (1.25, (2.5, 5.0)), jvp = (1.25, 2.5)  (the loop ran to s = 5.0)
# Cause (codegen printing): a while condition `A and B` that needs a statement first (here
# the common subexpression s - 2.0) is printed as
#     while True:
#         tmp_1 = s - 2.0
#         if not c0 < 10 and tmp_1 * tmp_1 > 0.3:
#             break
# i.e. `(not A) and B` instead of `not (A and B)`. With an early return in the loop it
# becomes `if not not _returned and (...)`, which never breaks (the fuzzer's hang).

def prog(x, y, n):
    s = 0.0
    c0 = 0
    while c0 < 10 and (s - 2.0) * (s - 2.0) > 0.3:
        c0 += 1
        s += x
    return s * y


POINTS = [
    (0.5, 0.25, 2),
]
