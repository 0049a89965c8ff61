"""GLUE tasks: data, online through ``datasets`` or from the original GLUE TSV files.

- ``load_glue(task, split, source="local"|"hub")`` returns a :class:`GlueSplit` (texts, second
  segments, labels). ``source="local"`` reads ``<data_dir>/glue/<Task>/<split>.tsv`` in the original
  GLUE layout, with ``csv.QUOTE_NONE``: the sentences contain unbalanced ``"`` characters, and the
  default quoting silently swallows rows. MRPC starts with a BOM; CoLA's train/dev have no header.
  ``source="hub"`` uses ``datasets.load_dataset("nyu-mll/glue", task)`` (optional dependency).
- Their metrics: :mod:`chaoslib.tasks.glue_metrics`.

Label encodings follow ``datasets`` (``nyu-mll/glue``), so both sources give the same integers.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chaoslib.errors import ChaoslibError, DataNotFound
from chaoslib.settings import data_dir as resolve_data_dir

HUB_DATASET = "nyu-mll/glue"


@dataclass(frozen=True)
class GlueTask:
    """How one GLUE task is laid out.

    columns: the (text_a, text_b, label) column names in the TSV header (text_b None for
    single-sentence tasks); hub_columns the same in ``datasets``. headerless_columns: column
    positions (text_a, label) for the header-less train/dev files of CoLA. label_names: the
    string labels in the TSV, in ``datasets``' integer order (None: labels are already numbers).
    """

    name: str
    folder: str
    columns: tuple[str, str | None, str]
    hub_columns: tuple[str, str | None, str]
    files: dict[str, str]
    num_labels: int  # 1 = regression (STS-B)
    label_names: tuple[str, ...] | None = None
    headerless: tuple[str, ...] = ()  # splits whose file has no header
    headerless_columns: tuple[int, int] | None = None
    test_columns: tuple[str, str | None] | None = None  # test files have other names for the texts
    encoding: str = "utf-8"

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1


_STD_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}

TASKS: dict[str, GlueTask] = {
    t.name: t
    for t in [
        GlueTask(
            "cola",
            "CoLA",
            ("sentence", None, "label"),
            ("sentence", None, "label"),
            _STD_FILES,
            2,
            headerless=("train", "validation"),
            headerless_columns=(3, 1),
            test_columns=("sentence", None),
        ),
        GlueTask("sst2", "SST-2", ("sentence", None, "label"), ("sentence", None, "label"), _STD_FILES, 2),
        GlueTask(
            "mrpc",
            "MRPC",
            ("#1 String", "#2 String", "Quality"),
            ("sentence1", "sentence2", "label"),
            _STD_FILES,
            2,
            encoding="utf-8-sig",
        ),
        GlueTask(
            "qqp",
            "QQP",
            ("question1", "question2", "is_duplicate"),
            ("question1", "question2", "label"),
            _STD_FILES,
            2,
        ),
        GlueTask(
            "stsb",
            "STS-B",
            ("sentence1", "sentence2", "score"),
            ("sentence1", "sentence2", "label"),
            _STD_FILES,
            1,
        ),
        GlueTask(
            "mnli",
            "MNLI",
            ("sentence1", "sentence2", "gold_label"),
            ("premise", "hypothesis", "label"),
            {
                "train": "train.tsv",
                "validation_matched": "dev_matched.tsv",
                "validation_mismatched": "dev_mismatched.tsv",
                "test_matched": "test_matched.tsv",
                "test_mismatched": "test_mismatched.tsv",
            },
            3,
            label_names=("entailment", "neutral", "contradiction"),
        ),
        GlueTask(
            "qnli",
            "QNLI",
            ("question", "sentence", "label"),
            ("question", "sentence", "label"),
            _STD_FILES,
            2,
            label_names=("entailment", "not_entailment"),
        ),
        GlueTask(
            "rte",
            "RTE",
            ("sentence1", "sentence2", "label"),
            ("sentence1", "sentence2", "label"),
            _STD_FILES,
            2,
            label_names=("entailment", "not_entailment"),
        ),
        GlueTask(
            "wnli",
            "WNLI",
            ("sentence1", "sentence2", "label"),
            ("sentence1", "sentence2", "label"),
            _STD_FILES,
            2,
        ),
    ]
}
GLUE_TASKS: tuple[str, ...] = tuple(TASKS)
# the split each task evaluates on (MNLI: the matched dev set)
DEV_SPLIT = {name: ("validation_matched" if name == "mnli" else "validation") for name in TASKS}
_ALIASES = {"sts-b": "stsb", "sst-2": "sst2"}
DEFAULT_EPOCHS = {"stsb": 10}  # the authors' run_glue-tasks.py: STS-B 10, the others 3


def get_task(task: str) -> GlueTask:
    """The :class:`GlueTask` for ``task`` (``"stsb"``, ``"STS-B"``, ``"mrpc"``, ...)."""
    key = task.lower()
    key = _ALIASES.get(key, key)
    if key not in TASKS:
        raise ChaoslibError(f"task={task!r} is not a GLUE task; use one of {list(GLUE_TASKS)}.")
    return TASKS[key]


def default_epochs(task: str) -> int:
    """The authors' epochs: 10 for STS-B, 3 for the other tasks."""
    return DEFAULT_EPOCHS.get(get_task(task).name, 3)


@dataclass
class GlueSplit:
    """One split of one GLUE task.

    text_a: n first segments; text_b: n second segments, or None for single-sentence tasks;
    labels: (n,) float32 scores (STS-B) or int64 classes, None for unlabelled test splits.
    """

    task: str
    split: str
    text_a: list[str]
    text_b: list[str] | None
    labels: np.ndarray | None
    source: str
    indices: np.ndarray = field(default=None)  # rows of the full split these come from

    def __post_init__(self):
        if self.indices is None:
            self.indices = np.arange(len(self.text_a))

    def __len__(self) -> int:
        return len(self.text_a)

    def require_labels(self) -> np.ndarray:
        """The (n,) labels, or an error for an unlabelled (test) split."""
        if self.labels is None:
            raise ChaoslibError(
                f"{self.task} {self.split} has no labels (GLUE test labels are hidden); use a labelled split."
            )
        return self.labels

    def take(self, rows: Sequence[int] | np.ndarray) -> GlueSplit:
        """The rows ``rows`` (positions in this split), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return replace(
            self,
            text_a=[self.text_a[i] for i in rows],
            text_b=None if self.text_b is None else [self.text_b[i] for i in rows],
            labels=None if self.labels is None else self.labels[rows],
            indices=self.indices[rows],
        )

    def subsample(self, n: int | None, seed: int = 0) -> GlueSplit:
        """A seeded random subset of ``n`` rows without replacement, in file order (None: all rows)."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise ChaoslibError(f"n={n}: a subsample needs at least one row (None keeps all).")
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.take(rows)


def load_glue(
    task: str,
    split: str = "train",
    source: str = "local",
    data_dir: str | os.PathLike | None = None,
) -> GlueSplit:
    """One GLUE split, every row.

    Args:
        task: a GLUE task name (``GLUE_TASKS``; ``"STS-B"`` style names are accepted).
        split: ``"train"``, ``"validation"`` or ``"test"`` (MNLI: ``validation_matched`` etc.;
            ``"validation"`` means the matched set).
        source: ``"local"`` (GLUE TSVs in ``<data_dir>/glue/<Task>/``) or ``"hub"`` (``datasets``).
        data_dir: the offline data folder (``chaoslib.settings.data_dir``).
    """
    spec = get_task(task)
    if split == "validation" and "validation" not in spec.files:
        split = DEV_SPLIT[spec.name]
    if split not in spec.files:
        raise ChaoslibError(f"split={split!r} does not exist for {spec.name}; use one of {list(spec.files)}.")
    if source == "local":
        return _load_tsv(spec, split, data_dir)
    if source == "hub":
        return _load_hub(spec, split)
    raise ChaoslibError(f"source={source!r}; use 'local' (GLUE TSV files) or 'hub' (the datasets library).")


def _read_tsv(path: Path, encoding: str) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        # QUOTE_NONE: a '"' inside a sentence is text, not the start of a quoted field
        return [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def _load_tsv(spec: GlueTask, split: str, data_dir) -> GlueSplit:
    folder = resolve_data_dir(data_dir) / "glue" / spec.folder
    path = folder / spec.files[split]
    if not path.exists():
        present = sorted(p.name for p in folder.glob("*.tsv")) if folder.is_dir() else []
        raise DataNotFound(
            f"GLUE {spec.name} {split}: expected {path.name} in {folder} (GLUE TSV layout: "
            f"{', '.join(spec.files.values())}), found {present or 'no such folder'}. Put the task's "
            f"original GLUE files there, or load it online with source='hub'."
        )
    rows = _read_tsv(path, spec.encoding)
    if split in spec.headerless:
        a_col, label_col = spec.headerless_columns
        b_col, width = None, max(a_col, label_col) + 1
    else:
        header, rows = rows[0], rows[1:]
        names = spec.columns
        if split.startswith("test") and spec.test_columns is not None:
            names = (*spec.test_columns, spec.columns[2])
        missing = [c for c in names[:2] if c is not None and c not in header]
        if missing:
            raise ChaoslibError(
                f"{path}: header {header} lacks the columns {missing}; is this a GLUE {spec.name} file?"
            )
        a_col = header.index(names[0])
        b_col = header.index(names[1]) if names[1] is not None else None
        label_col = header.index(names[2]) if names[2] in header else None
        width = len(header)
    short = [i for i, row in enumerate(rows) if len(row) < width]
    if short:
        raise ChaoslibError(
            f"{path}: {len(short)} rows have fewer than {width} tab-separated fields (first at data row "
            f"{short[0]}); the file is damaged or not in the GLUE layout."
        )
    text_a = [row[a_col] for row in rows]
    text_b = None if b_col is None else [row[b_col] for row in rows]
    labels = None if label_col is None else _encode_labels(spec, [row[label_col] for row in rows], path)
    return GlueSplit(spec.name, split, text_a, text_b, labels, str(path))


def _encode_labels(spec: GlueTask, raw: list[str], where) -> np.ndarray:
    try:
        if spec.is_regression:
            return np.asarray([float(v) for v in raw], dtype=np.float32)
        if spec.label_names is not None:
            lookup = {name: i for i, name in enumerate(spec.label_names)}
            return np.asarray([lookup[v] for v in raw], dtype=np.int64)
        return np.asarray([int(v) for v in raw], dtype=np.int64)
    except (KeyError, ValueError) as err:
        raise ChaoslibError(f"{where}: unexpected label {err} for GLUE {spec.name}.") from err


def _load_hub(spec: GlueTask, split: str) -> GlueSplit:
    try:
        import datasets  # optional dependency (pip install chaoslib[online])
    except ImportError as err:
        raise ChaoslibError(
            "source='hub' needs the `datasets` library: pip install 'datasets>=3' (or chaoslib[online]); "
            "or read the GLUE TSV files with source='local'."
        ) from err
    try:
        ds = datasets.load_dataset(HUB_DATASET, spec.name, split=split)
    except Exception as err:  # offline, hub unreachable: say what to do
        raise DataNotFound(
            f"could not load {HUB_DATASET}/{spec.name} split {split} with datasets ({err}); when offline, "
            f"use source='local' with the GLUE TSV files in <data_dir>/glue/{spec.folder}/."
        ) from err
    a, b, label = spec.hub_columns
    labels = np.asarray(ds[label], dtype=np.float32 if spec.is_regression else np.int64)
    if split.startswith("test"):  # GLUE test labels are hidden (-1 in datasets)
        labels = None
    return GlueSplit(
        spec.name,
        split,
        list(ds[a]),
        None if b is None else list(ds[b]),
        labels,
        f"hub:{HUB_DATASET}/{spec.name}",
    )
