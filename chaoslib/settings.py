"""Where data lives, and which device and dtype a run uses.

The offline data (`shared/data` beside the repository: ALBERT tokenizer and configs, GLUE
TSVs, WikiText-2) is never copied into the project. Its location is a setting, resolved in
this order: the explicit ``data_dir`` argument, the ``CHAOSLIB_DATA`` environment variable,
then, in a source checkout only, ``../shared/data`` relative to the repository root
(``scripts/fetch_data.py`` fetches it there). An installed chaoslib (``pip install .``) has no
repository around it, so it needs ``CHAOSLIB_DATA`` (or ``data_dir``); likewise its results go to
``$CHAOSLIB_RESULTS`` or ``./results`` under the working directory (:func:`results_root`), never
into site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from chaoslib.errors import ChaoslibError, DataNotFound

PACKAGE_DIR = Path(__file__).resolve().parent
# the checkout root when chaoslib runs from its source tree (editable install, tests, the book);
# site-packages when installed, where IN_CHECKOUT is False and nothing is read or written beside it
REPO_ROOT = PACKAGE_DIR.parent
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()
DATA_ENV_VAR = "CHAOSLIB_DATA"
RESULTS_ENV_VAR = "CHAOSLIB_RESULTS"


def results_root() -> Path:
    """Where results go: ``$CHAOSLIB_RESULTS``, else ``<repo>/results`` in a checkout, else ``./results``."""
    if os.environ.get(RESULTS_ENV_VAR):
        return Path(os.environ[RESULTS_ENV_VAR])
    return REPO_ROOT / "results" if IN_CHECKOUT else Path.cwd() / "results"


def data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The offline data folder (see the module docstring for the resolution order)."""
    if data_dir is not None:
        path, how = Path(data_dir), "the data_dir argument"
    elif os.environ.get(DATA_ENV_VAR):
        path, how = Path(os.environ[DATA_ENV_VAR]), f"${DATA_ENV_VAR}"
    elif IN_CHECKOUT:
        path, how = REPO_ROOT.parent / "shared" / "data", "the default ../shared/data"
    else:
        raise DataNotFound(
            f"chaoslib is installed ({PACKAGE_DIR}), not run from its repository, so it has no default "
            f"data folder: set {DATA_ENV_VAR} to the folder that holds albert/, glue/ and wikitext-2/ "
            "(scripts/fetch_data.py in the repository fetches it), or pass data_dir=... "
            "(papermill: -p data_dir PATH)."
        )
    if not path.is_dir():
        raise DataNotFound(
            f"data folder {path} (from {how}) does not exist. Fetch it with `python scripts/fetch_data.py` "
            f"(`make data`), or pass data_dir=... (papermill: -p data_dir PATH) or set {DATA_ENV_VAR} to "
            "the folder that holds albert/, glue/ and wikitext-2/."
        )
    return path.resolve()


def data_file(relative: str, data_dir_: str | os.PathLike | None = None) -> Path:
    """A file inside the data folder, with an error naming the folder and the expected file."""
    root = data_dir(data_dir_)
    path = root / relative
    if not path.exists():
        raise DataNotFound(f"expected {relative} inside the data folder {root}, but it is missing.")
    return path


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` means CUDA when there is a GPU, else CPU. Asking for CUDA without one is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ChaoslibError("device='cuda' was requested but no GPU is visible; use device='cpu' or 'auto'.")
    return device


DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float32"`` or ``"float64"`` (the dynamics are not run in half precision)."""
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ChaoslibError(f"dtype={dtype} is not supported; use one of {sorted(DTYPES)}.")
        return dtype
    if dtype not in DTYPES:
        raise ChaoslibError(f"dtype={dtype!r} is not supported; use one of {sorted(DTYPES)}.")
    return DTYPES[dtype]


def disable_tf32() -> None:
    """Keep float32 matrix products in true float32 on Ampere+ GPUs (TF32 off by default, so float32 means float32 on every GPU)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
