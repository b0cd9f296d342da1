# The two commands of the README: `make book` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install book notebooks student test clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt -e .
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

# The student edition: every chapter as a notebook, solutions replaced by skeletons.
student: install
	$(PY) tools/student_edition.py --out _build/student

# The strict book build, then the unit tests and every chapter's committed notebook executed
# by nbmake (not regenerated here, so that a stale notebook fails tests/test_colab.py).
test: book
	$(PY) -m pytest tests notebooks --nbmake --nbmake-timeout=1200

clean:
	rm -rf _build
