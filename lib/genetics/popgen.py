"""Population-genetic comparisons of a cohort with another: allele frequencies, linkage,
structure, distances between people and kinship.

Every function is pure and works on **dosage matrices**: people x sites arrays of ALT
allele counts (0, 1, 2; every ALT allele of a multi-allelic site counts; a missing call
counts as REF), as :func:`dosages` makes them from a :class:`lib.genomes.cohort.Cohort`, plus the
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
  :func:`adversarial_accuracy` (AATS of Yelmen et al. 2021) and :func:`aats_privacy_loss`
  (AATS against the holdout minus against as many members: sets of equal size);
* kinship: :func:`king_kinship` (KING-robust, the between-family estimator of Manichaikul
  et al. 2010 that PLINK 2's ``--make-king`` computes: it does not take two strangers of
  unequal heterozygosity for relatives) and :func:`kinship_degree`;
* telling real from synthetic: :func:`classifier_two_sample`, a logistic regression on
  dosages (it sees allele frequencies) or boosted trees on dosages and principal
  components (they see linkage and structure too);
* populations: :func:`infer_populations`, :func:`train_synthetic_test_real` and
  :func:`population_af_agreement` (a population the synthetic cohort leaves out counts as a
  failure, r = 0).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..core import scoring
from ..genomes.cohort import Cohort

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
    return scoring.bootstrap(lambda a, b: (a.mean() + b.mean()) / 2, [t, s], n_boot, seed)


def aats_balance_interval(real: np.ndarray, synthetic: np.ndarray, n_boot: int = 200,
                          seed: int = 0) -> tuple[float, float, float]:
    """How far AATS's two halves (:func:`adversarial_accuracy`) are from their ideal, 0.5
    each: (|AA_T − 0.5| + |AA_S − 0.5|) / 2, 0 best, with a bootstrap 95% interval over the
    people of each side (nearest neighbours held fixed): ``(value, low, high)``. AATS itself
    averages the halves, so a cohort whose people all sit nearer a real person than any of
    their own kind (AA_S = 0) while every real person's closest is real (AA_T = 1) scores
    the ideal 0.5; this reads the same cohort as 0.5 from it, the worst."""
    t, s = _adversarial_indicators(real, synthetic)
    return scoring.bootstrap(lambda a, b: (abs(a.mean() - 0.5) + abs(b.mean() - 0.5)) / 2, [t, s], n_boot, seed)


def equal_size_subsets(n_members: int, n_holdout: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The people :func:`aats_privacy_loss` compares, as sorted row indices ``(members,
    holdout)``: the larger of the two sets cut to the smaller's size by a seeded draw
    without replacement, the smaller kept whole (usually every holdout person and as many
    members, drawn from ``seed``). The draw has a stream of its own: with the same seed,
    :func:`resample_people` (the "copy of members" reference) draws other members, so the
    copies are not, by coincidence, copies of exactly the members compared."""
    rng = np.random.default_rng([seed, 0xAA75])
    size = min(n_members, n_holdout)

    def pick(n: int) -> np.ndarray:
        return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)

    return pick(n_members), pick(n_holdout)


def aats_privacy_loss(members: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray, seed: int = 0) -> float:
    """Yelmen et al.'s (2021) privacy loss: AATS (:func:`adversarial_accuracy`) against the
    holdout minus AATS against the members. Positive when the synthetic people sit closer to
    the members than to people the model never saw.

    The two sets are compared at equal sizes (:func:`equal_size_subsets`: a random subset
    of the members as large as the holdout, drawn from ``seed``, each member's closest other
    member found within that subset). AATS's halves depend on the size of the real set:
    against four times as many members, each member's closest other member is nearer
    (``AA_T`` rises by about 0.3) and so is each synthetic person's closest member (``AA_S``
    falls by about as much). The two nearly cancel in AATS, but only nearly and only as the
    distances happen to fall; on equal-sized sets each half compares like with like, and for
    new people of the same population the holdout and the member subset are exchangeable,
    so the loss is 0 in expectation. The price: a synthetic copy of a member left out of the
    subset no longer lowers ``AA_S``, so copying shows less (``tests/test_popgen.py``)."""
    _check(members, holdout, synthetic)
    member_rows, holdout_rows = equal_size_subsets(len(members), len(holdout), seed)
    return (adversarial_accuracy(holdout[holdout_rows], synthetic)["AATS"]
            - adversarial_accuracy(members[member_rows], synthetic)["AATS"])


# --------------------------------------------------------------------------------------
# Kinship
# --------------------------------------------------------------------------------------

def king_kinship(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """KING-robust kinship coefficients between every person of ``a`` and every person of
    ``b``: the *between-family* estimator of Manichaikul et al. (2010, Bioinformatics
    26:2867, eq. 11), the one PLINK 2's ``--make-king`` computes.

    With N_Aa(i) the heterozygous sites of person i, N_AaAa those where both people are
    heterozygous and N_AA,aa those where they are opposite homozygotes,

        phi = 1/2 + (2 N_AaAa - 4 N_AA,aa - N_Aa(i) - N_Aa(j)) / (4 min(N_Aa(i), N_Aa(j)))
            = 1/2 - sum over sites of (x_i - x_j)² / (4 min(N_Aa(i), N_Aa(j))),

    the squared dosage difference counting 1 for a heterozygote against a homozygote and 4
    for opposite homozygotes. The same person (or a monozygotic twin) gives exactly 0.5,
    a parent and child or full siblings about 0.25, second-degree relatives 0.125, unrelated
    people of one population about 0, and people of different populations less (negative).
    NaN where either person has no heterozygous site.

    The *within-family* form, (N_AaAa - 2 N_AA,aa) / (N_Aa(i) + N_Aa(j)) = 1/2 - sum (x_i -
    x_j)² / (2 (N_Aa(i) + N_Aa(j))), divides by the mean heterozygosity instead of the
    smaller one; it assumes the two people are equally heterozygous (as members of one
    family are). Since 4 min <= 2 (N_Aa(i) + N_Aa(j)), the between-family estimate is never
    above it, equal only when the two heterozygosities are; where they differ (people of
    different populations, a generator that writes too many heterozygotes) the within-family
    form can call strangers relatives where this one does not (``tests/test_popgen.py``).

    On the 998 sites of the committed 1000 Genomes panel a person has a median of 31
    heterozygous sites, and each coefficient is noisy: a person's closest match among
    hundreds of strangers often passes the first-degree cut-off (for 29% of holdout people
    among 488 members; 45% with the within-family form). Read a synthetic cohort's kinship
    shares against those of real strangers, not against 0."""
    _check(a, b)
    a0, a1, a2 = _indicators(a)
    b0, b1, b2 = _indicators(b)
    # float32 products count exactly up to 2^24 sites; the ratio in float64
    shared = (a1 @ b1.T).astype(np.float64)
    opposite = (a0 @ b2.T + a2 @ b0.T).astype(np.float64)
    het_a, het_b = a1.sum(axis=1, dtype=np.float64)[:, None], b1.sum(axis=1, dtype=np.float64)[None, :]
    fewer = np.minimum(het_a, het_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = 0.5 + (2 * shared - 4 * opposite - het_a - het_b) / (4 * fewer)
    return np.where(fewer > 0, phi, np.nan)


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


#: The gradient-boosted trees of :func:`classifier_two_sample` (``kind="boosting"``): small
#: and fixed (no early stopping: its validation split would take a fifth of ~200 training
#: people), chosen on simulated haplotype blocks against independent sites for about 1 s
#: per test of 122 + 122 people x 1,000 sites (``bench/bench_popgen.py``). ``max_bins``: a
#: dosage has 3 values, and 16 bins of a principal-component coordinate keep every
#: histogram small (at this size the cost is per site, binning and histograms, not per
#: person).
BOOSTING = {"max_iter": 50, "max_leaf_nodes": 8, "learning_rate": 0.1, "max_bins": 16,
            "early_stopping": False}

#: Principal components the boosted two-sample test adds when no ``axes`` are given.
BOOSTING_COMPONENTS = 10


def classifier_two_sample(real: np.ndarray, synthetic: np.ndarray, seed: int = 0, folds: int = 5,
                          n_boot: int = 200, kind: str = "linear", axes: dict | None = None
                          ) -> tuple[float, float, float]:
    """Can a classifier tell real people from synthetic ones? Out-of-fold predictions over
    ``folds`` stratified folds, ROC AUC with a bootstrap 95% interval over people (the
    predictions held fixed): ``(auc, low, high)``. 0.5 is best (the two cohorts cannot be
    told apart); 1, every synthetic person is recognisable (Lopez-Paz and Oquab 2017,
    "Revisiting classifier two-sample tests").

    ``kind="linear"``: a logistic regression on the dosages (L2, C = 0.1). A linear score
    is a weighted sum of single sites, so it sees allele frequencies and little else: a
    cohort of independent sites at the right frequencies (no linkage, no structure) scores
    near 0.5 against real people.

    ``kind="boosting"``: gradient-boosted trees (scikit-learn's
    ``HistGradientBoostingClassifier``, :data:`BOOSTING`, seeded by ``seed``) on the dosages
    plus each person's principal-component coordinates. A tree splits on one site within
    another's split, so it sees combinations of sites (linkage: haplotypes real people carry
    and independent draws break up); the coordinates see structure, and a tree can cut them
    on both sides (real people spread along the top axes, independent sites sit at their
    centre, a difference of spread no weighted sum sees). The axes are ``axes``, a
    :func:`pca_fit` on the same sites passed in by the caller (e.g. fit on public people:
    one feature space for every cohort compared), or, when ``axes`` is None, the top
    :data:`BOOSTING_COMPONENTS` components fit on each fold's training people alone (never on
    the people it predicts). Out-of-fold predictions keep the AUC honest: trees that overfit
    lose power; they do not lift two draws of one population above 0.5 on average."""
    from sklearn.model_selection import StratifiedKFold

    if kind not in ("linear", "boosting"):
        raise ValueError(f"kind must be 'linear' or 'boosting', not {kind!r}")
    if axes is not None and kind != "boosting":
        raise ValueError("axes are the principal components of kind='boosting'; a linear test takes none")
    _check(real, synthetic)
    if axes is not None and len(axes["keep"]) != real.shape[1]:
        raise ValueError(f"axes fitted on {len(axes['keep'])} sites for cohorts on {real.shape[1]} sites")
    x = np.vstack([real, synthetic])
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    if kind == "linear":
        score = _linear_scores(x, y, cv)
    else:
        score = _boosting_scores(x, y, cv, seed, axes)
    return scoring.auc_interval(y, score, seed, n_boot)


def _linear_scores(x: np.ndarray, y: np.ndarray, cv: Any, standardise: bool = False) -> np.ndarray:
    """Out-of-fold probabilities of a logistic regression (L2, C = 0.1), optionally on
    features standardised within each training fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    model = LogisticRegression(C=0.1, max_iter=2000)
    if standardise:
        model = make_pipeline(StandardScaler(), model)
    with threadpool_limits(1):  # as the trees: a few hundred people share out badly (and the same bits)
        return cross_val_predict(model, x.astype(np.float64), y, cv=cv, method="predict_proba")[:, 1]


#: Below this ALT allele frequency among the reference people, a site is *rare* for
#: :func:`genotype_classes`.
RARE_AF = 0.05
#: The columns of :func:`genotype_classes`.
GENOTYPE_CLASSES = ("het, rare sites", "hom-ALT, rare sites", "het, common sites", "hom-ALT, common sites")


def genotype_classes(d: np.ndarray, reference_af: np.ndarray, rare: float = RARE_AF) -> np.ndarray:
    """People x 4 (:data:`GENOTYPE_CLASSES`): each person's heterozygous and homozygous-ALT
    genotypes at the sites that are rare among the reference people (ALT frequency below
    ``rare``; e.g. the real holdout's) and at the others. Four numbers per person that a
    cohort drawn from the right frequencies gets right and a model that spreads probability
    over rare genotypes does not."""
    _check(d)
    if len(reference_af) != d.shape[1]:
        raise ValueError(f"reference_af has {len(reference_af)} sites for cohorts on {d.shape[1]} sites")
    low = np.asarray(reference_af) < rare
    return np.stack([(d[:, low] == 1).sum(axis=1), (d[:, low] == 2).sum(axis=1),
                     (d[:, ~low] == 1).sum(axis=1), (d[:, ~low] == 2).sum(axis=1)], axis=1)


#: Edges of the bins of the reference ALT frequency :func:`genotype_spectrum` counts in.
AF_BIN_EDGES = (0.0, 0.01, 0.05, 0.2, 0.5, 1.0)


def af_bin_labels(edges: Sequence[float] = AF_BIN_EDGES) -> list[str]:
    """One label per bin of ``edges`` (``"< 1%"``, ``"1–5%"``, …, ``"≥ 50%"``)."""
    pct = [f"{100 * e:g}%" for e in edges]
    return ([f"< {pct[1]}"] + [f"{pct[i]}–{pct[i + 1]}" for i in range(1, len(edges) - 2)]
            + [f"≥ {pct[-2]}"])


def genotype_spectrum(d: np.ndarray, reference_af: np.ndarray, edges: Sequence[float] = AF_BIN_EDGES) -> np.ndarray:
    """Bins x 2: the heterozygous and homozygous-ALT genotypes a person carries, on average,
    at the sites whose ALT frequency among the reference people falls in each bin of
    ``edges`` (the last bin closed above). Where :func:`genotype_classes` splits sites in
    two, this shows which frequencies a cohort over- or under-fills."""
    _check(d)
    reference_af = np.asarray(reference_af, dtype=float)
    if reference_af.shape != (d.shape[1],):
        raise ValueError(f"reference_af has {reference_af.shape} values for {d.shape[1]} sites")
    bins = np.clip(np.searchsorted(np.asarray(edges[1:-1], dtype=float), reference_af, side="right"), 0,
                   len(edges) - 2)
    out = np.zeros((len(edges) - 1, 2))
    for b in range(len(edges) - 1):
        sites = d[:, bins == b]
        out[b] = [(sites == 1).sum(axis=1).mean(), (sites == 2).sum(axis=1).mean()]
    return out


def two_sample_weights(real: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    """Per site, the absolute weight the linear two-sample test's model (a logistic
    regression, L2, C = 0.1, on the dosages, as :func:`classifier_two_sample`) puts on it,
    fit on every person of both cohorts: where the test leans. Dosages share one scale, so
    weights compare across sites."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    _check(real, synthetic)
    x = np.vstack([real, synthetic]).astype(np.float64)
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    with threadpool_limits(1):
        return np.abs(LogisticRegression(C=0.1, max_iter=2000).fit(x, y).coef_[0])


def class_two_sample(real: np.ndarray, synthetic: np.ndarray, reference_af: np.ndarray, seed: int = 0,
                     folds: int = 5, n_boot: int = 200) -> tuple[float, float, float]:
    """The classifier two-sample test (:func:`classifier_two_sample`) on four numbers per
    person only, :func:`genotype_classes` (a logistic regression on them, standardised within
    each fold): ``(auc, low, high)``. Where it is near the dosages' test, what tells a cohort
    from real people is how many genotypes of each class a person carries, not which."""
    from sklearn.model_selection import StratifiedKFold

    _check(real, synthetic)
    x = np.vstack([genotype_classes(real, reference_af), genotype_classes(synthetic, reference_af)])
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    score = _linear_scores(x, y, StratifiedKFold(folds, shuffle=True, random_state=seed), standardise=True)
    return scoring.auc_interval(y, score, seed, n_boot)


def _boosting_scores(x: np.ndarray, y: np.ndarray, cv, seed: int, axes: dict | None) -> np.ndarray:
    """Out-of-fold P(synthetic) of :func:`classifier_two_sample`'s boosted trees: per fold,
    the axes (``axes``, or a :func:`pca_fit` of the training people), the trees fit on the
    training people's dosages and coordinates, the held-out people scored."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    score = np.empty(len(y))
    # one thread (OpenMP and BLAS): a few hundred people make trees and eigenproblems too
    # small to share out, and threads waiting on a busy machine cost several times the work
    with threadpool_limits(1):
        for train, test in cv.split(x, y):
            fit = axes if axes is not None else _training_axes(x[train])
            # a site the same in every training person offers no split (on the 1000 Genomes
            # panel, most of its rare sites in 200 people): left out, it costs no binning
            varies = x[train].min(axis=0) != x[train].max(axis=0)

            def features(rows: np.ndarray) -> np.ndarray:
                d = x[rows][:, varies].astype(np.float64)
                return d if fit is None else np.hstack([d, pca_project(fit, x[rows])])

            model = HistGradientBoostingClassifier(random_state=seed, **BOOSTING).fit(features(train), y[train])
            score[test] = model.predict_proba(features(test))[:, 1]
    return score


def _training_axes(d: np.ndarray) -> dict | None:
    """:func:`pca_fit` of a training fold, as many components as it allows (up to
    :data:`BOOSTING_COMPONENTS`); None when no site varies."""
    p = allele_frequencies(d)
    n = min(BOOSTING_COMPONENTS, len(d) - 1, int(((p > 0) & (p < 1)).sum()))
    return pca_fit(d, n) if n >= 1 else None


# --------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------

def own_distances(d: np.ndarray) -> np.ndarray:
    """Each person's distance to the closest other person of the same cohort (what AATS
    compares with): pass a real cohort's to :func:`cohort_comparison` as ``own`` to compute it
    once for many synthetic cohorts."""
    if len(d) < 2:
        raise ValueError("a cohort needs at least 2 people for a closest other person")
    return _own_closest(d)


def cohort_comparison(holdout: np.ndarray, members: np.ndarray, cohorts: dict[str, np.ndarray],
                  positions: Sequence[int], k: int = 20, n_boot: int = 200, seed: int = 0,
                  own: dict[str, np.ndarray] | None = None, details: dict | None = None) -> pd.DataFrame:
    """Every metric of this module for every cohort of ``cohorts`` (name -> dosage matrix
    on the same sites) against the real ``holdout`` and, for the copying metrics, the
    ``members``: one long table with ``cohort``, ``metric``, ``value``, ``low`` and
    ``high`` (a bootstrap 95% interval over people where one is computed, NaN where not).

    Metrics: ``af_r``, ``af_mad`` (bootstrap over sites), ``af_wasserstein``, ``genotype_kl``,
    ``ld_r2_mad`` (neighbour pairs), ``heterozygosity`` (mean observed, bootstrap),
    ``share_hom_alt`` and ``mean_af`` (:func:`genotype_shares`), ``unique_people``,
    ``c2st_auc`` (linear, bootstrap), ``aats`` (against the holdout, bootstrap), ``aats_privacy_loss``
    (:func:`aats_privacy_loss`: against the holdout and as many members, drawn from ``seed``),
    ``dcr_members`` and ``dcr_holdout`` (median distance to the closest member / holdout
    person), ``exact_copies`` (share at distance 0 from a member), ``within_distance`` (median
    distance between two people of the cohort), and the shares of synthetic people with a
    member as ``kin_duplicate``, ``kin_first`` or ``kin_second`` degree relative (KING,
    closest relation).

    Three distance matrices per cohort (to the holdout, to the members, within) serve every
    distance metric; ``own`` may hold the real cohorts' :func:`own_distances` (``"holdout"``,
    ``"members"``, and for the privacy loss ``"members_equal"``, those of the members'
    :func:`equal_size_subsets` rows drawn from ``seed``, and ``"holdout_equal"`` likewise
    should the holdout be the larger set), computed here once otherwise: the same equal-sized
    subset serves every cohort of the call. ``details``, a dict, receives per cohort the
    per-person ``dcr_members`` and ``dcr_holdout`` arrays."""
    rows = []
    own = dict(own or {})
    if "holdout" not in own:
        own["holdout"] = own_distances(holdout)
    if "members" not in own:
        own["members"] = own_distances(members)
    member_rows, holdout_rows = equal_size_subsets(len(members), len(holdout), seed)
    if "members_equal" not in own:
        own["members_equal"] = (own["members"] if len(member_rows) == len(members)
                                else own_distances(members[member_rows]))
    if "holdout_equal" not in own:
        own["holdout_equal"] = (own["holdout"] if len(holdout_rows) == len(holdout)
                                else own_distances(holdout[holdout_rows]))
    for key, rows_used in (("members_equal", member_rows), ("holdout_equal", holdout_rows)):
        if len(own[key]) != len(rows_used):
            raise ValueError(f"own[{key!r}] has {len(own[key])} distances for {len(rows_used)} people")

    def add(name: str, metric: str, value: float, low: float = float("nan"), high: float = float("nan")) -> None:
        rows.append({"cohort": name, "metric": metric, "value": float(value), "low": float(low), "high": float(high)})

    for name, synthetic in cohorts.items():
        _check(holdout, members, synthetic)
        if len(synthetic) < 2:
            raise ValueError(f"cohort {name!r} has {len(synthetic)} people; the suite needs at least 2")
        # over sites: resampling people would add sampling noise to both frequencies and
        # bias r down and the difference up (the interval would miss the estimate)
        pair = np.stack([allele_frequencies(holdout), allele_frequencies(synthetic)], axis=1)
        add(name, "af_r", *scoring.bootstrap(lambda f: frequency_agreement(f[:, 0], f[:, 1])[0], [pair], n_boot, seed))
        add(name, "af_mad",
            *scoring.bootstrap(lambda f: frequency_agreement(f[:, 0], f[:, 1])[1], [pair], n_boot, seed))
        agreement = af_agreement(holdout, synthetic)
        add(name, "af_wasserstein", agreement["wasserstein"])
        add(name, "genotype_kl", agreement["kl"])
        add(name, "ld_r2_mad", ld_difference(holdout, synthetic, positions, k))
        add(name, "heterozygosity", *scoring.bootstrap(lambda a: (a == 1).mean(), [synthetic], n_boot, seed))
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
        aats = scoring.bootstrap(lambda a, b: (a.mean() + b.mean()) / 2, [t, u], n_boot, seed)
        add(name, "aats", *aats)
        # the privacy loss on equal-sized sets (aats_privacy_loss)
        t, u = _indicators_from(to_holdout[holdout_rows], own["holdout_equal"], synthetic_own)
        holdout_aats = (t.mean() + u.mean()) / 2
        dcr_holdout = to_holdout.min(axis=0)
        del to_holdout
        to_members = genotype_distances(members, synthetic)
        t, u = _indicators_from(to_members[member_rows], own["members_equal"], synthetic_own)
        add(name, "aats_privacy_loss", holdout_aats - (t.mean() + u.mean()) / 2)
        dcr_members = to_members.min(axis=0)
        del to_members
        add(name, "dcr_members", np.median(dcr_members))
        add(name, "dcr_holdout", np.median(dcr_holdout))
        add(name, "exact_copies", np.mean(dcr_members == 0))
        # a person without a heterozygous site has no KING coefficient (NaN): no relative
        degree = kinship_degree(np.nan_to_num(king_kinship(synthetic, members), nan=-np.inf).max(axis=1))
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

    def predict_proba(self, d: np.ndarray) -> np.ndarray:
        """People x populations (``classes_``): each person's posterior probabilities."""
        if self.model_ is None:
            return np.ones((len(d), 1))
        return self.model_.predict_proba(pca_project(self.pca_, d))


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
    value = scoring.balanced_accuracy(truth, predicted)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        index = rng.integers(0, len(truth), len(truth))
        draws.append(scoring.balanced_accuracy(truth[index], predicted[index]))
    return value, float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def population_af_agreement(real: np.ndarray, real_labels: Sequence[str], synthetic: np.ndarray,
                            synthetic_labels: Sequence[str], min_people: int = 5) -> dict[str, float]:
    """Per population of the real people, the Pearson r of allele frequencies between the
    real people of that population and the synthetic people labelled with it.

    A population judged (at least ``min_people`` real people, their frequencies not all
    equal) that the synthetic cohort leaves out (fewer than ``min_people`` labelled with it)
    is a failure: r = 0.0, so that a mean over populations penalises a cohort that drops a
    whole population instead of averaging over the populations it kept; so is one whose
    synthetic people have the same frequency at every site (no agreement to measure, e.g.
    no ALT allele at all). NaN (absent, not judged) for a population with fewer than
    ``min_people`` real people or the same real frequency at every site."""
    _check(real, synthetic)
    real_labels, synthetic_labels = np.asarray(real_labels), np.asarray(synthetic_labels)
    for d, labels, name in ((real, real_labels, "real"), (synthetic, synthetic_labels, "synthetic")):
        if len(labels) != len(d):
            raise ValueError(f"{len(labels)} population labels for {len(d)} {name} people")
    out = {}
    for population in sorted(set(real_labels)):
        a, b = real[real_labels == population], synthetic[synthetic_labels == population]
        if len(a) < min_people or allele_frequencies(a).std() == 0:
            out[population] = float("nan")
        elif len(b) < min_people or allele_frequencies(b).std() == 0:
            out[population] = 0.0
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
