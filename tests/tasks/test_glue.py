"""GLUE data readers and metrics, against the documented row counts and independent references.

The metrics call scipy and scikit-learn; the references here are computed by hand (numpy sums,
ranks counted pairwise, confusion counts) and by a bootstrap written out with numpy.
"""

import csv

import numpy as np
import pytest

from chaoslib.errors import ChaoslibError, DataNotFound
from chaoslib.settings import data_dir
from chaoslib.tasks.glue import GLUE_TASKS, default_epochs, get_task, load_glue
from chaoslib.tasks.glue_metrics import PRIMARY_METRIC, glue_metrics, score_interval

# documented in shared/data/README.md (and the GLUE / datasets split sizes)
ROW_COUNTS = [
    ("stsb", "train", 5749),
    ("stsb", "validation", 1500),
    ("stsb", "test", 1379),
    ("mrpc", "train", 3668),
    ("mrpc", "validation", 408),
    ("rte", "train", 2490),
    ("rte", "validation", 277),
    ("rte", "test", 3000),
    ("wnli", "train", 635),
    ("wnli", "validation", 71),
    ("wnli", "test", 146),
    ("cola", "validation", 1043),
    ("cola", "test", 1063),
]


@pytest.mark.parametrize("task,split,n", ROW_COUNTS)
def test_tsv_row_counts(task, split, n):
    data = load_glue(task, split)
    assert len(data) == n
    assert len(data.text_a) == n and all(isinstance(t, str) and t for t in data.text_a)
    if get_task(task).columns[1] is not None:
        assert len(data.text_b) == n
    else:
        assert data.text_b is None
    if split == "test":
        assert data.labels is None
    else:
        assert data.labels.shape == (n,)


def test_default_quoting_would_lose_rows():
    # the reason for QUOTE_NONE: with csv's default quoting, STS-B train loses rows silently
    with open(data_dir() / "glue" / "STS-B" / "train.tsv", encoding="utf-8", newline="") as handle:
        naive = list(csv.reader(handle, delimiter="\t"))
    assert len(naive) - 1 < 5749
    assert len(load_glue("stsb", "train")) == 5749


def test_label_values():
    stsb = load_glue("stsb", "validation")
    assert stsb.labels.dtype == np.float32
    assert stsb.labels.min() == 0.0 and stsb.labels.max() == 5.0
    assert stsb.labels[:2].tolist() == [5.0, 4.75]
    assert stsb.text_a[0] == "A man with a hard hat is dancing."
    assert stsb.text_b[0] == "A man wearing a hard hat is dancing."
    rte = load_glue("rte", "validation")  # entailment 0, not_entailment 1 (datasets' order)
    assert set(rte.labels.tolist()) == {0, 1}
    assert int((rte.labels == 0).sum()) == 146 and int((rte.labels == 1).sum()) == 131
    mrpc = load_glue("mrpc", "train")  # BOM: the header's first column is still found
    assert mrpc.labels[:3].tolist() == [1, 0, 1]
    assert mrpc.text_a[0].startswith("Amrozi accused his brother")
    cola = load_glue("cola", "validation")  # no header: the first line is data
    assert cola.text_a[0] == "The sailors rode the breeze clear of the rocks."
    assert cola.labels[0] == 1


def test_quotes_are_kept_as_text():
    mrpc = load_glue("mrpc", "validation")
    assert mrpc.text_b[0].startswith('" The foodservice pie business')


def test_missing_task_files_name_folder_and_files(tmp_path):
    (tmp_path / "glue" / "MRPC").mkdir(parents=True)
    with pytest.raises(DataNotFound) as err:
        load_glue("mrpc", "train", data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "glue" / "MRPC") in message and "train.tsv" in message and "dev.tsv" in message
    with pytest.raises(DataNotFound, match="CoLA"):
        load_glue("cola", "train")  # no CoLA train offline


def test_bad_arguments():
    with pytest.raises(ChaoslibError, match="task="):
        load_glue("squad")
    with pytest.raises(ChaoslibError, match="split="):
        load_glue("stsb", "dev")
    with pytest.raises(ChaoslibError, match="source="):
        load_glue("stsb", source="web")
    assert get_task("STS-B").name == "stsb"
    assert set(PRIMARY_METRIC) == set(GLUE_TASKS)


def test_hub_source_maps_columns(monkeypatch):
    # the online path with datasets' column layout, without the network: a stand-in load_dataset
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(path, name, split):
        calls.append((path, name, split))
        if name == "mnli":
            return {"premise": ["p"], "hypothesis": ["h"], "label": [2]}
        return {
            "sentence1": ["a", "b"],
            "sentence2": ["c", "d"],
            "label": [4.5, -1.0] if split == "train" else [-1, -1],
        }

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    stsb = load_glue("stsb", "train", source="hub")
    assert stsb.text_a == ["a", "b"] and stsb.text_b == ["c", "d"] and stsb.labels.dtype == np.float32
    assert load_glue("stsb", "test", source="hub").labels is None  # hidden test labels (-1)
    mnli = load_glue("mnli", "validation", source="hub")
    assert mnli.labels.tolist() == [2] and mnli.split == "validation_matched"
    assert calls == [
        ("nyu-mll/glue", "stsb", "train"),
        ("nyu-mll/glue", "stsb", "test"),
        ("nyu-mll/glue", "mnli", "validation_matched"),
    ]


def test_hub_unreachable_says_what_to_do(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataNotFound, match="source='local'"):
        load_glue("rte", source="hub")


def test_subsample_is_seeded_and_consistent():
    full = load_glue("stsb", "train")
    a, b = full.subsample(50, seed=3), full.subsample(50, seed=3)
    assert a.indices.tolist() == b.indices.tolist() and len(set(a.indices.tolist())) == 50
    assert a.indices.tolist() != full.subsample(50, seed=4).indices.tolist()
    i = int(a.indices[7])
    assert a.text_a[7] == full.text_a[i] and a.labels[7] == full.labels[i]
    assert full.subsample(None) is full


# ----------------------------------------------------------------------------------------- metrics

rng = np.random.default_rng(0)
SCORES = rng.uniform(0, 5, 200).round(1)  # rounding makes ties, which Spearman must average
PRED_SCORES = (SCORES + rng.normal(0, 1.5, 200)).round(1)
TRUE_CLASSES = rng.integers(0, 2, 300)
PRED_CLASSES = np.where(rng.random(300) < 0.7, TRUE_CLASSES, 1 - TRUE_CLASSES)


def hand_pearson(x, y):
    x, y = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    return float(np.sum(x * y) / np.sqrt(np.sum(x * x) * np.sum(y * y)))


def hand_average_ranks(x):
    """rank_i = #{j: x_j < x_i} + (#{j: x_j == x_i} + 1) / 2, counted pairwise: ties share their mean rank."""
    x = np.asarray(x, float)
    return (x[None, :] < x[:, None]).sum(1) + ((x[None, :] == x[:, None]).sum(1) + 1) / 2


def test_average_ranks_by_hand():
    assert hand_average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_stsb_metrics_match_hand_computation():
    m = glue_metrics("stsb", PRED_SCORES[:, None], SCORES)
    r = hand_pearson(PRED_SCORES, SCORES)
    rho = hand_pearson(hand_average_ranks(PRED_SCORES), hand_average_ranks(SCORES))
    assert len(np.unique(SCORES)) < len(SCORES)  # ties present: average ranks matter
    assert m["pearson"] == pytest.approx(r, abs=1e-12)
    assert m["spearman"] == pytest.approx(rho, abs=1e-12)
    assert m["pearson_spearman_mean"] == pytest.approx((r + rho) / 2, abs=1e-12)
    assert 0.3 < r < 0.9  # a real, non-trivial correlation


def test_constant_prediction_has_no_correlation():
    m = glue_metrics("stsb", np.full(20, 2.5), SCORES[:20])
    assert np.isnan(m["pearson"]) and np.isnan(m["spearman"])


def test_classification_metrics_closed_form():
    pred = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    true = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    tp, fp, fn, tn = 3, 2, 1, 2  # counted by hand
    mrpc = glue_metrics("mrpc", pred, true)
    assert mrpc["accuracy"] == pytest.approx(5 / 8)
    assert mrpc["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert glue_metrics("cola", pred, true)["matthews"] == pytest.approx(mcc)


def test_matthews_is_phi_coefficient():
    # for binary variables, MCC equals the Pearson correlation (phi): an independent reference
    m = glue_metrics("cola", PRED_CLASSES, TRUE_CLASSES)["matthews"]
    assert m == pytest.approx(hand_pearson(PRED_CLASSES, TRUE_CLASSES), abs=1e-12)


def test_f1_from_counts_and_logits():
    logits = np.stack([1 - PRED_CLASSES, PRED_CLASSES], 1) * 2.0 - 1.0
    m = glue_metrics("qqp", logits, TRUE_CLASSES)
    tp = np.sum((PRED_CLASSES == 1) & (TRUE_CLASSES == 1))
    f1 = 2 * tp / (np.sum(PRED_CLASSES == 1) + np.sum(TRUE_CLASSES == 1))
    assert m["f1"] == pytest.approx(f1, abs=1e-12)
    assert m["accuracy"] == pytest.approx(np.mean(PRED_CLASSES == TRUE_CLASSES))
    assert glue_metrics("rte", logits, TRUE_CLASSES) == {"accuracy": m["accuracy"]}


def test_degenerate_predictions_and_shape_errors():
    assert glue_metrics("cola", np.zeros(10, int), TRUE_CLASSES[:10])["matthews"] == 0.0
    assert glue_metrics("mrpc", np.zeros(10, int), TRUE_CLASSES[:10])["f1"] == 0.0
    with pytest.raises(ChaoslibError, match="predictions"):
        glue_metrics("stsb", np.zeros(5), np.zeros(6))
    with pytest.raises(ChaoslibError, match="STS-B predictions"):
        glue_metrics("stsb", np.zeros((5, 2)), np.zeros(5))


def test_default_epochs_follow_spec():
    assert default_epochs("stsb") == 10 and default_epochs("STS-B") == 10
    assert default_epochs("mrpc") == 3 and default_epochs("rte") == 3


def test_score_interval_against_a_numpy_bootstrap():
    """Percentile interval of the STS-B score: against the same resampling written out with numpy
    (scipy's bootstrap draws its row indices from the same seeded generator), and its coverage."""
    gen = np.random.default_rng(5)
    labels = gen.uniform(0, 5, 120)
    preds = np.stack([labels + gen.normal(0, s, 120) for s in (1.0, 3.0)])
    low, high = score_interval("stsb", preds, labels, n_resamples=300, seed=11)
    # the numpy bootstrap: 300 index resamples, the same for both predictors
    rows = np.random.default_rng(11).integers(0, 120, size=(300, 120))
    for k in range(2):
        boot = [glue_metrics("stsb", preds[k, r], labels[r])["pearson_spearman_mean"] for r in rows]
        ref_low, ref_high = np.percentile(boot, [2.5, 97.5])
        point = glue_metrics("stsb", preds[k], labels)["pearson_spearman_mean"]
        assert low[k] < point < high[k]
        # different draws of the same distribution: equal within the bootstrap's own noise
        assert abs(low[k] - ref_low) < 0.04 and abs(high[k] - ref_high) < 0.04
    assert high[1] - low[1] > high[0] - low[0]  # the noisier predictor has the wider interval


def test_score_interval_classification_and_shapes():
    preds = np.stack([PRED_CLASSES[:80], TRUE_CLASSES[:80]])
    low, high = score_interval("mrpc", preds, TRUE_CLASSES[:80], n_resamples=100)
    f1 = glue_metrics("mrpc", PRED_CLASSES[:80], TRUE_CLASSES[:80])["f1"]
    assert low[0] < f1 < high[0] and low[1] == high[1] == 1.0  # a perfect predictor: no spread
    with pytest.raises(ChaoslibError, match="predictions"):
        score_interval("stsb", np.zeros(5), np.zeros(5))
