"""chaoslib: ALBERT's shared layer as a dynamical system, and the analyses of "Transient Chaos in BERT".

One map, many analyses. Load a network, get its map ``F`` (``x0 = F.embed(encoded)``,
``x(t+1) = F(x(t))``), run it and analyse it::

    import chaoslib as cl

    model, network = cl.load_albert("albert-wikitext2", weights="pretrained")  # or "random"
    F = cl.AlbertMap(model)
    encoded, texts = cl.dynamics_inputs(cl.load_tokenizer(), n_samples=8, n_tokens=32)
    x0 = F.embed(encoded)                                   # (8, 32, hidden)
    ds = cl.run_trajectory(F, x0, 1000, probes=[cl.TokenSpread()])
    lyap = cl.local_exponents(F, x0, eps=1e-2, tau=50, n_steps=1000)

Analyses accept any map ``step(x: (batch, *state)) -> (batch, *state)``, so they are also checked
on toy maps with known exponents (``LogisticMap``, ``HenonMap``, ``Lorenz63``).

The names below are the short public API; each lives in a subpackage that follows the data's flow
(imports go one way only, checked by ``tests/foundation/test_imports.py``):

* foundation: ``errors``, ``settings``, ``store``, ``provenance``, ``stats``, ``sweep``
* ``data``: tokenization, text samples, masking, the MLM corpus, glyphs
* ``model``: architectures, random-init schemes, the network description (``Network``), loading, the
  weight-tied map protocol and its ALBERT and BERT-layer maps
* ``dynamics``: trajectories and probes, Lyapunov exponents and spectra, synchronisation,
  effective dimension, the reduced map, toy maps
* ``studies``: one analysis over many networks (``compare_networks`` with ``Exponents``, ...)
* ``tasks``: GLUE and masked LM by depth, the handwriting readout
* ``pretraining``: this project's own pretrained ALBERT
* ``book``: chapters, figures and the build of the book

``import chaoslib`` is light (no torch, no transformers): each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    # errors
    "ChaoslibError": "chaoslib.errors",
    "DataNotFound": "chaoslib.errors",
    "PretrainedWeightsUnavailable": "chaoslib.errors",
    # data
    "load_tokenizer": "chaoslib.data.tokenization",
    "encode": "chaoslib.data.tokenization",
    "Encoded": "chaoslib.data.tokenization",
    "dynamics_inputs": "chaoslib.data.corpus",
    # model
    "load_albert": "chaoslib.model.network",
    "Network": "chaoslib.model.network",
    "reference_and_comparisons": "chaoslib.model.network",
    "WeightTiedMap": "chaoslib.model.protocol",
    "AlbertMap": "chaoslib.model.albert_map",
    "BertLayerMap": "chaoslib.model.bert_map",
    # dynamics
    "run_trajectory": "chaoslib.dynamics.runner",
    "TokenSpread": "chaoslib.dynamics.probes",
    "Units": "chaoslib.dynamics.probes",
    "StateNorm": "chaoslib.dynamics.probes",
    "FullState": "chaoslib.dynamics.probes",
    "Internal": "chaoslib.dynamics.probes",
    "local_exponents": "chaoslib.dynamics.lyapunov",
    "chaos_length": "chaoslib.dynamics.lyapunov",
    "lyapunov_spectrum": "chaoslib.dynamics.spectrum",
    "kaplan_yorke_dimension": "chaoslib.dynamics.spectrum",
    "token_spread": "chaoslib.dynamics.sync",
    "sync_offset": "chaoslib.dynamics.sync",
    "effective_dimension": "chaoslib.dynamics.effective_dimension",
    "effective_dimension_trajectory": "chaoslib.dynamics.effective_dimension",
    "ReducedMap": "chaoslib.dynamics.reduced_map",
    "LogisticMap": "chaoslib.dynamics.toymaps",
    "HenonMap": "chaoslib.dynamics.toymaps",
    "Lorenz63": "chaoslib.dynamics.toymaps",
    # studies: one analysis over many networks
    "compare_networks": "chaoslib.studies.compare",
    "Exponents": "chaoslib.studies.analyses",
    "Spectrum": "chaoslib.studies.analyses",
    "EpsSensitivity": "chaoslib.studies.analyses",
    "Synchronisation": "chaoslib.studies.analyses",
    "EffectiveDimensions": "chaoslib.studies.analyses",
    # tasks
    "glue_by_depth": "chaoslib.tasks.glue_sweep",
    "mlm_by_depth": "chaoslib.tasks.mlm_sweep",
    # book
    "Chapter": "chaoslib.book.chapter",
}

__all__ = [  # the keys of _API (a test checks they agree)
    "AlbertMap",
    "BertLayerMap",
    "ChaoslibError",
    "Chapter",
    "DataNotFound",
    "EffectiveDimensions",
    "Encoded",
    "EpsSensitivity",
    "Exponents",
    "FullState",
    "HenonMap",
    "Internal",
    "LogisticMap",
    "Lorenz63",
    "Network",
    "PretrainedWeightsUnavailable",
    "ReducedMap",
    "Spectrum",
    "StateNorm",
    "Synchronisation",
    "TokenSpread",
    "Units",
    "WeightTiedMap",
    "chaos_length",
    "compare_networks",
    "dynamics_inputs",
    "effective_dimension",
    "effective_dimension_trajectory",
    "encode",
    "glue_by_depth",
    "kaplan_yorke_dimension",
    "load_albert",
    "load_tokenizer",
    "local_exponents",
    "lyapunov_spectrum",
    "mlm_by_depth",
    "reference_and_comparisons",
    "run_trajectory",
    "sync_offset",
    "token_spread",
]


def __getattr__(name: str) -> Any:
    # PEP 562: import the defining module on first use, so `import chaoslib` stays light
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'chaoslib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and editors only; never executed
    from chaoslib.book.chapter import Chapter
    from chaoslib.data.corpus import dynamics_inputs
    from chaoslib.data.tokenization import Encoded, encode, load_tokenizer
    from chaoslib.dynamics.effective_dimension import effective_dimension, effective_dimension_trajectory
    from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
    from chaoslib.dynamics.probes import FullState, Internal, StateNorm, TokenSpread, Units
    from chaoslib.dynamics.reduced_map import ReducedMap
    from chaoslib.dynamics.runner import run_trajectory
    from chaoslib.dynamics.spectrum import kaplan_yorke_dimension, lyapunov_spectrum
    from chaoslib.dynamics.sync import sync_offset, token_spread
    from chaoslib.dynamics.toymaps import HenonMap, LogisticMap, Lorenz63
    from chaoslib.errors import ChaoslibError, DataNotFound, PretrainedWeightsUnavailable
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.bert_map import BertLayerMap
    from chaoslib.model.network import Network, load_albert, reference_and_comparisons
    from chaoslib.model.protocol import WeightTiedMap
    from chaoslib.studies.analyses import EffectiveDimensions, EpsSensitivity, Exponents, Spectrum, Synchronisation
    from chaoslib.studies.compare import compare_networks
    from chaoslib.tasks.glue_sweep import glue_by_depth
    from chaoslib.tasks.mlm_sweep import mlm_by_depth
