"""A network, described once: what it is (family, name, weights, init, seed, derivation) and how to load it.

Every part of chaoslib names a network by a :class:`Network`: chapters build their reference and comparison
networks with :func:`reference_and_comparisons`, the comparison driver and the sweep layer key stored results
by :meth:`Network.key`, provenance and captions record :meth:`Network.as_dict` and :meth:`Network.label`.
Loading (:meth:`Network.load`) returns the model and the same description with ``source`` filled in: where the
weights came from, known only once they are found.

A *derived* network is another network transformed: ``derived=("shuffled", seed)`` (the base's matrices each
shuffled within itself, :func:`chaoslib.model.controls.shuffled`), ``("hybrid", other)`` (the base's
embeddings with ``other``'s shared layer, :func:`chaoslib.model.controls.hybrid`). Random weights are never
described as pretrained: a pretrained network has no init and no seed, a random one has both.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chaoslib.errors import ChaoslibError

FAMILIES = ("albert",)
WEIGHTS = ("pretrained", "random")
DERIVATIONS = ("shuffled", "hybrid")


@dataclass(frozen=True)
class Network:
    """One network: ``Network("albert-wikitext2", "pretrained")``, ``Network("albert-wikitext2", "random",
    init="tf", seed=3)``.

    Args:
        name: the architecture and, for pretrained weights, the checkpoint: a hub ALBERT
            (``albert-large-v2``) or one pretrained by this project (``albert-wikitext2``).
        weights: ``"pretrained"`` or ``"random"``.
        init, seed: the random-init scheme (``tf``, ``tf-gain``, ``glue``, ``mlm``, ``hf``) and its seed;
            None for pretrained weights (set to None whatever is passed).
        family: the weight-tied family (``"albert"``).
        weights_dir: a local folder with saved pretrained weights, instead of the shipped checkpoint or hub.
        config: architecture fields that replace the named configuration's (random weights only; e.g. the tiny
            networks of the tests: ``{"hidden_size": 64, "num_hidden_layers": 2}``).
        derived: ``()`` or a transformation of this network: ``("shuffled", seed)`` or ``("hybrid", other)``
            where ``other`` is the :class:`Network` whose shared layer is used.
        source: where the weights came from, filled by :meth:`load`.
    """

    name: str
    weights: str = "random"
    init: str | None = "tf"
    seed: int | None = 0
    family: str = "albert"
    weights_dir: str | None = None
    config: dict = field(default_factory=dict)
    derived: tuple = field(default=())
    source: str | None = field(default=None, compare=False)

    def __hash__(self) -> int:
        return hash((self.name, self.weights, self.init, self.seed, self.family, self.weights_dir,
                     tuple(sorted(self.config.items())), repr(self.derived)))

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ChaoslibError(f"family={self.family!r}; use one of {list(FAMILIES)}.")
        if self.weights not in WEIGHTS:
            raise ChaoslibError(f"weights={self.weights!r}; use one of {list(WEIGHTS)}.")
        if self.weights == "pretrained":
            object.__setattr__(self, "init", None)
            object.__setattr__(self, "seed", None)
        else:
            from chaoslib.model.init_schemes import check_init

            check_init(str(self.init))
            if isinstance(self.seed, bool) or not isinstance(self.seed, int):
                raise ChaoslibError(f"seed={self.seed!r} of a random network must be an integer.")
        if self.config and self.weights == "pretrained":
            raise ChaoslibError("config= changes the architecture: only for random weights (pretrained have theirs).")
        if self.weights_dir is not None:
            object.__setattr__(self, "weights_dir", str(self.weights_dir))
        if self.derived:
            kind = self.derived[0]
            if kind not in DERIVATIONS or len(self.derived) != 2:
                raise ChaoslibError(
                    f"derived={self.derived!r}; use ('shuffled', seed) or ('hybrid', other_network)."
                )
            if kind == "hybrid" and not isinstance(self.derived[1], Network):
                raise ChaoslibError("derived=('hybrid', other): other must be a Network (the layer's donor).")
            object.__setattr__(self, "derived", tuple(self.derived))

    # description ---------------------------------------------------------------------------------------
    @property
    def pretrained_here(self) -> bool:
        """True for a network pretrained by this project (a shipped checkpoint), not the hub's."""
        from chaoslib.model.configs import shipped_checkpoint

        return self.weights == "pretrained" and self.weights_dir is None and shipped_checkpoint(self.name) is not None

    def label(self) -> str:
        """Legend label: ``albert-large-v2 pretrained``, ``albert-wikitext2 pretrained here``, ``... random tf #3``;
        a derived network adds its derivation (``... shuffled #0``, ``... with the layer of ...``)."""
        if self.weights == "pretrained":
            base = f"{self.name} pretrained here" if self.pretrained_here else f"{self.name} pretrained"
        else:
            base = f"{self.name} random {self.init} #{self.seed}"
        if not self.derived:
            return base
        kind, arg = self.derived
        return f"{base} shuffled #{arg}" if kind == "shuffled" else f"{base} with the layer of {arg.label()}"

    @property
    def tokenizer_dir(self) -> Path | None:
        """The folder of this network's own tokenizer (a shipped network with its vocabulary), or None for the
        default ALBERT tokenizer (:func:`chaoslib.data.tokenization.load_tokenizer`)."""
        from chaoslib.model.configs import shipped_checkpoint

        folder = shipped_checkpoint(self.name)
        return folder if folder is not None and (folder / "spiece.model").exists() else None

    def as_dict(self) -> dict:
        """JSON values: the provenance record of this network (``from_dict`` reads it back)."""
        record = asdict(self)
        record["derived"] = _derived_record(self.derived)
        return record

    @classmethod
    def from_dict(cls, record: dict) -> Network:
        """The network of an :meth:`as_dict` record (older records without ``family`` and ``derived`` too)."""
        record = dict(record)
        derived = record.pop("derived", None) or ()
        if derived and derived[0] == "hybrid":
            derived = ("hybrid", cls.from_dict(derived[1]))
        record.setdefault("config", {})
        return cls(**record, derived=tuple(derived))

    @classmethod
    def from_key(cls, key: dict) -> Network:
        """The network of a :meth:`key` (the digests that only key a stored result left out)."""
        record = {k: v for k, v in key.items() if k != "weight_files"}
        derived = record.get("derived") or []
        if derived and derived[0] == "hybrid":
            record["derived"] = ["hybrid", cls.from_key(derived[1]).as_dict()]
        return cls.from_dict(record)

    def key(self) -> dict:
        """What this network computes with, as JSON values: the part of a stored result's key that names it.

        For weights from a folder (a shipped checkpoint or ``weights_dir``) a sha256 of the weight files, so a
        replaced checkpoint under the same name is never mistaken for the old one."""
        record = {k: v for k, v in self.as_dict().items() if k != "source"}
        if self.weights == "pretrained":
            record["weight_files"] = _weight_files_digest(self)
        if self.derived and self.derived[0] == "hybrid":
            record["derived"] = ["hybrid", self.derived[1].key()]
        return record

    # loading -------------------------------------------------------------------------------------------
    def load(
        self,
        head: str = "base",
        device: Any = "cpu",
        dtype: Any = "float32",
        data_dir: str | os.PathLike | None = None,
        **config_overrides: Any,
    ) -> tuple[Any, Network]:
        """The model (eval mode, eager attention) and this description with ``source`` filled in.

        Args:
            head: ``"base"`` (AlbertModel), ``"mlm"`` (AlbertForMaskedLM) or ``"classification"``.
            device, dtype: where and in which precision.
            data_dir: the offline data folder (the configs of random networks).
            config_overrides: config fields to replace (e.g. ``num_labels=1``).
        Pretrained weights that cannot be had raise ``PretrainedWeightsUnavailable``: never a random network.
        """
        from chaoslib.model import controls
        from chaoslib.model.loading import load_weights

        model, source = load_weights(
            self.name, self.weights, self.init or "tf", self.seed or 0, head=head,
            weights_dir=self.weights_dir, data_dir=data_dir, device=device, dtype=dtype,
            **{**self.config, **config_overrides},
        )
        if self.derived:
            kind, arg = self.derived
            if kind == "shuffled":
                model = controls.shuffled(model, int(arg))
            else:
                donor, _ = arg.load(head, device, dtype, data_dir, **config_overrides)
                model = controls.hybrid(model, donor)
        return model, replace(self, source=source)

    def load_map(self, device: Any = "cpu", dtype: Any = "float32", data_dir: str | os.PathLike | None = None):
        """The network's weight-tied map (:class:`chaoslib.model.protocol.WeightTiedMap`: ``embed``, ``step``...)
        and the loaded description: ``(map, Network)``."""
        model, loaded = self.load(device=device, dtype=dtype, data_dir=data_dir)
        return map_of(model, self.family), loaded


def map_of(model: Any, family: str = "albert"):
    """The weight-tied map (:class:`chaoslib.model.protocol.WeightTiedMap`) of a loaded model of ``family``."""
    from chaoslib.model.albert_map import AlbertMap

    maps = {"albert": AlbertMap}
    if family not in maps:
        raise ChaoslibError(f"family={family!r} has no map; known: {sorted(maps)}.")
    return maps[family](model)


def load_albert(
    model_name: str = "albert-large-v2",
    weights: str = "random",
    init: str = "tf",
    seed: int = 0,
    head: str = "base",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    device: Any = "cpu",
    dtype: Any = "float32",
    **config_overrides: Any,
) -> tuple[Any, Network]:
    """An ALBERT network in eval mode (eager attention) and its :class:`Network` (``source`` filled in):
    ``Network(model_name, weights, init, seed, weights_dir=..., config=config_overrides).load(...)``.

    Args:
        model_name: a hub ALBERT (``chaoslib.model.configs.ALBERT_NAMES``) or one pretrained by this project
            (``SHIPPED_NAMES``, e.g. ``"albert-wikitext2"``), which loads offline.
        weights, init, seed: ``"pretrained"`` or ``"random"``; the random-init scheme and its seed.
        head: ``"base"`` (AlbertModel), ``"mlm"`` (AlbertForMaskedLM) or ``"classification"``.
        weights_dir: a local folder with a saved model, instead of the cache/hub.
        config_overrides: architecture fields of a random network (a tiny ``hidden_size``...); for pretrained
            weights, fields that do not change the architecture (``num_labels=1``).
    """
    architecture = config_overrides if weights == "random" else {}
    options = {} if weights == "random" else config_overrides
    network = Network(model_name, weights, init=init, seed=int(seed), weights_dir=weights_dir,
                      config=dict(architecture))
    return network.load(head=head, device=device, dtype=dtype, data_dir=data_dir, **options)


def reference_and_comparisons(
    model_name: str,
    reference_weights: str = "pretrained",
    reference_init: str = "tf",
    reference_seed: int = 0,
    comparison_init: str = "tf",
    comparison_seeds: list[int] | tuple[int, ...] = (),
    weights_dir: str | os.PathLike | None = None,
) -> list[Network]:
    """The network under test followed by the random networks it is compared with (one per comparison seed).

    The parameter names are those of every chapter's parameters cell."""
    if isinstance(comparison_seeds, (str, bytes)) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in comparison_seeds
    ):
        raise ChaoslibError(
            f"comparison_seeds={comparison_seeds!r} must be a list of integers (papermill: -y "
            f"'comparison_seeds: [1, 2, 3]')."
        )
    reference = Network(
        model_name, reference_weights, init=reference_init, seed=int(reference_seed),
        weights_dir=None if weights_dir is None else str(weights_dir),
    )
    return [reference] + [Network(model_name, "random", init=comparison_init, seed=int(s)) for s in comparison_seeds]


CONTROL_ROLES = ("untrained", "gain-matched", "shuffled", "reference embeddings, random layer",
                 "random embeddings, reference layer")
"""The control networks of :func:`control_networks`, in order; what each removes from the reference:
transformers' initialisation (step 0 of pretraining: what training did at all), random weights at albert-large's
per-matrix gain (weight scale), the reference's own entries shuffled within each tensor (structure, scale kept),
and the two hybrids with the first comparison network (embedding geometry vs the shared layer's dynamics)."""


def control_networks(reference: Network, comparison: Network, seed: int = 0,
                     roles: tuple[str, ...] = CONTROL_ROLES) -> list[tuple[str, Network]]:
    """The control networks of ``reference``, defined relative to it so that any reference works:
    ``[(role, Network), ...]`` for the ``roles`` asked (of :data:`CONTROL_ROLES`, in that order).

    Args:
        reference: the network under test (pretrained or not); comparison: the random network the hybrids
            take their other half from (a chapter's first comparison network); seed: the seed of the untrained,
            gain-matched and shuffled controls.
    """
    unknown = [r for r in roles if r not in CONTROL_ROLES]
    if unknown:
        raise ChaoslibError(f"roles={unknown}; use some of {list(CONTROL_ROLES)}.")
    if reference.config != comparison.config or reference.name != comparison.name:
        raise ChaoslibError("control_networks: the comparison network must have the reference's architecture "
                            f"(name {comparison.name!r} vs {reference.name!r}).")
    random = dict(name=reference.name, weights="random", config=reference.config, family=reference.family)
    made = {
        "untrained": Network(**random, init="hf", seed=int(seed)),
        "gain-matched": Network(**random, init="tf-gain", seed=int(seed)),
        "shuffled": replace(reference, derived=("shuffled", int(seed)), source=None),
        "reference embeddings, random layer": replace(reference, derived=("hybrid", comparison), source=None),
        "random embeddings, reference layer": replace(comparison, derived=("hybrid", reference), source=None),
    }
    return [(role, made[role]) for role in CONTROL_ROLES if role in roles]


def _derived_record(derived: tuple) -> list:
    if not derived:
        return []
    kind, arg = derived
    return [kind, arg.as_dict() if isinstance(arg, Network) else arg]


def _weight_files_digest(network: Network) -> str | None:
    """sha256 of the weight and config files of a local pretrained network; None for the hub's (a fixed
    release, found in the cache)."""
    from chaoslib.model.configs import shipped_checkpoint

    folder = network.weights_dir or shipped_checkpoint(network.name)
    if folder is None or not Path(folder).is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if path.suffix in (".safetensors", ".bin", ".json") and path.is_file():
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:20]
