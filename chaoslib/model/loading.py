"""Loading ALBERT: pretrained weights (local folder, HF cache or hub) or a seeded random network.

``load_albert`` never falls back: asking for pretrained weights that cannot be had raises
:class:`PretrainedWeightsUnavailable` within seconds, with the ways out in its message.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn
from transformers import AlbertForMaskedLM, AlbertForSequenceClassification, AlbertModel

from chaoslib.errors import ChaoslibError, PretrainedWeightsUnavailable
from chaoslib.model.configs import albert_config, check_model_name, shipped_checkpoint, verify_checkpoint
from chaoslib.model.init_schemes import check_init, initialize
from chaoslib.settings import resolve_device, resolve_dtype

HEADS = {"base": AlbertModel, "mlm": AlbertForMaskedLM, "classification": AlbertForSequenceClassification}
WEIGHTS = ("pretrained", "random")
PRETRAINED_HERE = "pretrained here"  # how a source names a network pretrained by this project
HUB_PROBE_TIMEOUT_S = 3.0


def hub_id(name: str) -> str:
    """The hub repository of an ALBERT model (the checkpoints moved under the ``albert`` org)."""
    return f"albert/{check_model_name(name)}"


def _hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    import urllib.request

    from huggingface_hub import constants

    try:
        urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"), timeout=timeout)
        return True
    except Exception:  # DNS failure, refused, timeout, HTTP error: all mean "cannot download now"
        return False


def _unavailable(name: str, why: str) -> PretrainedWeightsUnavailable:
    return PretrainedWeightsUnavailable(
        f"pretrained weights for {name} are not available: {why}. Either download them once where the "
        f"hub is reachable (`huggingface-cli download {hub_id(name)}`, or any from_pretrained call) and "
        f"run again, pass weights_dir=PATH to a folder holding config.json and the weights, or run with "
        f"weights='random' (papermill: -p weights random), which is labelled as random in every figure."
    )


@contextmanager
def quiet_loading():
    """transformers' loading without its chatter: the report of every checkpoint key a head does not use (the
    pretraining heads when loading the encoder, a new classifier), expected here and printed once per network
    otherwise, and the progress bar of each load ("Loading weights: 25/25", a widget on every book page)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _from_pretrained(
    cls: type, name: str, weights_dir: str | os.PathLike | None, **kwargs
) -> tuple[nn.Module, str]:
    with quiet_loading():
        return _from_pretrained_quietly(cls, name, weights_dir, **kwargs)


def _from_pretrained_quietly(
    cls: type, name: str, weights_dir: str | os.PathLike | None, **kwargs
) -> tuple[nn.Module, str]:
    if weights_dir is not None:
        path = Path(weights_dir)
        if not (path / "config.json").exists():
            raise ChaoslibError(
                f"weights_dir={str(path)!r} holds no config.json; point it at a saved model folder."
            )
        try:
            return cls.from_pretrained(str(path), **kwargs), str(path)
        except Exception as err:  # safetensors' errors name no file
            if "safetensor" not in f"{type(err).__name__} {err}".lower():
                raise
            raise ChaoslibError(
                f"the weights in {path} cannot be read ({type(err).__name__}: {err}): a file there is truncated "
                "or damaged. Save the network again, or restore the folder."
            ) from err
    repo = hub_id(name)
    try:  # the local cache first: no network, instant
        return cls.from_pretrained(repo, local_files_only=True, **kwargs), f"cache:{repo}"
    except OSError:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise _unavailable(name, "HF_HUB_OFFLINE is set and they are not in the Hugging Face cache")
    if not _hub_reachable():
        raise _unavailable(name, "the Hugging Face hub is unreachable and they are not in the cache")
    try:
        return cls.from_pretrained(repo, **kwargs), f"hub:{repo}"
    except OSError as err:
        raise _unavailable(name, f"the download failed ({err})") from err


def load_weights(
    model_name: str, weights: str, init: str, seed: int, *, head: str = "base",
    weights_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
    device: str | torch.device = "cpu", dtype: str | torch.dtype = "float32", **config_overrides,
) -> tuple[nn.Module, str]:
    """An ALBERT network in eval mode, with eager attention, and where its weights came from (``source``:
    ``"random"``, ``"pretrained here: ..."``, ``"cache:albert/..."``, ``"hub:..."`` or a folder).
    Chapters name networks by :class:`chaoslib.model.network.Network` and load them with ``Network.load``.

    Args:
        model_name: one of ``chaoslib.model.configs.ALBERT_NAMES`` (the hub's), or a network pretrained by
            this project (``SHIPPED_NAMES``, e.g. ``"albert-wikitext2"``), which loads offline.
        weights: ``"pretrained"`` or ``"random"``.
        init, seed: the random-init scheme (``tf``, ``glue``, ``mlm``, ``hf``) and its seed;
            ignored for pretrained weights.
        head: ``"base"`` (AlbertModel), ``"mlm"`` (AlbertForMaskedLM) or ``"classification"``.
        weights_dir: a local folder with a saved model, instead of the cache/hub.
        config_overrides: fields of the config to replace (e.g. ``num_labels=1``); for random
            weights also architecture fields (``num_hidden_layers``, a tiny ``hidden_size``...).
    """
    check_model_name(model_name)
    if weights not in WEIGHTS:
        raise ChaoslibError(f"weights={weights!r}; use one of {list(WEIGHTS)}.")
    if head not in HEADS:
        raise ChaoslibError(f"head={head!r}; use one of {list(HEADS)}.")
    cls = HEADS[head]
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    shipped = shipped_checkpoint(model_name)
    if weights == "pretrained" and shipped is not None and weights_dir is None:
        # a network pretrained by this project: its weights checked against its card, then the same loading
        # code as a saved hub model
        verify_checkpoint(shipped)
        model, _ = _from_pretrained(cls, model_name, shipped, attn_implementation="eager", **config_overrides)
        source = f"{PRETRAINED_HERE}: {model_name} (chaoslib/checkpoints/{model_name}, see its README.md)"
    elif weights == "pretrained":
        model, source = _from_pretrained(
            cls, model_name, weights_dir, attn_implementation="eager", **config_overrides
        )
    else:
        check_init(init)
        config = albert_config(model_name, data_dir=data_dir, **config_overrides)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # also seeds the `hf` scheme, which is transformers' constructor init
            model = cls(config)
        if init != "hf":
            initialize(model, init, seed)
        source = "random"
    return model.to(device=device, dtype=dtype).eval(), source
