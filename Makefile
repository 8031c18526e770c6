# Two commands do everything on a fresh machine with only Python:
#   make demo   -- virtual environment, install adgen, run examples/quickstart.py
#   make test   -- the same set-up, then the whole test suite (on every core)
#   make fuzz N=3000 -- the random-program fuzzer with N programs (CI runs 300)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test fuzz venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py

# One BLAS thread per test process: the suite's matrices are small, and xdist already
# puts a process on every core (more threads only contend).
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n auto --dist worksteal

fuzz: $(STAMP)
	ADGEN_FUZZ_N=$(or $(N),300) $(PY) -m pytest tests/fuzz -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache
