"""Membership inference: what an attacker can tell about who a model was trained on.

The privacy chapter asks of every model and every synthetic cohort: given a person's
profile, can an attacker tell whether that person was a *member* (trained on) or not? The
module is arranged as signals, attacks and one evaluation, the way ML Privacy Meter
separates them:

* **signals** -- what the attacker measures. :func:`sequence_signals` runs a model over
  candidate profiles (black box: the model's output probabilities only) and returns, per
  candidate, the mean next-token loss, the perplexity, the mean top-token confidence, the
  variance of the per-token loss, the mean logit norm and the mean log-likelihood per
  token. :func:`synthetic_signals` needs no model at all: only the released synthetic
  cohort (distance to the closest synthetic person, kinship with the closest, a density
  ratio).
* **attacks** -- scikit-learn shaped: built with their settings, ``fit`` on what the
  attacker has (reference models it trained itself on public people, never the target's
  member labels), ``score`` on candidates, one score per candidate, higher meaning "more
  likely a member". :class:`ThresholdAttack` (one signal, its direction learnt on
  reference models), :class:`ClassifierAttack` (logistic regression, random forest or
  k-NN over several signals), :class:`LiRA` (Carlini et al. 2022, offline or online;
  fixed variance when reference models are few), :class:`RMIA` (Zarifzadeh et al. 2024), :class:`DensityRatioAttack`
  (in the spirit of DOMIAS, van Breugel et al. 2023).
* **evaluation** -- :func:`evaluate` turns any attack's scores and the true labels into
  ROC AUC with a bootstrap interval, TPR at low FPRs (only where the number of
  non-members resolves them), the membership advantage, the ROC curve and the empirical
  epsilon lower bound of :mod:`lib.evaluation.audit`. :func:`best_attack` reports the best of
  several attacks on the same candidates with an interval that pays for having chosen it.

Labels are 1 for a member and 0 for a non-member throughout.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import audit, utility
from ..core import scoring
from ..genomes.profiletext import RECORD
from ..genetics import popgen
from ..lm import models, training, vocab_privacy

#: The per-candidate model signals of :func:`sequence_signals`.
SIGNALS = ("loss", "perplexity", "confidence", "loss_variance", "logit_norm", "log_likelihood")


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------

@torch.no_grad()
def sequence_signals(model: torch.nn.Module, sequences: Sequence[Sequence[int]], batch_size: int = 32,
                     device: torch.device | str | None = None) -> pd.DataFrame:
    """Per candidate sequence (token ids as training saw them: start token, records, end
    token; truncated to the model's block size as training truncated them), from the
    model's next-token distributions over its real tokens (padding never counts):

    * ``loss``: mean negative log-likelihood per predicted token;
    * ``perplexity``: ``exp(loss)``;
    * ``confidence``: mean probability of the most likely next token;
    * ``loss_variance``: variance of the per-token losses over the sequence (the
      dissertation's, computed over windows of 1,024 tokens, was 0 for any sequence shorter
      than one window);
    * ``logit_norm``: mean L2 norm of the logit vectors;
    * ``log_likelihood``: mean log-probability per token (``-loss``), the statistic the
      reference-model attacks compare;
    * ``n_tokens``: the tokens predicted.

    Batched; the model is put in evaluation mode and left as it was found."""
    model = models.unwrap(model)
    block = models.block_size(model)
    pad = models.pad_token_id_of(model)
    if pad is None:
        raise ValueError("the model has no pad_token_id; it cannot score sequences of different lengths")
    sequences = [list(map(int, s))[:block] for s in sequences]
    if any(len(s) < 2 for s in sequences):
        raise ValueError("every candidate sequence needs at least 2 tokens (one prediction)")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    rows = []
    try:
        for start in range(0, len(sequences), batch_size):
            batch = training.pad_batch(sequences[start:start + batch_size], pad)
            input_ids, mask, positions = (batch[k].to(device) for k in ("input_ids", "attention_mask", "position_ids"))
            logits = model(input_ids, attention_mask=mask, position_ids=positions).logits[:, :-1, :].float()
            targets = models.make_labels(input_ids, mask, pad)[:, 1:]
            valid = targets != models.IGNORE_INDEX
            losses = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                                     ignore_index=models.IGNORE_INDEX, reduction="none").view(targets.shape)
            confidence = logits.softmax(dim=-1).max(dim=-1).values
            norm = logits.norm(dim=-1)
            counts = valid.sum(dim=1).clamp(min=1)
            mean_loss = (losses * valid).sum(dim=1) / counts
            variance = (((losses - mean_loss[:, None]) ** 2) * valid).sum(dim=1) / counts
            for i in range(len(counts)):
                rows.append({"loss": float(mean_loss[i]), "confidence": float((confidence[i] * valid[i]).sum() / counts[i]),
                             "loss_variance": float(variance[i]),
                             "logit_norm": float((norm[i] * valid[i]).sum() / counts[i]), "n_tokens": int(counts[i])})
    finally:
        model.train(was_training)
    frame = pd.DataFrame(rows, columns=["loss", "confidence", "loss_variance", "logit_norm", "n_tokens"])
    frame.insert(1, "perplexity", np.exp(frame["loss"]))
    frame["log_likelihood"] = -frame["loss"]
    return frame


def synthetic_signals(candidates: np.ndarray, synthetic: np.ndarray) -> pd.DataFrame:
    """What the released synthetic cohort alone says about each candidate (dosage
    matrices on the same sites): ``dcr`` (the distance, in alleles, to the closest
    synthetic person; smaller looks more like a member), ``ibs`` (identity by state with
    the closest synthetic person: the share of alleles shared over sites, ``1 - dcr / (2 x
    sites)``, so an attack on it ranks candidates as the distance does), ``kinship`` (the
    KING kinship with the closest synthetic relative) and ``identical`` (a synthetic person
    carries exactly the candidate's genotypes)."""
    distances = popgen.genotype_distances(candidates, synthetic)
    kinship = popgen.king_kinship(candidates, synthetic)
    with np.errstate(invalid="ignore"):
        closest_kin = np.where(np.isnan(kinship).all(axis=1), np.nan, np.nanmax(np.nan_to_num(kinship, nan=-np.inf),
                                                                                   axis=1))
    dcr = distances.min(axis=1).astype(float)
    return pd.DataFrame({"dcr": dcr, "ibs": 1 - dcr / (2 * candidates.shape[1]), "kinship": closest_kin,
                         "identical": (distances.min(axis=1) == 0).astype(float)})


#: The dissertation's ten genomic features of a continuation (the hybrid attack), and the
#: number of records they are computed over.
GENOMIC_FEATURES = ("mutation_rate", "allele_mutation_rate", "deletions", "insertions", "substitutions",
                    "biallelic", "multiallelic", "hom_ref", "hom_alt", "het")


def continuation_features(records: Sequence[str]) -> dict[str, float]:
    """The dissertation's ten genomic features of the records a model wrote
    (:data:`GENOMIC_FEATURES`), over the well-formed ones (``n_records``, also returned):
    ``mutation_rate`` (records with an ALT allele / records), ``allele_mutation_rate`` (ALT
    alleles / alleles, over the records with an ALT allele), counts of records whose ALT
    allele carried is a deletion, insertion or substitution, of bi- and multi-allelic
    records, and of homozygous-reference, homozygous-ALT and heterozygous records.
    A continuation without a well-formed record has rates of 0 by definition (nothing was
    written), not by a fallback: ``n_records`` says so; a record that does not parse is not
    counted."""
    parsed = [m for m in (RECORD.match(r) for r in records) if m is not None]
    alleles = [(m["a"], m["b"]) for m in parsed]
    carrying = [(a, b) for a, b in alleles if any(x not in ("0", ".") for x in (a, b))]
    alt_alleles = sum(x not in ("0", ".") for pair in carrying for x in pair)
    kinds = [utility.carried_type(m["ref"], tuple(m["alts"].split(",")), f"{m['a']}/{m['b']}") for m in parsed
             if any(x not in ("0", ".") for x in (m["a"], m["b"]))]
    n = len(parsed)
    return {"n_records": float(n),
            "mutation_rate": len(carrying) / n if n else 0.0,
            "allele_mutation_rate": alt_alleles / (2 * len(carrying)) if carrying else 0.0,
            "deletions": float(kinds.count("deletion")), "insertions": float(kinds.count("insertion")),
            "substitutions": float(kinds.count("substitution")),
            "biallelic": float(sum("," not in m["alts"] for m in parsed)),
            "multiallelic": float(sum("," in m["alts"] for m in parsed)),
            "hom_ref": float(sum(a == b == "0" for a, b in alleles)),
            "hom_alt": float(sum(a == b and a not in ("0", ".") for a, b in alleles)),
            "het": float(sum(a != b for a, b in alleles))}


# --------------------------------------------------------------------------------------
# Attacks
# --------------------------------------------------------------------------------------

def _labels(labels: Any, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if len(labels) != n:
        raise ValueError(f"labels: {len(labels)} labels for {n} candidates")
    if not set(np.unique(labels)) <= {0, 1} or len(np.unique(labels)) != 2:
        raise ValueError("labels must hold both 1 (member) and 0 (non-member), nothing else")
    return labels.astype(int)


class ThresholdAttack:
    """One signal as the score. The direction (does a member have the higher or the lower
    value?) is learnt on reference models' members and non-members, never the target's:
    :meth:`fit` keeps the sign under which the references' AUC is at least 0.5. The
    dissertation's threshold attack assumed "lower confidence means member" and fit its
    threshold on all the target's data."""

    def __init__(self, signal: str = "loss"):
        self.signal = signal

    def fit(self, features: pd.DataFrame, labels: Any) -> "ThresholdAttack":
        labels = _labels(labels, len(features))
        self.sign_ = 1.0 if scoring.roc_auc(labels, features[self.signal].to_numpy()) >= 0.5 else -1.0
        return self

    def score(self, features: pd.DataFrame) -> np.ndarray:
        return self.sign_ * features[self.signal].to_numpy(dtype=float)


class ClassifierAttack:
    """A classifier over several signals, trained on reference models' members (1) and
    non-members (0) and applied to the target's candidates: ``kind`` is ``"logistic"``
    (standardised logistic regression), ``"forest"`` (100 trees) or ``"knn"`` (k =
    √n / 2, as the dissertation), seeded."""

    def __init__(self, kind: str = "logistic", signals: Sequence[str] = ("loss", "confidence", "loss_variance",
                                                                          "logit_norm"), seed: int = 0):
        if kind not in ("logistic", "forest", "knn"):
            raise ValueError(f"kind={kind!r}; choose 'logistic', 'forest' or 'knn'")
        self.kind, self.signals, self.seed = kind, list(signals), seed

    def fit(self, features: pd.DataFrame, labels: Any) -> "ClassifierAttack":
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        labels = _labels(labels, len(features))
        x = features[self.signals].to_numpy(dtype=float)
        if self.kind == "logistic":
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        elif self.kind == "forest":
            model = RandomForestClassifier(n_estimators=100, random_state=self.seed)
        else:
            k = max(1, int(np.sqrt(len(x)) / 2))
            model = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=k))
        self.model_ = model.fit(x, labels)
        return self

    def score(self, features: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(features[self.signals].to_numpy(dtype=float))[:, 1]


class LiRA:
    """The likelihood-ratio attack of Carlini et al. (2022) on a candidate's statistic
    (its mean log-likelihood per token).

    * **Offline** (:meth:`fit` without ``in_mask``): no reference model trained on any
      candidate. The statistic under a model that did not see the candidate is modelled as
      a Gaussian with the candidate's own mean over the references and one variance shared
      by all candidates; the score is how far above that distribution the target puts the
      candidate (the one-sided z-score, a monotone transform of the offline test's
      likelihood ratio).
    * **Online** (``in_mask``: reference models x candidates, True where that reference
      trained on that candidate; the attacker trains them on random halves of a pool that
      holds the candidates' profiles, never their labels): one Gaussian from the models
      that trained on the candidate (IN), one from those that did not (OUT); the score is
      the log-likelihood ratio ``log N(t; mu_in, s_in) - log N(t; mu_out, s_out)``.

    ``fix_variance``: share one variance per side among all candidates (the paper's choice
    with few reference models) rather than each candidate's own; None (default) fixes it
    below 64 reference models, as the paper advises."""

    def __init__(self, fix_variance: bool | None = None):
        self.fix_variance = fix_variance

    @staticmethod
    def _side(stats: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the mean of its statistics on one side and its own standard
        deviation (NaN with fewer than 2 models on that side)."""
        counts = mask.sum(axis=0)
        mean = (stats * mask).sum(axis=0) / counts
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt((((stats - mean) ** 2) * mask).sum(axis=0) / (counts - 1))
        return mean, np.where(counts > 1, std, np.nan)

    def fit(self, reference_statistics: np.ndarray, in_mask: np.ndarray | None = None) -> "LiRA":
        """``reference_statistics``: reference models x candidates, each candidate's
        statistic under each reference model. ``in_mask`` (same shape): True where the
        reference trained on the candidate (online); None: offline, no reference trained
        on any candidate. Online, every candidate needs at least one IN and one OUT
        model (complementary halves give each exactly half)."""
        stats = np.atleast_2d(np.asarray(reference_statistics, dtype=float))
        fixed = self.fix_variance if self.fix_variance is not None else len(stats) < 64
        self.online_ = in_mask is not None
        if not self.online_:
            self.mean_ = stats.mean(axis=0)
            spread = stats - self.mean_ if len(stats) > 1 else stats - stats.mean()
            self.std_ = float(max(np.sqrt((spread ** 2).mean()), 1e-6))
            return self
        in_mask = np.atleast_2d(np.asarray(in_mask, dtype=bool))
        if in_mask.shape != stats.shape:
            raise ValueError(f"in_mask has shape {in_mask.shape}; the statistics have {stats.shape}")
        missing = np.flatnonzero(~in_mask.any(axis=0) | in_mask.all(axis=0))
        if len(missing):
            raise ValueError(f"online LiRA: {len(missing)} candidates (first: {missing[0]}) lack a reference model "
                             "that trained on them or one that did not")
        self.in_mean_, in_std = self._side(stats, in_mask)
        self.out_mean_, out_std = self._side(stats, ~in_mask)
        if fixed:
            # one variance for every candidate and both sides: the spread of each statistic
            # around its own side's mean, pooled (the spread of all of them when no
            # candidate has two models on a side); it only scales the score
            residual = stats - np.where(in_mask, self.in_mean_, self.out_mean_)
            groups = 2 * stats.shape[1]
            dof = stats.size - groups
            spread = np.sqrt((residual ** 2).sum() / dof) if dof > 0 else stats.std()
            self.in_std_ = self.out_std_ = np.full(stats.shape[1], float(max(spread, 1e-6)))
        else:
            if np.isnan(in_std).any() or np.isnan(out_std).any():
                raise ValueError("a per-candidate variance needs at least 2 reference models on each side of every "
                                 "candidate; use fix_variance=True")
            self.in_std_, self.out_std_ = np.maximum(in_std, 1e-6), np.maximum(out_std, 1e-6)
        return self

    def score(self, target_statistics: np.ndarray, offset: float = 0.0) -> np.ndarray:
        """The candidates' scores from their statistics under the target, less ``offset``
        (:func:`calibration_offset`: how much higher the target puts everyone than the
        references do; it changes the online score's ranking, not the offline one's)."""
        t = np.asarray(target_statistics, dtype=float) - float(offset)
        if not self.online_:
            return (t - self.mean_) / self.std_

        def log_density(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
            return -0.5 * ((t - mean) / std) ** 2 - np.log(std)

        return log_density(self.in_mean_, self.in_std_) - log_density(self.out_mean_, self.out_std_)


def calibration_offset(population_target: np.ndarray, population_reference: np.ndarray,
                       population_out: np.ndarray | None = None) -> float:
    """How much higher the target puts people it never trained on than the reference
    models do: the mean statistic of the population people (public, none a member) under
    the target, less their mean under the reference models that left them out
    (``population_out``: reference models x people, True where left out; None: all).
    Reference models trained on fewer people than the target fit everyone worse; online
    LiRA compares the target's statistic with the references' IN and OUT levels, so a
    level shift between them would swamp the IN/OUT difference. Uses public people only."""
    reference = np.atleast_2d(np.asarray(population_reference, dtype=float))
    out = np.ones_like(reference, dtype=bool) if population_out is None else np.atleast_2d(
        np.asarray(population_out, dtype=bool))
    if not out.any():
        raise ValueError("calibration needs at least one population person a reference model left out")
    return float(np.mean(population_target) - reference[out].mean())


class RMIA:
    """The robust membership inference attack of Zarifzadeh, Liu & Shokri (2024, "Low-Cost
    High-Power Membership Inference Attacks", ICML). For a candidate x, the likelihood
    ratio ``p(x | target) / p(x)`` is compared with that of each person z of a
    *population* sample the attacker holds (public people who are not candidates): the
    score is the share of z for which

        [p(x | target) / p(x)] / [p(z | target) / p(z)] > gamma

    (strictly; ``gamma`` = 1 by default, and a larger ``gamma`` asks more of every
    comparison, so it can only lower a score). Probabilities are per-token: ``exp`` of
    the mean log-likelihood per token, so that long and short profiles compare.

    ``p(x)`` is the mean of ``p(x | reference)`` over reference models. Online, half of
    them trained on x and the mean is the paper's ``(p_IN(x) + p_OUT(x)) / 2``. Offline
    (no reference trained on x) the mean is ``p_OUT(x)`` alone, and the paper
    approximates the missing IN models linearly from the OUT ones: ``p_IN(x) ~ a p_OUT(x)
    + (1 - a)``, so that ``p(x) = ((1 + a) p_OUT(x) + (1 - a)) / 2``. ``a`` = 1 (the
    default here) trusts the OUT models as they are; ``a`` < 1 says a model that trained on
    x would have put it higher, the more so the less likely the OUT models find it. The
    same ``p(.)`` is used for the candidates and the population people (as ML Privacy
    Meter does). :data:`OFFLINE_A` is the offline choice callers can pass; the class
    keeps ``a`` = 1 as its default and leaves the choice to them."""

    #: ``a`` for offline RMIA (no reference model trained on the candidates): the paper
    #: approximates the IN models' probability from the OUT models' as ``a p_OUT + (1 -
    #: a)``, and 0.3 is ML Privacy Meter's default offline ``a`` (it also tunes ``a`` on a
    #: pair of reference models; a fixed value keeps the attack declared before scored).
    OFFLINE_A = 0.3

    def __init__(self, gamma: float = 1.0, a: float = 1.0):
        if not 0 < gamma < np.inf:
            raise ValueError(f"gamma={gamma} must be a finite number above 0")
        if not 0 <= a <= 1:
            raise ValueError(f"a={a} must lie in [0, 1]")
        self.gamma, self.a = float(gamma), float(a)

    @staticmethod
    def _statistics(target: Any, reference: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """The target's statistics (one per person) and the references' (reference models x
        people), checked: finite, and as many people in both."""
        target = np.asarray(target, dtype=float)
        reference = np.atleast_2d(np.asarray(reference, dtype=float))
        if target.ndim != 1 or reference.ndim != 2 or reference.shape[1] != target.size or not target.size:
            raise ValueError(f"RMIA: {what}: the target's statistics have shape {target.shape} and the "
                             f"references' {reference.shape}; expected (people,) and (reference models, people)")
        if not (np.isfinite(target).all() and np.isfinite(reference).all()):
            raise ValueError(f"RMIA: {what}: the log-likelihoods must be finite numbers")
        return target, reference

    def _marginal(self, reference_log_likelihood: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """log p(.) per person: the mean probability over the reference models (those
        that left the person out, where ``out`` says), corrected by ``a``."""
        probability = np.exp(reference_log_likelihood)
        ref = probability.mean(axis=0) if out is None else (probability * out).sum(axis=0) / out.sum(axis=0)
        return np.log(((1 + self.a) * ref + (1 - self.a)) / 2)

    def fit(self, population_target: np.ndarray, population_reference: np.ndarray,
            population_out: np.ndarray | None = None) -> "RMIA":
        """The population people's mean log-likelihood per token under the target model
        (``population_target``, one per person) and under each reference model
        (``population_reference``, reference models x people). When the population are the
        people the reference models were trained on, ``population_out`` (reference models
        x people, True where that model did *not* train on that person) keeps each
        person's ``p(z)`` offline: it averages only the models that left z out; a person
        no reference model left out is dropped."""
        target, reference = self._statistics(population_target, population_reference, "population")
        if population_out is None:
            ratio = target - self._marginal(reference)
        else:
            out = np.atleast_2d(np.asarray(population_out, dtype=bool))
            if out.shape != reference.shape:
                raise ValueError(f"population_out has shape {out.shape}; the references' statistics have "
                                 f"{reference.shape}")
            kept = out.any(axis=0)
            ratio = target[kept] - self._marginal(reference[:, kept], out[:, kept])
        self.population_ratio_ = np.sort(ratio)
        if not len(self.population_ratio_):
            raise ValueError("RMIA needs at least one population person some reference model did not train on")
        return self

    def score(self, target: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Candidates' mean log-likelihood per token under the target (one each) and under
        each reference model (reference models x candidates)."""
        target, reference = self._statistics(target, reference, "candidates")
        ratio = target - self._marginal(reference)
        threshold = ratio - np.log(self.gamma)  # ratio_x - ratio_z > log gamma  <=>  ratio_z < ratio_x - log gamma
        return np.searchsorted(self.population_ratio_, threshold, side="left") / len(self.population_ratio_)


class DensityRatioAttack:
    """Is a candidate where the synthetic cohort is denser than the population? In the
    spirit of DOMIAS (van Breugel et al. 2023): people are projected onto the top
    ``n_components`` principal components of a *reference* sample of the population (the
    public people), one Gaussian kernel density is fit to the synthetic people and one to
    the reference people in that space, and the score is the log of their ratio at the
    candidate. A generator that overfits puts density on its members."""

    def __init__(self, n_components: int = 5, bandwidth: str | float = "scott"):
        self.n_components, self.bandwidth = n_components, bandwidth

    def fit(self, synthetic: np.ndarray, reference: np.ndarray) -> "DensityRatioAttack":
        from sklearn.neighbors import KernelDensity

        k = max(1, min(self.n_components, len(reference) - 1))
        self.pca_ = popgen.pca_fit(reference, k)
        self.synthetic_ = KernelDensity(bandwidth=self.bandwidth).fit(popgen.pca_project(self.pca_, synthetic))
        self.reference_ = KernelDensity(bandwidth=self.bandwidth).fit(popgen.pca_project(self.pca_, reference))
        return self

    def score(self, candidates: np.ndarray) -> np.ndarray:
        x = popgen.pca_project(self.pca_, candidates)
        return self.synthetic_.score_samples(x) - self.reference_.score_samples(x)


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------

def roc_curve(scores: Any, labels: Any) -> pd.DataFrame:
    """Every operating point of a score: ``threshold``, ``fpr``, ``tpr`` (predict member
    when score >= threshold), from (0, 0) to (1, 1)."""
    scores = np.asarray(scores, dtype=float)
    labels = _labels(labels, len(scores))
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each run of equal scores
    tp, fp = np.cumsum(y)[distinct], np.cumsum(1 - y)[distinct]
    return pd.DataFrame({"threshold": np.r_[np.inf, s[distinct]], "fpr": np.r_[0, fp / (1 - y).sum()],
                         "tpr": np.r_[0, tp / y.sum()]})


def tpr_at_fpr(scores: Any, labels: Any, fpr: float) -> float:
    """The best TPR at a false-positive rate of at most ``fpr`` (NaN where the
    non-members cannot resolve it: fewer than 1 / ``fpr`` of them)."""
    curve = roc_curve(scores, labels)
    n_out = int((np.asarray(labels) == 0).sum())
    if n_out * fpr < 1:
        return float("nan")
    return float(curve.loc[curve["fpr"] <= fpr + 1e-12, "tpr"].max())


def evaluate(scores: Any, labels: Any, fprs: Sequence[float] = (0.1, 0.01, 0.001), n_boot: int = 200,
             seed: int = 0, delta: float = 0.0, level: float = 0.975) -> dict[str, Any]:
    """Everything the chapter reports of one attack on one target: ``auc`` with a
    bootstrap 95% interval (``auc_low``, ``auc_high``; members and non-members resampled
    separately), ``tpr@<fpr>`` for each of ``fprs`` (NaN where fewer than 1/fpr
    non-members), ``advantage`` (max TPR - FPR), ``epsilon_lb`` (the largest lower bound
    of :func:`lib.evaluation.audit.epsilon_from_scores` over thresholds, one-sided Clopper-Pearson at
    ``level`` per rate, so jointly 95% at the default; optimistic: the threshold is chosen
    on the same people), ``epsilon_lb_split`` (threshold chosen on one half, bound on the
    other: :func:`lib.evaluation.audit.split_epsilon`), ``n_members``, ``n_non_members`` and
    ``fpr_resolution`` (1 / non-members)."""
    scores = np.asarray(scores, dtype=float)
    labels = _labels(labels, len(scores))
    if np.isnan(scores).any():
        raise ValueError(f"scores: {int(np.isnan(scores).sum())} NaN scores; an attack that fails is an error")
    members, non_members = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    auc, low, high = vocab_privacy.bootstrap_auc(scores[members], scores[non_members], n_boot=n_boot, seed=seed)
    curve = roc_curve(scores, labels)
    out = {"auc": auc, "auc_low": low, "auc_high": high,
           "advantage": float((curve["tpr"] - curve["fpr"]).max()),
           "n_members": len(members), "n_non_members": len(non_members), "fpr_resolution": 1 / len(non_members)}
    for fpr in fprs:
        out[f"tpr@{fpr:g}"] = tpr_at_fpr(scores, labels, fpr)
    out["epsilon_lb"] = float(audit.epsilon_from_scores(scores, labels, delta=delta, level=level)["epsilon_lower"])
    out["epsilon_lb_split"] = float(audit.split_epsilon(scores, labels, seed=seed, delta=delta,
                                                        level=level)["epsilon_lower"])
    return out


def _bootstrap_counts(n_members: int, n_non_members: int, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """How often each member and each non-member is drawn in each of ``n_boot``
    resamples (``n_boot`` x people): members and non-members resampled separately, with
    the draws of :func:`lib.lm.vocab_privacy.bootstrap_auc` (the same generator, the same
    order), so that one attack's resamples are those :func:`evaluate` uses."""
    rng = np.random.default_rng(seed)
    members, non_members = np.empty((n_boot, n_members)), np.empty((n_boot, n_non_members))
    for b in range(n_boot):
        members[b] = np.bincount(rng.choice(n_members, n_members), minlength=n_members)
        non_members[b] = np.bincount(rng.choice(n_non_members, n_non_members), minlength=n_non_members)
    return members, non_members


def _resampled_aucs(member_scores: np.ndarray, non_member_scores: np.ndarray, member_counts: np.ndarray,
                    non_member_counts: np.ndarray) -> np.ndarray:
    """The Mann-Whitney AUC of every resample at once (ties count one half, as
    :func:`lib.core.scoring.roc_auc`). A resample is a weighting of the original people by how
    often it drew them, so its AUC is

        sum_i w_i [#(non-members below s_i) + #(tied with s_i) / 2] / (n_members n_non_members)

    with the non-member counts weighted by their draws too. Each member's rank among the
    sorted non-members (strictly below, at most equal) is found once; a cumulative sum of
    each resample's non-member draws in that order gives the weighted counts, with no
    sort per resample."""
    order = np.argsort(non_member_scores, kind="stable")
    ranked = non_member_scores[order]
    below = np.searchsorted(ranked, member_scores, side="left")
    not_above = np.searchsorted(ranked, member_scores, side="right")
    cumulative = np.zeros((len(non_member_counts), len(ranked) + 1))
    np.cumsum(non_member_counts[:, order], axis=1, out=cumulative[:, 1:])
    wins = (cumulative[:, below] + cumulative[:, not_above]) / 2
    return (member_counts * wins).sum(axis=1) / (len(member_scores) * len(non_member_scores))


def best_attack(scores: Mapping[str, Any], labels: Any, n_boot: int = 200, seed: int = 0,
                level: float = 0.95) -> dict[str, Any]:
    """The best of several attacks scored on the same candidates, with an interval that
    accounts for its having been chosen as the best.

    *Why the naive interval fails.* Taking the attack with the highest AUC and quoting its
    own bootstrap interval treats a choice made on the data as if it had been fixed in
    advance: the maximum of ``K`` noisy AUCs is biased upwards (the winner's curse). With
    no leakage at all, 122 members against 122 non-members and 14 independent attacks, the
    best AUC averages about 0.56 and its own 95% interval excludes 0.5 in about three cases
    in ten (the selection-aware one below: about one in twenty).

    *The simultaneous (max-statistic) bootstrap* (Westfall & Young 1993, *Resampling-Based
    Multiple Testing*, ch. 2; Romano & Wolf 2005, "Exact and approximate stepdown methods
    for multiple hypothesis testing", JASA 100:94-108). Members and non-members are
    resampled separately ``n_boot`` times, the same draws for every attack (so the
    correlation between attacks scored on the same people, DeLong, DeLong &
    Clarke-Pearson 1988, is kept), and every attack's AUC is computed on every draw.
    Each attack's bootstrap standard error ``se_j`` studentises its deviations, and ``c``
    is the ``level`` quantile over draws of

        max_j |AUC*_j - AUC_j| / se_j

    so that with probability about ``level`` *every* true AUC_j lies in ``AUC_j +- c
    se_j`` at once. When they all do, the largest true AUC lies in

        [max_j (AUC_j - c se_j), max_j (AUC_j + c se_j)]

    (it is at least each true AUC_j, hence at least each lower end; and each true AUC_j
    is below its upper end). So this interval for the maximum over attacks of the true
    AUCs holds at ``level`` whichever attack the data made look best -- conservatively, as
    simultaneous coverage asks more than the maximum needs. ``c`` grows with the number of
    independent attacks (about 2.0 for one, 2.9 for 14 at 122 members against 122
    non-members), and less when the attacks agree. An
    attack whose AUC does not vary over the draws (``se_j`` = 0, e.g. a perfect or a
    constant score) contributes nothing to the maximum statistic and its AUC as both ends.
    The ends are clipped to [0, 1].

    ``scores`` maps attack names to one score per candidate (higher = more likely a
    member); ``labels``: 1 member, 0 non-member. A NaN score is an error, as in
    :func:`evaluate`. Among attacks with the same AUC the first in ``scores``' order is
    the best.

    Returns ``attack`` (the best), ``auc`` (its AUC, :func:`lib.core.scoring.roc_auc`),
    ``auc_low``, ``auc_high`` (the selection-aware interval for the maximum of the true
    AUCs), ``naive_low``, ``naive_high`` (the best attack's own percentile interval, the
    same as :func:`evaluate`'s ``auc_low`` and ``auc_high`` for the same ``n_boot`` and
    ``seed``: valid only for an attack fixed in advance), ``n_attacks``,
    ``critical_value`` (``c``), ``aucs`` and ``se`` (per attack), ``n_boot``, ``level``,
    ``n_members`` and ``n_non_members``."""
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping of attack name -> scores")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must lie strictly between 0 and 1")
    if int(n_boot) != n_boot or n_boot < 2:
        raise ValueError(f"n_boot={n_boot} must be a whole number of at least 2")
    names = list(scores)
    matrix = []
    for name in names:
        value = np.asarray(scores[name], dtype=float)
        if value.ndim != 1:
            raise ValueError(f"scores[{name!r}] has shape {value.shape}; one score per candidate expected")
        labels_checked = _labels(labels, len(value))
        if np.isnan(value).any():
            raise ValueError(f"scores[{name!r}]: {int(np.isnan(value).sum())} NaN scores; an attack that fails is "
                             "an error")
        matrix.append(value)
    labels = labels_checked
    members, non_members = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    member_counts, non_member_counts = _bootstrap_counts(len(members), len(non_members), int(n_boot), seed)
    aucs = np.array([scoring.roc_auc(labels, value) for value in matrix])
    boots = np.stack([_resampled_aucs(value[members], value[non_members], member_counts, non_member_counts)
                      for value in matrix], axis=1)  # draws x attacks
    se = boots.std(axis=0, ddof=1)
    deviation = np.abs(boots - aucs)
    studentised = np.divide(deviation, se, out=np.zeros_like(deviation), where=se > 0)
    c = float(np.quantile(studentised.max(axis=1), level))
    best = int(np.argmax(aucs))  # the first among ties
    naive_low, naive_high = np.quantile(boots[:, best], [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"attack": names[best], "auc": float(aucs[best]),
            "auc_low": float(np.clip(np.max(aucs - c * se), 0.0, 1.0)),
            "auc_high": float(np.clip(np.max(aucs + c * se), 0.0, 1.0)),
            "naive_low": float(naive_low), "naive_high": float(naive_high), "n_attacks": len(names),
            "critical_value": c, "aucs": dict(zip(names, aucs.tolist())), "se": dict(zip(names, se.tolist())),
            "n_boot": int(n_boot), "level": float(level), "n_members": len(members),
            "n_non_members": len(non_members)}
