"""Programs where a wrong sharing of Python variables would change the result."""

def inner(s):
    acc = 0.0
    for i in range(3):
        acc = acc + s * i
    return acc

def f(x):
    s = x
    for t in range(3):
        s = inner(s)
    return s


def swap_slots(x, y, n):
    a = x
    b = y
    s = 0.0
    for i in range(n):
        a, s = s, a * x
        b = a
    return s + a * b


def dead_slot(x, y, n):
    b = 4.0
    s = 0.0
    for i in range(n):
        b, s = s, x
    return s + x * b
