# The two commands of the README: `make book` and `make test`. Both set up what they need first.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= offline
# --pdf: the PDF too where TeX Live is installed (else the HTML, and how to get the PDF);
# --require-pdf: no TeX is an error (CI); --no-pdf: HTML only
PDF     ?= --pdf
# FORCE=1: execute every notebook, whatever the execution cache says
FORCE   ?=
TORCH   ?= torch==2.13.0
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk poppler-utils

.PHONY: setup latex browser book test site-check benchmarks data dist set-repo-url clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[book,test,online,cluster]"
	touch $@

# pdflatex and latexmk for the PDF edition: installed with apt-get where we are root (CI, the dev
# machines); elsewhere the book is built as HTML and the build says how to get the PDF
latex:
	@if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null; then \
	  :; \
	elif [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing TeX Live for the PDF"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEX_PACKAGES) >/dev/null; } \
	    || echo "could not install TeX Live: the book is built as HTML only"; \
	else \
	  echo "TeX Live is not installed, and installing it needs root and apt-get: the book is built as HTML; the build says how to get the PDF"; \
	fi

# headless Chromium for the browser check of the built book (chaoslib.book.site_check) and its tests:
# Debian's chromium, installed with apt-get where we are root (CI, the dev machines); Playwright (the test
# extra) drives it and downloads no browser. Elsewhere the browser tests are skipped (CHAOSLIB_CHROMIUM
# names another Chromium)
browser:
	@if [ -n "$$CHAOSLIB_CHROMIUM" ] || command -v chromium >/dev/null; then \
	  :; \
	elif [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the browser check of the book"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "could not install chromium: the browser tests are skipped"; \
	else \
	  echo "chromium is not installed, and installing it needs root and apt-get: the browser tests are skipped"; \
	fi

# offline: no network at all; paper: needs the hub for the pretrained weights (and a GPU).
# Executes only the notebooks whose inputs changed (see chaoslib/book/build.py), then renders.
book: setup latex
	$(if $(filter offline,$(PROFILE)),HF_HUB_OFFLINE=1) $(PY) -m chaoslib.book build --profile $(PROFILE) $(PDF) $(if $(filter 1 yes true,$(FORCE)),--force)

test: setup latex browser
	HF_HUB_OFFLINE=1 MPLBACKEND=agg $(PY) -m pytest

# the built book (make book first) opened page by page in headless Chromium: console errors and requests
# off the machine, images, unrendered TeX, overflowing elements, leaked build output, the PDF link, launch
# buttons and internal links; one line per failure, exit 1 on any
site-check: setup browser
	HF_HUB_OFFLINE=1 $(PY) -m chaoslib.book.site_check book/_build/html

benchmarks: setup
	for script in benchmarks/bench_*.py; do HF_HUB_OFFLINE=1 $(PY) $$script || exit 1; done

# the offline data folder from its public sources, verified (default ../shared/data; DEST=DIR elsewhere)
data:
	$(PYTHON) scripts/fetch_data.py $(if $(DEST),--dest $(DEST))

# wheel and sdist in dist/
dist: setup
	$(PY) -m build

# the repository URL lives in _config.yml (repository.url); this writes URL there (when given) and
# into every notebook's Colab cell, which clones the repository before chaoslib exists
set-repo-url: setup
	$(PY) -m chaoslib.book.colab $(if $(URL),--url $(URL))

clean:
	rm -rf book/_build book/*.ipynb results dist
