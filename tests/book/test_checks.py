"""chaoslib.book.checks: the PDF check finds code listings and lets prose, maths and inline code pass.

The PDFs are made here with matplotlib (TrueType text, so pdftotext reads it back); the check
itself needs pdftotext (poppler-utils, installed by ``make latex``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from chaoslib.book.checks import code_listing_lines, pdf_has_code_listings
from chaoslib.errors import ChaoslibError

PROSE = [
    "2.3 Local Lyapunov exponents",
    "The pretrained network stays chaotic for 820 steps (95% interval 610 to 1040),",
    "from which we conclude that the transient is longer than for random networks.",
    "Import the results with load_dataset, as shown in chapter 1; define F as the shared layer.",
    "x(t + 1) = F(x(t)), x(t) ∈ R^{N×D}",
    "Fig. 2.1: Local exponents of the pretrained network (blue) and of 8 random networks.",
    "Run python -m chaoslib.book build --profile paper on a GPU.",
]
CODE = [
    "import numpy as np",
    "from chaoslib.book import figures",
    "def summary(ds):",
    'ch.figure("lyap_local", figures.exponents.local(ds))',
    "model, info = ch.load(model_name, weights=weights)",
]

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext missing: apt-get install poppler-utils (make latex)"
)


def _pdf(path, lines):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        fig = plt.figure(figsize=(8.3, 11.7))
        for i, line in enumerate(lines):
            fig.text(0.05, 0.95 - 0.04 * i, line, fontsize=9, family="DejaVu Sans")
        pdf.savefig(fig)
        plt.close(fig)
    return path


def test_code_lines_found_and_prose_passes():
    assert code_listing_lines("\n".join(PROSE)) == []
    assert code_listing_lines("\n".join(PROSE[:2] + CODE + PROSE[2:])) == CODE


@needs_pdftotext
def test_pdf_with_code_is_caught_and_without_passes(tmp_path):
    clean = _pdf(tmp_path / "clean.pdf", PROSE)
    coded = _pdf(tmp_path / "coded.pdf", PROSE[:3] + CODE)
    assert pdf_has_code_listings(clean) == []
    assert pdf_has_code_listings(coded) == CODE


@needs_pdftotext
def test_cli_exit_codes(tmp_path):
    clean = _pdf(tmp_path / "clean.pdf", PROSE)
    coded = _pdf(tmp_path / "coded.pdf", CODE)
    run = [sys.executable, "-m", "chaoslib.book.checks", "pdf"]
    assert subprocess.run([*run, str(clean)], capture_output=True).returncode == 0
    result = subprocess.run([*run, str(coded)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "import numpy as np" in result.stderr


def test_missing_pdf_names_the_parameter(tmp_path):
    with pytest.raises(ChaoslibError, match="pdf_path"):
        pdf_has_code_listings(tmp_path / "nothing.pdf")
