# The two commands of the README: `make book` and `make test`. Both set up what they need first.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= offline
PDF     ?= --pdf
TORCH   ?= torch==2.13.0

.PHONY: setup latex book test benchmarks clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[book,test,online]"
	touch $@

# pdflatex and latexmk for the PDF edition (Debian packages; CI and the dev machines run as root)
latex:
	@if ! command -v latexmk >/dev/null || ! command -v pdflatex >/dev/null || ! command -v pdftotext >/dev/null; then \
	  echo "installing TeX Live for the PDF"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk poppler-utils >/dev/null; \
	fi

# offline: no network at all; paper: needs the hub for the pretrained weights (and a GPU)
book: setup latex
	$(if $(filter offline,$(PROFILE)),HF_HUB_OFFLINE=1) $(PY) -m chaoslib.book build --profile $(PROFILE) $(PDF)

test: setup
	HF_HUB_OFFLINE=1 MPLBACKEND=agg $(PY) -m pytest

benchmarks: setup
	for script in benchmarks/bench_*.py; do HF_HUB_OFFLINE=1 $(PY) $$script || exit 1; done

clean:
	rm -rf book/_build book/*.ipynb results
