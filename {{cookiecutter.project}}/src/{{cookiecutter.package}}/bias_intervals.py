"""Bootstrap confidence intervals for the gated bias metrics.

smclarify takes some 30 ms per facet and stage on 750 rows: a thousand resamples would take a
minute. Here all intervals of the sample's gated metrics take about 30 ms together. The
gated metrics Clarify defines on counts (CI, DPL, DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, TE)
are computed here directly from the eight counts of facet x label x predicted label, with
smclarify's conventions (x/0 is infinite, 0/0 is 0, two infinite rates differ by 0); the tests
check that each equals smclarify's value on the full rows. FT needs k-nearest-neighbours: its
neighbour votes are computed once on all rows (as smclarify does) and the bootstrap resamples the
sensitive group's flips, so its interval leaves out the variation of the neighbours themselves.

Each resample draws the rows with replacement (a fixed seed, so a rerun prints the same
interval); the interval is the central CONFIDENCE share of the resampled values. A resample in
which a group is empty gives no value and is left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bias import CONFIDENCE, INTERVAL_KEY, RESAMPLES, FacetView, facet_views, favourable_index, sensitive
from .settings import Bias, Dataset

PRE_TRAINING = ("CI", "DPL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "FT")
DIRECT = (*PRE_TRAINING, *POST_TRAINING)
CELLS = 8  # facet (d or a) x label (favourable or not) x predicted label (favourable or not)
DRAWN_AT_ONCE = 4_000_000  # row indices per batch of resamples: some 100 MB in flight


def counts(d: np.ndarray, y: np.ndarray, p: np.ndarray, draws: np.ndarray) -> dict[str, np.ndarray]:
    """Per draw (a row of row indices), the counts each metric needs, e.g. 'd11': rows of facet d
    with a favourable label and a favourable prediction; 'flips': the sum of FT's flips."""
    cells = d.astype(int) * 4 + y.astype(int) * 2 + p.astype(int)
    offsets = np.arange(len(draws))[:, None] * CELLS
    table = np.bincount((cells[draws] + offsets).ravel(), minlength=CELLS * len(draws)).reshape(len(draws), CELLS)
    named = {}
    for group, code in (("a", 0), ("d", 4)):
        for label in (0, 1):
            for predicted in (0, 1):
                named[f"{group}{label}{predicted}"] = table[:, code + label * 2 + predicted].astype(float)
    return named


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """smclarify's divide: 0/0 is 0, x/0 is infinite with x's sign."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.where(a == 0, 0.0, np.sign(a) * np.inf), a / np.where(b == 0, 1, b))


def _difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """first - second, 0 when both are infinite (smclarify's rule for rates over empty sets)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(first) & (first == second), 0.0, first - second)


def metrics_from_counts(c: dict[str, np.ndarray], flips: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Clarify's definitions (https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html)
    on counts; a value whose group is empty is NaN (smclarify raises there)."""
    n = {g: c[f"{g}00"] + c[f"{g}01"] + c[f"{g}10"] + c[f"{g}11"] for g in "ad"}
    label1 = {g: c[f"{g}10"] + c[f"{g}11"] for g in "ad"}
    label0 = {g: c[f"{g}00"] + c[f"{g}01"] for g in "ad"}
    predicted1 = {g: c[f"{g}01"] + c[f"{g}11"] for g in "ad"}
    predicted0 = {g: c[f"{g}00"] + c[f"{g}10"] for g in "ad"}
    tp = {g: c[f"{g}11"] for g in "ad"}
    tn = {g: c[f"{g}00"] for g in "ad"}
    fp = {g: c[f"{g}01"] for g in "ad"}
    fn = {g: c[f"{g}10"] for g in "ad"}
    empty = (n["a"] == 0) | (n["d"] == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = {g: label1[g] / n[g] for g in "ad"}
        q_hat = {g: predicted1[g] / n[g] for g in "ad"}
        accuracy = {g: (tp[g] + tn[g]) / n[g] for g in "ad"}
    recall = {g: _divide(tp[g], tp[g] + fn[g]) for g in "ad"}
    specificity = {g: _divide(tn[g], tn[g] + fp[g]) for g in "ad"}
    acceptance = {g: _divide(label1[g], predicted1[g]) for g in "ad"}  # DCA's c
    rejection = {g: _divide(label0[g], predicted0[g]) for g in "ad"}  # DCR's r
    precision = {g: _divide(tp[g], predicted1[g]) for g in "ad"}  # DAR's acceptance rate
    negative_predictive = {g: _divide(tn[g], predicted0[g]) for g in "ad"}  # DRR's rejection rate
    treatment = {g: _divide(fn[g], fp[g]) for g in "ad"}  # TE's tau
    values = {
        "CI": _divide(n["a"] - n["d"], n["a"] + n["d"]),
        "DPL": q["a"] - q["d"],
        "DPPL": q_hat["a"] - q_hat["d"],
        "DI": _divide(q_hat["d"], q_hat["a"]),
        "DCA": _difference(acceptance["a"], acceptance["d"]),
        "DCR": _difference(rejection["d"], rejection["a"]),
        "RD": _difference(recall["a"], recall["d"]),
        "SD": _difference(specificity["d"], specificity["a"]),
        "DAR": _difference(precision["a"], precision["d"]),
        "DRR": _difference(negative_predictive["d"], negative_predictive["a"]),
        "AD": accuracy["a"] - accuracy["d"],
        "TE": _difference(treatment["d"], treatment["a"]),
    }
    if flips is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            values["FT"] = flips / n["d"]
    return {name: np.where(empty, np.nan, value) for name, value in values.items()}


def flip_votes(features: pd.DataFrame, d: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """FT's flips per row, as smclarify computes them: for each row of facet d, its model prediction
    minus the majority prediction of its nearest neighbours in facet a (0 for rows of facet a)."""
    from sklearn.neighbors import KNeighborsClassifier

    flips = np.zeros(len(d))
    if d.all() or not d.any():
        return flips
    data = np.asarray(features, dtype=float)
    # smclarify's FT: 5 neighbours (1 when facet a has 9 rows or fewer), Euclidean distance.
    knn = KNeighborsClassifier(n_neighbors=5 if (~d).sum() > 9 else 1)
    knn.fit(data[~d], predicted[~d])
    flips[d] = predicted[d].astype(int) - knn.predict(data[d]).astype(int)
    return flips


def interval(samples: np.ndarray) -> list[float] | None:
    finite = samples[~np.isnan(samples)]
    if not len(finite):
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return [round(float(low), 6), round(float(high), 6)]


def bootstrap(
    d: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    names: list[str],
    seed: int,
    flips: np.ndarray | None = None,
    resamples: int = RESAMPLES,
) -> dict[str, list[float] | None]:
    """The confidence interval of each named metric over `resamples` resamples of the rows, drawn a
    few at a time: all 1,000 draws of 150,000 rows at once would hold gigabytes."""
    rng = np.random.default_rng(seed)
    at_once = max(1, DRAWN_AT_ONCE // max(len(d), 1))
    parts = []
    for start in range(0, resamples, at_once):
        draws = rng.integers(0, len(d), size=(min(at_once, resamples - start), len(d)))
        parts.append(metrics_from_counts(counts(d, y, p, draws), None if flips is None else flips[draws].sum(axis=1)))
    found = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return {name: interval(found[name]) for name in names if name in found}


def confidence_intervals(
    labelled: pd.DataFrame,
    test: pd.DataFrame,
    predicted: np.ndarray,
    flip_frame: pd.DataFrame,
    dataset: Dataset,
    bias: Bias,
    seed: int,
) -> dict[tuple[str, str, str], list[float] | None]:
    """(stage, facet column, facet value, metric) -> [low, high] for every gated metric computed
    directly (others get no interval). Pre-training metrics resample the labelled rows, as their
    values are computed on them; post-training ones the test rows."""
    from .bias import facet_frame

    gated = set(bias.thresholds)
    pre = [name for name in PRE_TRAINING if name in gated and name in bias.pre_training_metrics]
    post = [name for name in POST_TRAINING if name in gated and name in bias.post_training_metrics]
    found = {}
    labels = favourable_index(labelled[dataset.label], dataset, bias)
    test_labels = favourable_index(test[dataset.label], dataset, bias)
    test_predicted = favourable_index(predicted, dataset, bias)
    labelled_facets, test_facets = facet_frame(labelled, bias), facet_frame(test, bias)
    for view in facet_views(bias):
        key = _key(view)
        if pre:
            d = sensitive(labelled_facets, view)
            for name, bounds in bootstrap(d, labels, labels, pre, seed).items():
                found[("pre_training_bias_metrics", *key, name)] = bounds
        if post:
            d = sensitive(test_facets, view)
            flips = flip_votes(flip_frame, d, test_predicted) if "FT" in post else None
            for name, bounds in bootstrap(d, test_labels, test_predicted, post, seed, flips).items():
                found[("post_training_bias_metrics", *key, name)] = bounds
    return found


def _key(view: FacetView) -> tuple[str, str]:
    return view.column, view.value_or_threshold


def annotate(analysis_json: dict, intervals: dict) -> dict:
    """Adds each interval to its metric in analysis.json's shape, under INTERVAL_KEY."""
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for column, groups in analysis_json.get(stage, {}).get("facets", {}).items():
            for group in groups:
                for metric in group["metrics"]:
                    bounds = intervals.get((stage, column, group["value_or_threshold"], metric["name"]))
                    if bounds is not None:
                        metric[INTERVAL_KEY] = bounds
    return analysis_json


def interval_of(analysis_json: dict) -> dict[tuple[str, str, str, str], list[float]]:
    """(stage, column, facet value, metric) -> [low, high], as annotate wrote them."""
    found = {}
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for column, groups in analysis_json.get(stage, {}).get("facets", {}).items():
            for group in groups:
                for metric in group["metrics"]:
                    if INTERVAL_KEY in metric:
                        found[stage, column, group["value_or_threshold"], metric["name"]] = metric[INTERVAL_KEY]
    return found
