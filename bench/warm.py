"""`python -m bench.warm NAME VERSION`: seconds of the first call of adgen's gradient of
that problem in this (new) process, which finds the compiled code in the disk cache."""

import sys

from bench.problems import BY_NAME
from bench.timing import first_call

import adgen

problem = BY_NAME[sys.argv[1]]
args = problem.make(False)
g = adgen.grad(problem.function(sys.argv[2]), argnums=problem.argnums, backend="numba")
print(first_call(g, *args)[0])
