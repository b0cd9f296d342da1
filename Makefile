# The two commands of the README: `make book` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install book notebooks student results check test clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e ".[book,test]"
	@# MathJax for the browser test, which runs offline (tests/test_browser.py)
	@if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix .cache/npm mathjax@3; \
	 else echo "npm not found: tests/test_browser.py will be skipped (it needs a local MathJax)"; fi
	touch $(INSTALLED)

# The HTML book in _build/html, every chapter executed, warnings as errors.
book: install
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# Every chapter of _toc.yml as a notebook in notebooks/ (what Colab opens and nbmake runs).
# Run it after editing a chapter and commit the result: tests/test_colab.py fails on a stale one.
notebooks: install
	$(PY) tools/notebooks.py

# The student edition: every chapter as a notebook in student/, solutions replaced by skeletons.
# Run it after editing a chapter and commit the result: tests/test_student_edition.py fails on a stale one.
student: install
	$(PY) tools/student_edition.py

# The stored results the book shows: every experiment sized for SCALE, for each of SEEDS, in
# ssl_lib/results/SCALE/ (commit them), and the README's table of what reproduces. Fresh ones are
# skipped; an interrupted run resumes.
SCALE ?= medium
SEEDS ?= 0 1
results: install
	$(PY) -m ssl_lib store --scale $(SCALE) --seed $(SEEDS)
	$(PY) tools/reproduces.py

# The fast tests only (no experiment, training or notebook; tests/conftest.py's `slow` marker).
check: install
	$(PY) -m pytest tests -m "not slow" -q

# The strict book build (showing the stored results), then the unit tests and every chapter's
# committed notebook executed by nbmake with stored results off, so that every chapter's computing
# path runs (the notebooks are not regenerated here, so that a stale one fails tests/test_colab.py).
test: book
	SSL_STORED_RESULTS=off $(PY) -m pytest tests notebooks --nbmake --nbmake-timeout=1200 --junitxml=_build/test-report.xml

clean:
	rm -rf _build
