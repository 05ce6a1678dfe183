"""Population-genetic comparisons of a cohort with another: allele frequencies, linkage,
structure, distances between people and kinship.

Every function is pure and works on **dosage matrices**: people x sites arrays of ALT
allele counts (0, 1, 2; every ALT allele of a multi-allelic site counts; a missing call
counts as REF), as :func:`dosages` makes them from a :class:`lib.cohort.Cohort`, plus the
site positions where a metric needs them. Two cohorts compared are on the same sites in the
same order (a synthetic cohort is always on the public panel). The utility chapter runs
them over every synthetic cohort against the real holdout and the members; the reference
cohorts (:func:`independent_sites`, :func:`resample_people`) go through the same
functions.

* allele frequencies: :func:`allele_frequencies`, :func:`af_agreement` (Pearson r, mean
  absolute difference, the Wasserstein distance between the two frequency spectra, the mean
  per-site KL divergence between genotype distributions);
* linkage: :func:`neighbour_r2` (r² of each site with its next ``k`` sites),
  :func:`ld_difference`, :func:`ld_decay` (mean r² by distance);
* structure: :func:`pca_fit` on real people only, :func:`pca_project` of anyone onto it;
* people: :func:`heterozygosity` (observed and expected per person), :func:`genotype_shares`
  and :func:`uniqueness` (the dissertation's genotype mix and uniqueness);
* distances: :func:`genotype_distances` (L1 between dosage vectors, exact, by matrix
  products), :func:`closest` (distance to the closest record of another cohort),
  :func:`adversarial_accuracy` (AATS of Yelmen et al. 2021);
* kinship: :func:`king_kinship` (KING-robust, Manichaikul et al. 2010) and
  :func:`kinship_degree`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .cohort import Cohort

#: KING kinship cut-offs (Manichaikul et al. 2010): duplicates or monozygotic twins above
#: 2^-1.5, first degree above 2^-2.5, second above 2^-3.5, third above 2^-4.5.
KINSHIP_CUTOFFS = {"duplicate": 2 ** -1.5, "first degree": 2 ** -2.5, "second degree": 2 ** -3.5,
                   "third degree": 2 ** -4.5}


def dosages(cohort: Cohort) -> np.ndarray:
    """People x sites ALT allele counts (``int8``, 0-2) of ``cohort``; missing alleles count
    as REF."""
    return (cohort.genotypes > 0).sum(axis=2, dtype=np.int8).T.copy()


def _check(*matrices: np.ndarray) -> None:
    sites = {m.shape[1] for m in matrices}
    if len(sites) != 1:
        raise ValueError(f"the cohorts compared must be on the same sites; they have {sorted(sites)} sites")
    for m in matrices:
        if m.ndim != 2 or m.size and (m.min() < 0 or m.max() > 2):
            raise ValueError("a dosage matrix is people x sites with values 0, 1 or 2")


# --------------------------------------------------------------------------------------
# Allele frequencies
# --------------------------------------------------------------------------------------

def allele_frequencies(d: np.ndarray) -> np.ndarray:
    """Per site, the ALT allele frequency (dosage mean / 2)."""
    return d.mean(axis=0) / 2.0 if len(d) else np.zeros(d.shape[1])


def frequency_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pearson r (NaN when either vector is constant) and mean absolute difference of two
    per-site frequency vectors."""
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return r, float(np.abs(a - b).mean())


def _genotype_shares(d: np.ndarray) -> np.ndarray:
    """Per site, the shares of dosage 0, 1 and 2: sites x 3."""
    return np.stack([(d == g).mean(axis=0) for g in (0, 1, 2)], axis=1)


def af_agreement(real: np.ndarray, synthetic: np.ndarray, pseudo_count: float = 0.5) -> dict[str, float]:
    """How close ``synthetic``'s allele frequencies are to ``real``'s: Pearson ``r`` (NaN
    when either is constant), the mean absolute difference ``mad``, the Wasserstein
    distance between the two sets of frequencies ``wasserstein`` (the frequency spectra,
    as HAPNEST compares them), and ``kl``, the mean over sites of KL(real || synthetic)
    between the genotype distributions (0, 1, 2 ALT alleles), each share smoothed by
    ``pseudo_count`` people so that a genotype a cohort lacks is not infinitely surprising."""
    from scipy.stats import wasserstein_distance

    _check(real, synthetic)
    a, b = allele_frequencies(real), allele_frequencies(synthetic)
    r, mad = frequency_agreement(a, b)
    p = (_genotype_shares(real) * len(real) + pseudo_count) / (len(real) + 3 * pseudo_count)
    q = (_genotype_shares(synthetic) * len(synthetic) + pseudo_count) / (len(synthetic) + 3 * pseudo_count)
    return {"r": r, "mad": mad, "wasserstein": float(wasserstein_distance(a, b)),
            "kl": float((p * np.log(p / q)).sum(axis=1).mean())}


# --------------------------------------------------------------------------------------
# Linkage
# --------------------------------------------------------------------------------------

def _standardised(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = d.astype(np.float64)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return z, sd > 0


def neighbour_r2(d: np.ndarray, positions: Sequence[int], k: int = 20) -> pd.DataFrame:
    """r² between each site and each of its next ``k`` sites (in position order): one row
    per pair with ``i``, ``j`` (site indices), ``distance`` (bp) and ``r2``; NaN where
    either site is monomorphic in ``d``. Squared Pearson correlation of dosages, as
    PLINK's ``--r2`` and scikit-allel's ``rogers_huff_r`` compute it on unphased data."""
    positions = np.asarray(positions, dtype=np.int64)
    if len(positions) != d.shape[1]:
        raise ValueError(f"{len(positions)} positions for {d.shape[1]} sites")
    if np.any(np.diff(positions) < 0):
        raise ValueError("positions must be sorted")
    z, varies = _standardised(d)
    rows = []
    for step in range(1, min(k, d.shape[1] - 1) + 1):
        r = (z[:, :-step] * z[:, step:]).mean(axis=0)
        ok = varies[:-step] & varies[step:]
        i = np.arange(d.shape[1] - step)
        rows.append(pd.DataFrame({"i": i, "j": i + step, "distance": positions[step:] - positions[:-step],
                                  "r2": np.where(ok, r ** 2, np.nan)}))
    if not rows:
        return pd.DataFrame(columns=["i", "j", "distance", "r2"])
    return pd.concat(rows, ignore_index=True)


def ld_difference(real: np.ndarray, synthetic: np.ndarray, positions: Sequence[int], k: int = 20) -> float:
    """Mean absolute difference between the two cohorts' r² over the same neighbour pairs
    (pairs monomorphic in either left out)."""
    _check(real, synthetic)
    a, b = neighbour_r2(real, positions, k)["r2"].to_numpy(), neighbour_r2(synthetic, positions, k)["r2"].to_numpy()
    ok = ~np.isnan(a) & ~np.isnan(b)
    return float(np.abs(a[ok] - b[ok]).mean()) if ok.any() else float("nan")


def ld_decay(d: np.ndarray, positions: Sequence[int], edges: Sequence[int] | None = None,
             k: int = 20) -> pd.DataFrame:
    """Mean r² of neighbour pairs (:func:`neighbour_r2`) by distance bin: one row per bin
    with ``low``, ``high`` (bp), ``mean_r2`` and ``pairs``. Default bins: 0-1, 1-2, 2-5,
    5-10, 10-20, 20-50, 50-100 kb, 100 kb-1 Mb."""
    edges = np.asarray(edges if edges is not None else
                       [0, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000])
    pairs = neighbour_r2(d, positions, k).dropna(subset=["r2"])
    which = np.searchsorted(edges, pairs["distance"].to_numpy(), side="right") - 1
    rows = []
    for b in range(len(edges) - 1):
        r2 = pairs["r2"].to_numpy()[which == b]
        rows.append({"low": int(edges[b]), "high": int(edges[b + 1]),
                     "mean_r2": float(r2.mean()) if len(r2) else float("nan"), "pairs": int(len(r2))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------

def pca_fit(real: np.ndarray, n_components: int = 4) -> dict[str, np.ndarray]:
    """Principal components of ``real`` people only, for projecting any cohort onto the
    same axes with :func:`pca_project`: each site centred by its mean dosage 2p and divided
    by sqrt(2p(1-p)), the dosage's standard deviation under Hardy-Weinberg (as a genetic
    relationship matrix scales it), monomorphic sites dropped. Patterson et al. (2006) and
    scikit-allel's ``scaler='patterson'`` divide by sqrt(p(1-p)): the same axes and variance
    ratios, coordinates sqrt(2) times these (``tests/test_popgen_allel.py``). Returns ``mean``,
    ``scale``, ``keep`` (sites used), ``components`` (sites x components) and
    ``explained`` (variance ratios)."""
    p = allele_frequencies(real)
    keep = (p > 0) & (p < 1)
    if keep.sum() < n_components:
        raise ValueError(f"only {int(keep.sum())} polymorphic sites for {n_components} components")
    mean, scale = 2 * p[keep], np.sqrt(2 * p[keep] * (1 - p[keep]))
    x = (real[:, keep] - mean) / scale
    # through the people x people Gram matrix: the same axes as an SVD of x, several times
    # faster when there are fewer people than sites (2,504 x 10,000: seconds, not a minute)
    gram = x @ x.T
    variance, u = np.linalg.eigh(gram)
    order = np.argsort(variance)[::-1][:n_components]
    top = np.clip(variance[order], 1e-12, None)
    components = (x.T @ u[:, order]) / np.sqrt(top)
    return {"mean": mean, "scale": scale, "keep": keep, "components": components,
            "explained": top / np.trace(gram)}


def pca_project(fit: dict[str, np.ndarray], d: np.ndarray) -> np.ndarray:
    """People x components coordinates of ``d`` on the axes :func:`pca_fit` found."""
    return ((d[:, fit["keep"]] - fit["mean"]) / fit["scale"]) @ fit["components"]


# --------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------

def heterozygosity(d: np.ndarray, reference_af: np.ndarray | None = None) -> pd.DataFrame:
    """Per person: ``observed`` heterozygous share of sites and ``expected``, the mean of
    2p(1-p) over sites (``p`` from ``reference_af``, by default the cohort's own), and
    ``f``, the inbreeding coefficient 1 - observed / expected."""
    p = allele_frequencies(d) if reference_af is None else np.asarray(reference_af)
    expected = float((2 * p * (1 - p)).mean())
    observed = (d == 1).mean(axis=1)
    return pd.DataFrame({"observed": observed, "expected": expected,
                         "f": 1 - observed / expected if expected > 0 else np.nan})


def genotype_shares(d: np.ndarray) -> dict[str, float]:
    """The dissertation's genotype mix over every call of the cohort: shares of
    ``hom_ref``, ``het`` and ``hom_alt`` (dosage 0, 1, 2), and ``mean_af``, the mean ALT
    allele frequency over sites."""
    total = max(d.size, 1)
    return {"hom_ref": float((d == 0).sum() / total), "het": float((d == 1).sum() / total),
            "hom_alt": float((d == 2).sum() / total), "mean_af": float(allele_frequencies(d).mean())}


def uniqueness(d: np.ndarray) -> float:
    """The share of distinct people in a cohort (1: no two people share every genotype;
    the dissertation's "uniqueness" within a synthetic cohort)."""
    return float(len(np.unique(d, axis=0)) / len(d)) if len(d) else float("nan")


# --------------------------------------------------------------------------------------
# Distances between people
# --------------------------------------------------------------------------------------

def _indicators(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple((d == g).astype(np.float32) for g in (0, 1, 2))


def genotype_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``len(a)`` x ``len(b)`` matrix of L1 distances between dosage vectors: the number
    of alleles by which two people differ, summed over sites (0 for identical genotypes, 1
    for 0 against 1, 2 for 0 against 2). Exact, by three matrix products: for dosages 0-2,
    |x - y| = (x - y)² - 2 [x, y opposite homozygotes], and the squares sum to
    Σx² + Σy² - 2 x·y."""
    _check(a, b)
    af, bf = a.astype(np.float32), b.astype(np.float32)
    squares = (af * af).sum(axis=1)[:, None] + (bf * bf).sum(axis=1)[None, :] - 2 * (af @ bf.T)
    a0, b0 = (a == 0).astype(np.float32), (b == 0).astype(np.float32)
    a2, b2 = (a == 2).astype(np.float32), (b == 2).astype(np.float32)
    opposite = a0 @ b2.T + a2 @ b0.T
    return np.rint(squares - 2 * opposite).astype(np.int64)


def closest(a: np.ndarray, b: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    """For each person of ``a``, the distance to the closest person of ``b``
    (:func:`genotype_distances`); ``exclude_self`` when ``a`` and ``b`` are the same
    cohort (the diagonal is left out)."""
    dist = genotype_distances(a, b).astype(np.float64)
    if exclude_self:
        if len(a) != len(b):
            raise ValueError("exclude_self needs the same cohort twice")
        np.fill_diagonal(dist, np.inf)
    return dist.min(axis=1)


def adversarial_accuracy(real: np.ndarray, synthetic: np.ndarray) -> dict[str, float]:
    """Nearest-neighbour adversarial accuracy (Yelmen et al. 2021): ``AA_T``, the share of
    real people whose closest synthetic person is farther than their closest other real
    person; ``AA_S``, the share of synthetic people whose closest real person is farther
    than their closest other synthetic person; ``AATS`` their mean. 0.5 is ideal: real and
    synthetic people are as near to each other as to their own kind. Near 0, the synthetic
    people sit on top of the real ones (copies); near 1, they are apart from them. A tie
    counts one half: distances between genotype vectors are whole numbers and tie often, and
    counting a tie as "not farther" would pull two draws of one population below 0.5."""
    t, s = _adversarial_indicators(real, synthetic)
    aa_t, aa_s = float(t.mean()), float(s.mean())
    return {"AA_T": aa_t, "AA_S": aa_s, "AATS": (aa_t + aa_s) / 2}


def _adversarial_indicators(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per real person and per synthetic person, 1 / ½ / 0 as their closest person of the
    other cohort is farther than / as far as / nearer than their closest of their own."""
    _check(real, synthetic)
    if len(real) < 2 or len(synthetic) < 2:
        raise ValueError("adversarial accuracy needs at least 2 real and 2 synthetic people")
    return _indicators_from(genotype_distances(real, synthetic), closest(real, real, exclude_self=True),
                            closest(synthetic, synthetic, exclude_self=True))


def _indicators_from(cross: np.ndarray, real_own: np.ndarray, synthetic_own: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_adversarial_indicators` from the real x synthetic distance matrix and each
    person's distance to the closest other person of their own cohort."""
    to_synthetic, from_real = cross.min(axis=1), cross.min(axis=0)
    return ((to_synthetic > real_own) + 0.5 * (to_synthetic == real_own),
            (from_real > synthetic_own) + 0.5 * (from_real == synthetic_own))


def _own_closest(d: np.ndarray) -> np.ndarray:
    dist = genotype_distances(d, d).astype(np.float64)
    np.fill_diagonal(dist, np.inf)
    return dist.min(axis=1)


def adversarial_accuracy_interval(real: np.ndarray, synthetic: np.ndarray, n_boot: int = 200,
                                  seed: int = 0) -> tuple[float, float, float]:
    """AATS (:func:`adversarial_accuracy`) with a bootstrap 95% interval over the people
    of each side (each person's nearest neighbours held fixed): ``(value, low, high)``."""
    t, s = _adversarial_indicators(real, synthetic)
    return bootstrap(lambda a, b: (a.mean() + b.mean()) / 2, [t, s], n_boot, seed)


def aats_privacy_loss(members: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray) -> float:
    """Yelmen et al.'s privacy loss: AATS against the holdout minus AATS against the
    members. Positive when the synthetic people sit closer to the members than to people
    the model never saw."""
    return adversarial_accuracy(holdout, synthetic)["AATS"] - adversarial_accuracy(members, synthetic)["AATS"]


# --------------------------------------------------------------------------------------
# Kinship
# --------------------------------------------------------------------------------------

def king_kinship(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """KING-robust kinship coefficients (Manichaikul et al. 2010) between every person of
    ``a`` and every person of ``b``: (shared heterozygotes - 2 x opposite homozygotes) /
    (heterozygotes of the one + of the other). About 0.5 for the same person, 0.25 for a
    parent and child or full siblings, 0.125 for second-degree relatives, 0 for unrelated
    people of one population (negative across populations). NaN where neither has a
    heterozygous site."""
    _check(a, b)
    a0, a1, a2 = _indicators(a)
    b0, b1, b2 = _indicators(b)
    shared = a1 @ b1.T
    opposite = a0 @ b2.T + a2 @ b0.T
    hets = a1.sum(axis=1)[:, None] + b1.sum(axis=1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hets > 0, (shared - 2 * opposite) / hets, np.nan)


def kinship_degree(phi: np.ndarray | float) -> np.ndarray:
    """The relationship a KING kinship coefficient implies (:data:`KINSHIP_CUTOFFS`):
    ``"duplicate"``, ``"first degree"``, ``"second degree"``, ``"third degree"`` or
    ``"unrelated"``."""
    phi = np.asarray(phi, dtype=np.float64)
    out = np.full(phi.shape, "unrelated", dtype=object)
    for label, cutoff in sorted(KINSHIP_CUTOFFS.items(), key=lambda item: item[1]):
        out[phi > cutoff] = label
    return out


# --------------------------------------------------------------------------------------
# Reference cohorts
# --------------------------------------------------------------------------------------

def independent_sites(d: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` people whose every site is drawn independently at ``d``'s allele frequency,
    both alleles Bernoulli(p) (Hardy-Weinberg): the dissertation's "random model", which
    keeps allele frequencies and destroys linkage and structure."""
    rng = np.random.default_rng(seed)
    p = allele_frequencies(d)
    return (rng.random((n, len(p))) < p).astype(np.int8) + (rng.random((n, len(p))) < p).astype(np.int8)


def resample_people(d: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` of ``d``'s people drawn at random, without replacement while there are enough
    and with replacement beyond: a "copy of the members" cohort (perfect utility, no
    privacy)."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(d), size=n, replace=n > len(d))
    return d[index].copy()


def shuffle_within_sites(d: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each site's genotypes permuted across people independently: the same allele
    frequencies (and genotype counts) exactly, linkage and structure destroyed."""
    rng = np.random.default_rng(seed)
    out = d.copy()
    for j in range(d.shape[1]):
        out[:, j] = rng.permutation(out[:, j])
    return out


# --------------------------------------------------------------------------------------
# Hardy-Weinberg, differentiation, and telling real from synthetic
# --------------------------------------------------------------------------------------

def hwe_exact(n_het: int, n_hom_ref: int, n_hom_alt: int) -> float:
    """The exact test of Hardy-Weinberg equilibrium at one biallelic site (Wigginton,
    Cutler and Abecasis 2005): the probability, given the number of people and of minor
    alleles, of a heterozygote count at most as likely as the one observed. 1 for a
    monomorphic site."""
    hom_minor, hom_major = sorted((int(n_hom_ref), int(n_hom_alt)))
    n_het = int(n_het)
    minor = 2 * hom_minor + n_het
    n = n_het + hom_minor + hom_major
    if minor == 0 or n == 0:
        return 1.0
    probs = np.zeros(minor + 1)
    mid = minor * (2 * n - minor) // (2 * n)
    if mid % 2 != minor % 2:
        mid += 1
    probs[mid] = 1.0
    hets, homr, homc = mid, (minor - mid) // 2, n - mid - (minor - mid) // 2
    while hets > 1:  # fewer heterozygotes, one step of two at a time
        probs[hets - 2] = probs[hets] * hets * (hets - 1) / (4.0 * (homr + 1) * (homc + 1))
        hets, homr, homc = hets - 2, homr + 1, homc + 1
    hets, homr, homc = mid, (minor - mid) // 2, n - mid - (minor - mid) // 2
    while hets <= minor - 2:  # more heterozygotes
        probs[hets + 2] = probs[hets] * 4.0 * homr * homc / ((hets + 2.0) * (hets + 1.0))
        hets, homr, homc = hets + 2, homr - 1, homc - 1
    probs /= probs.sum()
    return float(min(1.0, probs[probs <= probs[n_het] * (1 + 1e-9)].sum()))


def hwe_pvalues(d: np.ndarray) -> np.ndarray:
    """:func:`hwe_exact` at every site of a dosage matrix."""
    counts = np.stack([(d == g).sum(axis=0) for g in (0, 1, 2)], axis=1)
    return np.array([hwe_exact(het, ref, alt) for ref, het, alt in counts])


def weir_cockerham_fst(d: np.ndarray, populations: Sequence[str]) -> float:
    """Weir and Cockerham's (1984) Fst between the populations of ``d``'s people, as the
    ratio of the sums over sites of the variance components (a / (a + b + c)). About 0
    for people of one population, 1 for populations fixed for different alleles."""
    labels = np.asarray(populations)
    if len(labels) != len(d):
        raise ValueError(f"{len(labels)} population labels for {len(d)} people")
    groups = [d[labels == g] for g in np.unique(labels)]
    groups = [g for g in groups if len(g) > 1]
    r = len(groups)
    if r < 2:
        raise ValueError("Fst needs at least two populations of two people or more")
    n = np.array([len(g) for g in groups], dtype=np.float64)[:, None]
    p = np.stack([allele_frequencies(g) for g in groups])
    h = np.stack([(g == 1).mean(axis=0) for g in groups])
    n_bar = n.mean()
    n_c = (r * n_bar - (n ** 2).sum() / (r * n_bar)) / (r - 1)
    p_bar = (n * p).sum(axis=0) / (r * n_bar)
    s2 = (n * (p - p_bar) ** 2).sum(axis=0) / ((r - 1) * n_bar)
    h_bar = (n * h).sum(axis=0) / (r * n_bar)
    pq = p_bar * (1 - p_bar)
    a = n_bar / n_c * (s2 - (pq - (r - 1) / r * s2 - h_bar / 4) / (n_bar - 1))
    b = n_bar / (n_bar - 1) * (pq - (r - 1) / r * s2 - (2 * n_bar - 1) / (4 * n_bar) * h_bar)
    c = h_bar / 2
    total = (a + b + c).sum()
    return float(a.sum() / total) if total > 0 else float("nan")


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


def classifier_two_sample(real: np.ndarray, synthetic: np.ndarray, seed: int = 0, folds: int = 5,
                          n_boot: int = 200) -> tuple[float, float, float]:
    """Can a classifier tell real people from synthetic ones? A logistic regression on the
    dosages, out-of-fold predictions over ``folds`` stratified folds, ROC AUC with a
    bootstrap 95% interval over people: ``(auc, low, high)``. 0.5 is best (the two cohorts
    cannot be told apart); 1, every synthetic person is recognisable."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    _check(real, synthetic)
    x = np.vstack([real, synthetic]).astype(np.float64)
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    model = LogisticRegression(C=0.1, max_iter=2000)
    score = cross_val_predict(model, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                              method="predict_proba")[:, 1]
    auc = roc_auc(y, score)
    rng = np.random.default_rng(seed)
    draws = np.array([roc_auc(y[index], score[index]) for index in
                      (rng.integers(0, len(y), len(y)) for _ in range(n_boot))])
    draws = draws[~np.isnan(draws)]
    return auc, float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


# --------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------

def reference_cohorts(members: np.ndarray, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The two reference cohorts every synthetic cohort is framed by, ``n`` people each:
    ``"independent sites"`` (:func:`independent_sites` at the members' frequencies) and
    ``"copy of members"`` (:func:`resample_people`)."""
    return {"independent sites": independent_sites(members, n, seed),
            "copy of members": resample_people(members, n, seed)}


def own_distances(d: np.ndarray) -> np.ndarray:
    """Each person's distance to the closest other person of the same cohort (what AATS
    compares with): pass a real cohort's to :func:`utility_table` as ``own`` to compute it
    once for many synthetic cohorts."""
    if len(d) < 2:
        raise ValueError("a cohort needs at least 2 people for a closest other person")
    return _own_closest(d)


def utility_table(holdout: np.ndarray, members: np.ndarray, cohorts: dict[str, np.ndarray],
                  positions: Sequence[int], k: int = 20, n_boot: int = 200, seed: int = 0,
                  own: dict[str, np.ndarray] | None = None, details: dict | None = None) -> pd.DataFrame:
    """Every metric of this module for every cohort of ``cohorts`` (name -> dosage matrix
    on the same sites) against the real ``holdout`` and, for the copying metrics, the
    ``members``: one long table with ``cohort``, ``metric``, ``value``, ``low`` and
    ``high`` (a bootstrap 95% interval over people where one is computed, NaN where not).

    Metrics: ``af_r``, ``af_mad`` (bootstrap over sites), ``af_wasserstein``, ``genotype_kl``,
    ``ld_r2_mad`` (neighbour pairs), ``heterozygosity`` (mean observed, bootstrap),
    ``share_hom_alt`` and ``mean_af`` (:func:`genotype_shares`), ``unique_people``,
    ``c2st_auc`` (bootstrap), ``aats`` (against the holdout, bootstrap), ``aats_privacy_loss``,
    ``dcr_members`` and ``dcr_holdout`` (median distance to the closest member / holdout
    person), ``exact_copies`` (share at distance 0 from a member), ``within_distance`` (median
    distance between two people of the cohort), and the shares of synthetic people with a
    member as ``kin_duplicate``, ``kin_first`` or ``kin_second`` degree relative (KING,
    closest relation).

    Three distance matrices per cohort (to the holdout, to the members, within) serve every
    distance metric; ``own`` may hold the real cohorts' :func:`own_distances` (``"holdout"``,
    ``"members"``), computed here otherwise. ``details``, a dict, receives per cohort the
    per-person ``dcr_members`` and ``dcr_holdout`` arrays."""
    rows = []
    own = dict(own or {})
    if "holdout" not in own:
        own["holdout"] = own_distances(holdout)
    if "members" not in own:
        own["members"] = own_distances(members)

    def add(name: str, metric: str, value: float, low: float = float("nan"), high: float = float("nan")) -> None:
        rows.append({"cohort": name, "metric": metric, "value": float(value), "low": float(low), "high": float(high)})

    for name, synthetic in cohorts.items():
        _check(holdout, members, synthetic)
        if len(synthetic) < 2:
            raise ValueError(f"cohort {name!r} has {len(synthetic)} people; the suite needs at least 2")
        # over sites: resampling people would add sampling noise to both frequencies and
        # bias r down and the difference up (the interval would miss the estimate)
        pair = np.stack([allele_frequencies(holdout), allele_frequencies(synthetic)], axis=1)
        add(name, "af_r", *bootstrap(lambda f: frequency_agreement(f[:, 0], f[:, 1])[0], [pair], n_boot, seed))
        add(name, "af_mad", *bootstrap(lambda f: frequency_agreement(f[:, 0], f[:, 1])[1], [pair], n_boot, seed))
        agreement = af_agreement(holdout, synthetic)
        add(name, "af_wasserstein", agreement["wasserstein"])
        add(name, "genotype_kl", agreement["kl"])
        add(name, "ld_r2_mad", ld_difference(holdout, synthetic, positions, k))
        add(name, "heterozygosity", *bootstrap(lambda a: (a == 1).mean(), [synthetic], n_boot, seed))
        shares = genotype_shares(synthetic)
        add(name, "share_hom_alt", shares["hom_alt"])
        add(name, "mean_af", shares["mean_af"])
        add(name, "unique_people", uniqueness(synthetic))
        add(name, "c2st_auc", *classifier_two_sample(holdout, synthetic, seed=seed, n_boot=n_boot))
        within = genotype_distances(synthetic, synthetic).astype(np.float64)
        add(name, "within_distance", np.median(within[np.triu_indices(len(synthetic), k=1)]))
        np.fill_diagonal(within, np.inf)
        synthetic_own = within.min(axis=1)
        del within
        to_holdout = genotype_distances(holdout, synthetic)
        t, u = _indicators_from(to_holdout, own["holdout"], synthetic_own)
        aats = bootstrap(lambda a, b: (a.mean() + b.mean()) / 2, [t, u], n_boot, seed)
        add(name, "aats", *aats)
        dcr_holdout = to_holdout.min(axis=0)
        del to_holdout
        to_members = genotype_distances(members, synthetic)
        t, u = _indicators_from(to_members, own["members"], synthetic_own)
        add(name, "aats_privacy_loss", aats[0] - (t.mean() + u.mean()) / 2)
        dcr_members = to_members.min(axis=0)
        del to_members
        add(name, "dcr_members", np.median(dcr_members))
        add(name, "dcr_holdout", np.median(dcr_holdout))
        add(name, "exact_copies", np.mean(dcr_members == 0))
        degree = kinship_degree(np.nanmax(king_kinship(synthetic, members), axis=1))
        for label, metric in (("duplicate", "kin_duplicate"), ("first degree", "kin_first"),
                              ("second degree", "kin_second")):
            add(name, metric, np.mean(degree == label))
        if details is not None:
            details[name] = {"dcr_members": dcr_members, "dcr_holdout": dcr_holdout}
    return pd.DataFrame(rows, columns=["cohort", "metric", "value", "low", "high"])


# --------------------------------------------------------------------------------------
# Populations of people who carry no label
# --------------------------------------------------------------------------------------

class _PopulationClassifier:
    """A logistic regression on principal components: ``axes`` (a :func:`pca_fit`, e.g. of
    public people, so that every cohort is classified in one feature space), or the top
    ``n_components`` of the people it is fit on (through the Gram matrix: seconds for
    thousands of people); with one class, a constant answer."""

    def __init__(self, n_components: int = 10, seed: int = 0, axes: dict | None = None):
        self.n_components, self.seed, self.axes = n_components, seed, axes

    def fit(self, d: np.ndarray, labels: Sequence[str]) -> "_PopulationClassifier":
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels)
        self.classes_ = np.unique(labels)
        self.pca_ = self.model_ = None
        if len(self.classes_) > 1:
            if self.axes is not None:
                self.pca_ = self.axes
            else:
                p = allele_frequencies(d)
                polymorphic = int(((p > 0) & (p < 1)).sum())
                self.pca_ = pca_fit(d, max(1, min(self.n_components, len(d) - 1, polymorphic)))
            self.model_ = LogisticRegression(max_iter=2000, random_state=self.seed).fit(
                pca_project(self.pca_, d), labels)
        return self

    def predict(self, d: np.ndarray) -> np.ndarray:
        if self.model_ is None:
            return np.full(len(d), self.classes_[0])
        return self.model_.predict(pca_project(self.pca_, d))


def _population_classifier(d: np.ndarray, labels: Sequence[str], seed: int = 0, n_components: int = 10,
                           axes: dict | None = None):
    """:class:`_PopulationClassifier` fit on ``d`` and its ``labels``."""
    return _PopulationClassifier(n_components, seed, axes).fit(d, labels)


def population_classifier(reference: np.ndarray, reference_labels: Sequence[str], seed: int = 0,
                          axes: dict | None = None):
    """The classifier :func:`infer_populations` labels people with, fitted once on the
    labelled ``reference`` people (pass it as ``classifier`` to label many cohorts): a
    logistic regression on ``axes`` (a :func:`pca_fit`), by default the reference people's
    own top 10 principal components."""
    if len(reference) != len(reference_labels):
        raise ValueError(f"{len(reference)} reference people but {len(reference_labels)} labels")
    return _population_classifier(reference, reference_labels, seed, axes=axes)


def infer_populations(reference: np.ndarray, reference_labels: Sequence[str], d: np.ndarray,
                      seed: int = 0, classifier=None) -> np.ndarray:
    """A population label for each person of ``d``, from a classifier trained on the
    labelled ``reference`` people (a logistic regression on their top principal components;
    ``classifier``: one :func:`population_classifier` already fitted). Synthetic people
    carry no label; the public people of a run do, so a label inferred this way costs the
    members nothing. A cohort without structure gets labels all the same (the classifier
    always answers); read them with :func:`train_synthetic_test_real` and the PCA."""
    _check(reference, d)
    classifier = classifier or population_classifier(reference, reference_labels, seed)
    return classifier.predict(d)


def train_synthetic_test_real(train: np.ndarray, train_labels: Sequence[str], test: np.ndarray,
                              test_labels: Sequence[str], n_boot: int = 200, seed: int = 0,
                              axes: dict | None = None) -> tuple[float, float, float]:
    """TSTR: a population classifier trained on ``train`` (a synthetic cohort with its
    inferred labels, or real people for train-on-real) and tested on the real ``test``
    people: balanced accuracy (chance is 1 / the number of populations) with a bootstrap
    95% interval over the test people, ``(value, low, high)``. The classifier is a
    logistic regression on ``axes`` (a :func:`pca_fit`: one feature space for every
    cohort compared), by default on the training people's own top principal components."""
    _check(train, test)
    predicted = _population_classifier(train, train_labels, seed, axes=axes).predict(test)
    truth = np.asarray(test_labels)
    value = balanced_accuracy(truth, predicted)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        index = rng.integers(0, len(truth), len(truth))
        draws.append(balanced_accuracy(truth[index], predicted[index]))
    return value, float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def population_af_agreement(real: np.ndarray, real_labels: Sequence[str], synthetic: np.ndarray,
                            synthetic_labels: Sequence[str], min_people: int = 5) -> dict[str, float]:
    """Per population, the Pearson r of allele frequencies between the real people of that
    population and the synthetic people labelled with it (NaN where either side has fewer
    than ``min_people`` or a constant frequency vector)."""
    _check(real, synthetic)
    real_labels, synthetic_labels = np.asarray(real_labels), np.asarray(synthetic_labels)
    out = {}
    for population in sorted(set(real_labels)):
        a, b = real[real_labels == population], synthetic[synthetic_labels == population]
        if len(a) < min_people or len(b) < min_people:
            out[population] = float("nan")
        else:
            out[population] = frequency_agreement(allele_frequencies(a), allele_frequencies(b))[0]
    return out


def ld_decay_distance(real: np.ndarray, synthetic: np.ndarray, positions: Sequence[int], k: int = 20,
                      edges: Sequence[int] | None = None) -> float:
    """How far apart two LD-decay curves (:func:`ld_decay`) are: :func:`curve_distance`."""
    return curve_distance(ld_decay(real, positions, edges, k), ld_decay(synthetic, positions, edges, k))


def curve_distance(real_curve: pd.DataFrame, synthetic_curve: pd.DataFrame) -> float:
    """The mean absolute difference of two LD-decay curves' mean r² per distance bin (the
    same bins), over the bins where both have pairs, weighted by the real curve's pairs."""
    a, b = real_curve, synthetic_curve
    both = a["mean_r2"].notna() & b["mean_r2"].notna() & (a["pairs"] > 0)
    if not both.any():
        return float("nan")
    return float(np.average((a["mean_r2"] - b["mean_r2"]).abs()[both], weights=a["pairs"][both]))


def hwe_deviation(d: np.ndarray, alpha: float = 0.05) -> float:
    """The share of polymorphic sites whose Hardy-Weinberg exact test (:func:`hwe_pvalues`)
    rejects at ``alpha``: about ``alpha`` or less for people drawn from one randomly mating
    population (population structure raises it: the Wahlund effect)."""
    p = hwe_pvalues(d)
    polymorphic = (d > 0).any(axis=0) & (d < 2).any(axis=0)
    return float(np.mean(p[polymorphic] < alpha)) if polymorphic.any() else float("nan")


#: Allele-frequency bins of :func:`frequency_spectrum`: rare to common.
SPECTRUM_EDGES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0)


def frequency_spectrum(d: np.ndarray, edges: Sequence[float] = SPECTRUM_EDGES) -> np.ndarray:
    """The allele-frequency spectrum: the share of sites whose ALT frequency falls in each
    bin ``[edges[i], edges[i+1])`` (the last bin closed), sites with no ALT allele left out."""
    af = allele_frequencies(d)
    af = af[af > 0]
    counts, _ = np.histogram(af, bins=np.asarray(edges))
    return counts / counts.sum() if counts.sum() else counts.astype(float)


def spectrum_distance(real: np.ndarray, synthetic: np.ndarray, edges: Sequence[float] = SPECTRUM_EDGES) -> float:
    """Total-variation distance between two allele-frequency spectra
    (:func:`frequency_spectrum`): half the summed absolute difference of the bin shares, 0
    for the same spectrum, 1 for spectra with no bin in common."""
    _check(real, synthetic)
    return float(np.abs(frequency_spectrum(real, edges) - frequency_spectrum(synthetic, edges)).sum() / 2)
