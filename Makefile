# One entry point for readers, researchers and CI.
#   make book                          the whole book with the quick profile -> _build/html/index.html
#   make book PROFILE=smoke            another profile (smoke | quick | full)
#   make book ARGS="-p source vcf -p vcf_path my.vcf.gz"   chapter parameters (see python -m lib.book --help)
#   make pdf                           the same book as a PDF (xelatex: Debian texlive-xetex) -> _build/latex/book.pdf
#   make test                          the test suite
#   make clean                         remove the built site (_build/); runs in data/runs stay
#   make distclean                     also remove the environment (.venv)
# The first call creates .venv from the lock files and installs lib into it (editable: pip install -e .);
# later calls reuse it until a lock file or pyproject.toml changes.

PYTHON ?= python3.11
PROFILE ?= quick
ARGS ?=
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: book pdf test env clean distclean

book: $(STAMP)
	$(VENV)/bin/python -m lib.book --profile $(PROFILE) $(ARGS)

pdf: $(STAMP)
	$(VENV)/bin/python -m lib.book --profile $(PROFILE) --builder pdflatex $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(ARGS)

env: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -r requirements.lock
	$(VENV)/bin/python -m pip install --no-deps -r requirements-nodeps.lock
	$(VENV)/bin/python -m pip install --no-deps --no-build-isolation -e .
	touch $@

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV)
