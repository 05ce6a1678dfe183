"""General scoring statistics, owned here and used by the utility metrics
(:mod:`lib.genetics.popgen`), the attacks (:mod:`lib.evaluation.mia`, :mod:`lib.lm.vocab_privacy`) and the
chapters: a percentile bootstrap over rows, ROC AUC by ranks, the AUC of fixed scores with a
bootstrap interval over people, and balanced accuracy. Nothing here knows about genomes."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bootstrap(statistic, arrays: Sequence[np.ndarray], n_boot: int = 200, seed: int = 0,
              level: float = 0.95) -> tuple[float, float, float]:
    """``statistic(*arrays)`` and a percentile bootstrap interval, each array's rows
    (people, or sites for per-site tables) resampled with replacement independently:
    ``(value, low, high)``. Resample what the statistic is an average over: a statistic
    that compares two cohorts' frequencies is biased by resampling people."""
    rng = np.random.default_rng(seed)
    value = float(statistic(*arrays))
    draws = [float(statistic(*[a[rng.integers(0, len(a), len(a))] for a in arrays])) for _ in range(n_boot)]
    draws = np.asarray(draws)[~np.isnan(draws)]
    if not len(draws):
        return value, float("nan"), float("nan")
    tail = (1 - level) / 2
    return value, float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for the binary labels ``y`` (1 positive), by the Mann-Whitney
    rank sum, ties counted one half (the same number as scikit-learn's ``roc_auc_score``,
    without its per-call checks: the bootstraps call it hundreds of times). NaN without
    both classes."""
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The mean over the true classes of the share predicted right (scikit-learn's
    ``balanced_accuracy_score``, without its per-call checks)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


def auc_interval(y: np.ndarray, score: np.ndarray, seed: int, n_boot: int) -> tuple[float, float, float]:
    """ROC AUC of out-of-fold ``score`` with a bootstrap 95% interval over people (NaN
    bounds when ``n_boot`` is 0: the AUC alone)."""
    auc = roc_auc(y, score)
    if n_boot == 0:
        return auc, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = np.array([roc_auc(y[index], score[index]) for index in
                      (rng.integers(0, len(y), len(y)) for _ in range(n_boot))])
    draws = draws[~np.isnan(draws)]
    return auc, float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))
