"""Differentially-private baselines: simple mechanisms that spend the same (ε, δ) on the same
members as the private language models, so that the book can ask whether a language model is
worth it.

Two mechanisms, both under the neighbouring relation of the book's accountant (adding or
removing one person): private independent sites (below) and MST (:func:`mst`, composed in
zCDP and converted by the RDP conversion of Opacus, :func:`zcdp_epsilon`).

**Private independent sites.** Each member is a sparse profile, a set of records
``22:POS:REF>ALT_GT`` drawn from the panel's record vocabulary (every genotype a site admits
except ``0|0``: the record tokenizer's vocabulary, :func:`lib.lm.tokenization.record_vocabulary`).
The mechanism releases, once,

    c = Σ_people v(x),   v(x) = (one-hot of x's records over the vocabulary, 1)

with Gaussian noise on every coordinate, and samples synthetic people site by site from the
noisy counts: at each site a genotype with probability (its noisy count)⁺ / (noisy number
of people), the rest ``0|0``. Everything after the release is post-processing.

*Contribution bound and sensitivity.* A person keeps at most ``k`` of their records (a
uniformly random subset beyond ``k``; a per-person step, like DP-SGD's clipping), with ``k``
taken from the **public** people (:func:`contribution_bound`), never the members. Then
``‖v(x)‖₂² ≤ k + 1`` for every person. The DP-SGD accountant of this book (Opacus' PRV or
RDP accountant for the Poisson-subsampled Gaussian) reasons about neighbouring datasets that
differ by **adding or removing one person**; under that relation the released sum changes by
exactly one ``v(x)``, so its L2 sensitivity is ``Δ = √(k + 1)`` (the count of people moves by
one too, which is why it is a coordinate of ``v``). Adding ``N(0, (σΔ)²)`` to each coordinate
is the Gaussian mechanism with noise multiplier σ, which is one step of DP-SGD with sampling
rate 1: its ε at δ is what :func:`lib.dp.privacy.compute_epsilon` (the book's accountant) says
for ``sample_rate=1, steps=1``, and σ is the smallest for which that is at most the target
(:func:`release_noise_multiplier`). The exact privacy profile of the Gaussian mechanism (Balle & Wang
2018, Theorem 8; :func:`gaussian_delta`) checks the accountant in the tests.
"""
from __future__ import annotations

import functools
import math
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from . import privacy
from ..lm import tokenization as tk

#: The mechanism's name, as its privacy record and the book's tables write it.
INDEPENDENT_SITES = "private independent sites"
#: The neighbouring relation every ε of the book is stated under.
NEIGHBOURS = "add or remove one person"
#: The key of a privacy record that holds what was counted on the members themselves (how
#: many, how many were cut to the bound): diagnostics outside ε, never to be released with it.
OUTSIDE = "diagnostics outside epsilon"


# --------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------

def gaussian_delta(noise_multiplier: float, epsilon: float) -> float:
    """δ(ε) of the Gaussian mechanism with sensitivity 1 and noise standard deviation
    ``noise_multiplier`` (Balle & Wang 2018, "Improving the Gaussian mechanism for
    differential privacy", Theorem 8): Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ). Exact, so the
    accountant's ε for one step at sampling rate 1 must not fall below the ε this gives."""
    sigma = float(noise_multiplier)
    if not sigma > 0:
        raise ValueError(f"noise_multiplier={noise_multiplier!r} must be above 0")

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    a, b = 1 / (2 * sigma), epsilon * sigma
    return phi(a - b) - math.exp(epsilon) * phi(-a - b)


def gaussian_epsilon(noise_multiplier: float, delta: float) -> float:
    """The smallest ε with :func:`gaussian_delta` at most ``delta`` (bisection; exact up to
    1e-9)."""
    low, high = 0.0, 1.0
    while gaussian_delta(noise_multiplier, high) > delta:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if gaussian_delta(noise_multiplier, mid) > delta else (low, mid)
        if high - low < 1e-9:
            break
    return high


#: The Rényi orders of Opacus' RDP accountant (``RDPAccountant.DEFAULT_ALPHAS``), at which
#: :func:`zcdp_epsilon` converts.
RDP_ORDERS = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))


def gaussian_rho(noise_std: float, sensitivity: float) -> float:
    """The zero-concentrated DP (ρ-zCDP, Bun & Steinke 2016) of a Gaussian
    release with L2 ``sensitivity`` and noise standard deviation ``noise_std``:
    ρ = Δ² / (2 s²). zCDP composes by adding ρ."""
    return float(sensitivity) ** 2 / (2 * privacy._positive("noise_std", noise_std) ** 2)


def exponential_rho(epsilon: float) -> float:
    """The zCDP of an ``epsilon``-DP exponential mechanism: ρ = ε² / 8 (Cesar & Rogers
    2021, "Bounding, concentrating, and truncating: unifying privacy loss composition for
    data analytics"), a quarter of the ε²/2 that pure DP alone gives."""
    return _private_epsilon("epsilon", epsilon) ** 2 / 8


def zcdp_epsilon(rho: float, delta: float) -> float:
    """(ε, δ) from ρ-zCDP, read as Rényi DP ε(α) = ρα at the orders of Opacus' RDP
    accountant and converted by the same function that accountant uses
    (``opacus.accountants.analysis.rdp.get_privacy_spent``, Balle et al. 2020, Thm 21): the
    book's RDP conversion, so that a composition of Gaussian and exponential mechanisms is
    stated in the accountant family the models' ε comes from."""
    from opacus.accountants.analysis.rdp import get_privacy_spent

    rho = privacy._positive("rho", rho)
    orders = np.array(RDP_ORDERS)
    epsilon, _ = get_privacy_spent(orders=orders, rdp=rho * orders, delta=privacy._positive("delta", delta))
    return float(epsilon)


@functools.lru_cache(maxsize=256)
def release_noise_multiplier(epsilon: float, delta: float, accountant: str = "prv", tolerance: float = 1e-3) -> float:
    """The smallest noise multiplier σ (to within a relative ``tolerance``) whose one
    Gaussian release, accounted by the book's accountant as one DP-SGD step at sampling rate
    1 (:func:`lib.dp.privacy.compute_epsilon`), spends at most ``epsilon`` at ``delta``.
    Remembered per arguments (a pure function of them)."""
    epsilon = _private_epsilon("epsilon", epsilon)
    delta = privacy._positive("delta", delta)
    if delta >= 1:
        raise ValueError(f"delta={delta:g} must be below 1")

    def spent(sigma: float) -> float:
        return privacy.compute_epsilon(1.0, sigma, 1, delta, accountant)

    # the exact profile's σ is a lower bracket (no accountant reports less than the exact ε),
    # so the accountant is only asked about noise near the answer (PRV at far smaller noise
    # would discretise a huge range of privacy losses)
    low = gaussian_sigma(epsilon, delta)
    if spent(low) <= epsilon:
        return low
    high = low * 1.05
    while spent(high) > epsilon:
        low, high = high, high * 1.05
    while (high - low) / high > tolerance:
        mid = (low + high) / 2
        low, high = (low, mid) if spent(mid) <= epsilon else (mid, high)
    return high


def gaussian_sigma(epsilon: float, delta: float) -> float:
    """The smallest noise multiplier whose exact privacy profile (:func:`gaussian_delta`)
    gives δ(ε) at most ``delta`` (bisection to a relative 1e-9)."""
    low, high = 1e-3, 1.0
    while gaussian_delta(high, epsilon) > delta:
        low, high = high, high * 2
    while (high - low) / high > 1e-9:
        mid = (low + high) / 2
        low, high = (low, mid) if gaussian_delta(mid, epsilon) <= delta else (mid, high)
    return high


# --------------------------------------------------------------------------------------
# Contributions
# --------------------------------------------------------------------------------------

def site_records(records: Sequence[str]) -> dict[str, list[str]]:
    """The records of ``records`` (the record vocabulary, site by site) grouped by their
    site ``22:POS:REF>ALT``, sites and records in vocabulary order."""
    out: dict[str, list[str]] = {}
    for record in records:
        out.setdefault(record.rsplit("_", 1)[0], []).append(record)
    return out


def contribution_bound(public_profiles: Sequence[Sequence[str]]) -> int:
    """``k``, the records a person may contribute: the largest number of records any
    **public** person carries (public data, so choosing it costs no privacy; a member with
    more is cut to ``k``)."""
    if len(public_profiles) == 0:
        raise ValueError("the contribution bound is taken from the public people, and there are none")
    return max(1, max(len(p) for p in public_profiles))


def l2_sensitivity(bound: int) -> float:
    """The L2 sensitivity of the bounded sums under adding or removing one person: one
    person's vector holds at most ``bound`` ones (records) and the one that counts people,
    so ``√(bound + 1)``."""
    return math.sqrt(bound + 1)


def bounded_counts(profiles: Sequence[Sequence[str]], records: Sequence[str], bound: int,
                   seed: int = 0) -> tuple[np.ndarray, int, int]:
    """The sum over ``profiles`` of each person's contribution vector: the count of every
    record of ``records`` (each person keeping at most ``bound`` records, a uniformly random
    subset when they carry more, drawn from ``seed`` and the person's own records only, so
    each person's vector is a function of that person alone) and, last, the number of
    people. Returns the sums, how many people were cut and how many records they lost.
    A record that is not in ``records``, or a profile that holds one record twice, is
    refused (its person could contribute more than the sensitivity allows)."""
    bound = privacy._count("bound", int(bound) if isinstance(bound, np.integer) else bound)
    index = {record: i for i, record in enumerate(records)}
    sums = np.zeros(len(records) + 1, dtype=np.int64)
    cut = lost = 0
    for n, profile in enumerate(profiles):
        ids = []
        for record in profile:
            i = index.get(record)
            if i is None:
                raise ValueError(f"profile {n}: record {record!r} is not one the panel admits "
                                 "(the released counts have no coordinate for it)")
            ids.append(i)
        if len(set(ids)) != len(ids):
            raise ValueError(f"profile {n} holds a record twice")
        if len(ids) > bound:
            cut, lost = cut + 1, lost + len(ids) - bound
            own = np.random.default_rng([seed, zlib.crc32("\n".join(sorted(profile)).encode())])
            ids = list(own.choice(ids, size=bound, replace=False))
        np.add.at(sums, ids, 1)
        sums[-1] += 1
    return sums, cut, lost


# --------------------------------------------------------------------------------------
# The mechanism
# --------------------------------------------------------------------------------------

def release_counts(profiles: Sequence[Sequence[str]], records: Sequence[str], bound: int, epsilon: float,
                   delta: float, seed: int = 0, accountant: str = "prv") -> tuple[np.ndarray, dict[str, Any]]:
    """The Gaussian release of :func:`bounded_counts` at (``epsilon``, ``delta``): the
    noisy sums (records, then the number of people) and the privacy record (mechanism,
    neighbouring relation, bound, sensitivity, σ, the accountant's ε; the members' count
    and how many were cut under :data:`OUTSIDE`, diagnostics outside ε)."""
    epsilon = _private_epsilon("epsilon", epsilon)
    delta = privacy.check_delta(delta, max(1, len(profiles)))
    sums, cut, lost = bounded_counts(profiles, records, bound, seed=seed)
    sigma = release_noise_multiplier(epsilon, delta, accountant)
    sensitivity = l2_sensitivity(bound)
    rng = np.random.default_rng([seed, 0x5EED])
    noisy = sums + rng.normal(0.0, sigma * sensitivity, size=sums.shape)
    record = {"mechanism": INDEPENDENT_SITES + " (Gaussian mechanism on bounded record counts)",
              "neighbouring": NEIGHBOURS, "contribution_bound": int(bound), "l2_sensitivity": sensitivity,
              "noise_multiplier": sigma, "noise_std": sigma * sensitivity, "target_epsilon": epsilon,
              "epsilon": privacy.compute_epsilon(1.0, sigma, 1, delta, accountant), "delta": delta,
              "accountant": accountant,
              OUTSIDE: {"members": len(profiles), "members_cut": cut, "records_cut": lost}}
    return noisy, record


def public_prior(public: Sequence[Sequence[str]], records: Sequence[str]) -> dict[str, Any]:
    """What the public people say of each record of ``records``: its share among them
    (``shares``) and how many they are (``n``). Public data, so a mechanism's
    post-processing may lean on it at no cost in privacy."""
    if len(public) == 0:
        raise ValueError("the public prior is taken from the public people, and there are none")
    index = {record: i for i, record in enumerate(records)}
    counts = np.zeros(len(records))
    for profile in public:
        for record in profile:
            if record in index:
                counts[index[record]] += 1
    return {"shares": counts / len(public), "n": len(public)}


def shrink_to_public(private: np.ndarray, private_var: np.ndarray | float, public: np.ndarray,
                     n_public: int) -> np.ndarray:
    """Unbiased noisy shares ``private`` (variance ``private_var``) and the public people's
    ``public`` shares of the same cells, combined by inverse variance (the public share's
    variance taken as (q(1 − q) + 1/n)/n, so that a cell no public person carries still has
    some), then clipped at 0: post-processing. Clipping a noisy share at 0 on its own turns
    the noise of every rare cell into a positive bias; clipping the combination does so far
    less, since the public share holds it near 0 where the noise is larger than the share."""
    public_var = (public * (1.0 - public) + 1.0 / n_public) / n_public
    weight = 1.0 / np.maximum(np.asarray(private_var, dtype=float), 1e-300)
    combined = (private * weight + public / public_var) / (weight + 1.0 / public_var)
    return np.clip(combined, 0.0, None)


#: How both baselines turn noisy counts into shares (what their privacy records say).
POST_PROCESSING = ("noisy shares combined with the public people's by inverse variance, then clipped at 0 "
                   "(public data: no privacy spent)")


def sample_sites(noisy: np.ndarray, records: Sequence[str], n: int, seed: int = 0,
                 prior: Mapping[str, Any] | None = None, noise_std: float | None = None) -> list[list[str]]:
    """``n`` synthetic profiles from released counts (post-processing): at each site, a
    genotype with probability (its noisy count)⁺ / (noisy number of people, at least 1),
    renormalised when those exceed 1, the rest ``0|0`` (no record). With a public
    ``prior`` (:func:`public_prior`) and the release's ``noise_std``, each share is first
    combined with the public one (:func:`shrink_to_public`) before it is clipped."""
    n = privacy._count("n", int(n) if isinstance(n, np.integer) else n)
    people = max(float(noisy[-1]), 1.0)
    if prior is not None:
        if noise_std is None:
            raise ValueError("a public prior needs the release's noise_std")
        p = shrink_to_public(np.asarray(noisy[:-1], dtype=float) / people, (float(noise_std) / people) ** 2,
                             np.asarray(prior["shares"], dtype=float), int(prior["n"]))
    else:
        p = np.clip(np.asarray(noisy[:-1], dtype=float), 0.0, None) / people
    rng = np.random.default_rng([seed, 0x51735])
    out: list[list[str]] = [[] for _ in range(n)]
    start = 0
    for options in site_records(records).values():
        probs = p[start:start + len(options)]
        total = probs.sum()
        if total > 1:
            probs = probs / total
        draws = np.searchsorted(np.cumsum(probs), rng.random(n), side="right")
        for person in np.flatnonzero(draws < len(options)):
            out[person].append(options[draws[person]])
        start += len(options)
    return out


def private_independent_sites(members: Sequence[Sequence[str]], public: Sequence[Sequence[str]],
                              panel_sites: Sequence[str], n: int, epsilon: float, delta: float,
                              phased: bool = True, seed: int = 0,
                              accountant: str = "prv") -> tuple[list[list[str]], dict[str, Any]]:
    """``n`` synthetic people from the members' record counts released at (``epsilon``,
    ``delta``): the bound from the public people (:func:`contribution_bound`), the Gaussian
    release (:func:`release_counts`) and site-by-site sampling (:func:`sample_sites`), each
    share combined with the public people's (:func:`public_prior`). Returns the profiles and
    the privacy record."""
    records = tk.record_vocabulary(panel_sites, phased=phased)
    bound = contribution_bound(public)
    noisy, record = release_counts(members, records, bound, epsilon, delta, seed=seed, accountant=accountant)
    record["bound_from"] = "the largest record count of a public person"
    record["post_processing"] = POST_PROCESSING
    return sample_sites(noisy, records, n, seed=seed, prior=public_prior(public, records),
                        noise_std=record["noise_std"]), record


# --------------------------------------------------------------------------------------
# MST (McKenna, Miklau & Sheldon 2021)
# --------------------------------------------------------------------------------------

#: MST's name, as its privacy record and the book's tables write it.
MST = "MST"


def zcdp_budget(epsilon: float, delta: float) -> float:
    """The largest ρ whose conversion (:func:`zcdp_epsilon`) spends at most ``epsilon`` at
    ``delta`` (bisection to a relative 1e-6): the zCDP budget a mechanism composed in zCDP
    may spend at the book's (ε, δ)."""
    epsilon = _private_epsilon("epsilon", epsilon)
    low, high = 0.0, 1.0
    while zcdp_epsilon(high, delta) <= epsilon:
        low, high = high, high * 2
    while (high - low) / high > 1e-6:
        mid = (low + high) / 2
        low, high = (mid, high) if zcdp_epsilon(mid, delta) <= epsilon else (low, mid)
    return low


def categories(profiles: Sequence[Sequence[str]], records: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """People x sites categories: 0 where a person holds no record at the site (``0|0``),
    else 1 + the record's place among the site's records in ``records`` (the record
    vocabulary, site by site); and each site's number of categories. A record outside
    ``records``, or two at one site, is refused."""
    blocks = site_records(records)
    order = list(blocks)
    place = {record: (j, c) for j, options in enumerate(blocks.values()) for c, record in enumerate(options, 1)}
    sizes = [len(options) + 1 for options in blocks.values()]
    out = np.zeros((len(profiles), len(order)), dtype=np.int16)
    for n, profile in enumerate(profiles):
        for record in profile:
            if record not in place:
                raise ValueError(f"profile {n}: record {record!r} is not one the panel admits")
            j, c = place[record]
            if out[n, j]:
                raise ValueError(f"profile {n} holds two records at site {order[j]}")
            out[n, j] = c
    return out, sizes


def _one_hot(x: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    hot = np.zeros((len(x), int(offsets[-1])), dtype=np.float64)
    if len(x):
        hot[np.arange(len(x))[:, None], offsets[:-1][None, :] + x] = 1.0
    return hot, offsets


def one_way_counts(x: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Every site's counts of its categories, concatenated site by site. Adding or removing
    one person adds or removes one in one cell of each site: L2 sensitivity √(sites)."""
    hot, _ = _one_hot(x, sizes)
    return hot.sum(axis=0)


def two_way_counts(x: np.ndarray, sizes: Sequence[int], i: int, j: int) -> np.ndarray:
    """The counts of site ``i``'s and site ``j``'s categories together (a table, rows i)."""
    table = np.zeros((sizes[i], sizes[j]))
    np.add.at(table, (x[:, i], x[:, j]), 1.0)
    return table


def independence_errors(x: np.ndarray, sizes: Sequence[int], one_way: np.ndarray, total: float) -> np.ndarray:
    """Sites x sites: the L1 distance between each pair's two-way counts and what
    independence predicts from the released one-way estimates (``one_way``: every site's
    category shares, concatenated; ``total``: the released number of people, never the
    true one). MST's selection score: the prediction is fixed by what was released, and one
    person moves a pair's counts by one in one cell, so each score by at most 1."""
    hot, offsets = _one_hot(x, sizes)
    joint = hot.T @ hot
    n = float(total)
    out = np.zeros((len(sizes), len(sizes)))
    for i in range(len(sizes)):
        rows = slice(offsets[i], offsets[i + 1])
        expected = n * one_way[rows][:, None] * one_way[None, :]
        out[i] = np.add.reduceat(np.abs(joint[rows] - expected).sum(axis=0), offsets[:-1])
    return out


def _shares(counts: np.ndarray) -> np.ndarray:
    clipped = np.clip(counts, 0.0, None)
    total = clipped.sum()
    return clipped / total if total > 0 else np.full(len(counts), 1.0 / len(counts))


def select_tree(errors: np.ndarray, epsilon_round: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A spanning tree of the sites, edge by edge as Kruskal's algorithm, each edge drawn by
    the exponential mechanism (``epsilon_round``-DP, score sensitivity 1: probability
    ∝ exp(ε · score / 2)) among the pairs that join two components, scores ``errors``
    (:func:`independence_errors`), sampled as the argmax with Gumbel noise."""
    d = len(errors)
    first, second = np.triu_indices(d, k=1)
    score = errors[first, second] * (epsilon_round / 2.0)
    component = np.arange(d)
    edges = []
    for _ in range(d - 1):
        open_ = np.flatnonzero(component[first] != component[second])
        pick = open_[np.argmax(score[open_] + rng.gumbel(size=open_.size))]
        a, b = int(first[pick]), int(second[pick])
        edges.append((a, b))
        component[component == component[b]] = component[a]
    return edges


def _fit_table(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, iters: int = 50) -> np.ndarray:
    """A non-negative table with (about) the given margins, from a noisy one: iterative
    proportional fitting from its positive part (post-processing)."""
    fitted = np.clip(table, 0.0, None) + 1e-3
    for _ in range(iters):
        fitted *= (rows / np.maximum(fitted.sum(axis=1), 1e-12))[:, None]
        fitted *= (cols / np.maximum(fitted.sum(axis=0), 1e-12))[None, :]
    return fitted


def mst_noise(epsilon: float, delta: float, d: int) -> dict[str, float]:
    """MST's budget on ``d`` sites at (``epsilon``, ``delta``): ρ (:func:`zcdp_budget`) split
    in thirds, the noise of the one-way counts (L2 sensitivity √d: one person is one cell of
    every site under adding or removing a person), the exponential mechanism's ε per round
    of the d − 1 (zCDP ε²/8 each) and the noise of the two-way counts (sensitivity √(d − 1))."""
    if d < 2:
        raise ValueError(f"MST needs at least 2 sites; the panel has {d}")
    rho = zcdp_budget(epsilon, delta)
    part = rho / 3
    return {"rho": rho, "part": part, "sigma_one": math.sqrt(d) / math.sqrt(2 * part),
            "epsilon_round": math.sqrt(8 * part / (d - 1)), "sigma_two": math.sqrt(d - 1) / math.sqrt(2 * part)}


def mst_release(members: Sequence[Sequence[str]], panel_sites: Sequence[str], epsilon: float, delta: float,
                phased: bool = True, seed: int = 0) -> dict[str, Any]:
    """MST's measurements of the members (McKenna, Miklau & Sheldon 2021, "Winning the NIST
    contest") on the sites as attributes, in zCDP (:func:`mst_noise`):

    1. every site's one-way counts with Gaussian noise;
    2. d − 1 edges of a spanning tree chosen by the exponential mechanism in Kruskal's order,
       scored by the pairs' departure from independence (:func:`select_tree`);
    3. the chosen pairs' two-way counts with Gaussian noise.

    Returns everything released: ``records``, ``sizes`` (categories per site), ``one_way``
    (the noisy counts, site by site), ``total`` (the released number of people), ``edges``,
    ``tables`` (edge -> noisy two-way counts) and the privacy ``record``; only this may
    reach :func:`mst_sample`."""
    records = tk.record_vocabulary(panel_sites, phased=phased)
    x, sizes = categories(members, records)
    d = len(sizes)
    noise = mst_noise(epsilon, delta, d)
    rng = np.random.default_rng([seed, 0x357])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    noisy_one = one_way_counts(x, sizes) + rng.normal(0.0, noise["sigma_one"], size=int(offsets[-1]))
    per_site = np.split(noisy_one, offsets[1:-1])
    shares = np.concatenate([_shares(counts) for counts in per_site])
    total = max(float(np.mean([counts.sum() for counts in per_site])), 1.0)
    edges = select_tree(independence_errors(x, sizes, shares, total), noise["epsilon_round"], rng)
    tables = {(a, b): two_way_counts(x, sizes, a, b) + rng.normal(0.0, noise["sigma_two"], size=(sizes[a], sizes[b]))
              for a, b in edges}
    names = list(site_records(records))
    record = {"mechanism": MST + " (one-way counts, exponential-mechanism spanning tree, two-way counts; zCDP)",
              "neighbouring": NEIGHBOURS, "rho": noise["rho"], "rho_parts": [noise["part"]] * 3,
              "noise_std_one_way": noise["sigma_one"], "noise_std_two_way": noise["sigma_two"],
              "epsilon_per_round": noise["epsilon_round"], "rounds": d - 1, "target_epsilon": float(epsilon),
              "epsilon": zcdp_epsilon(noise["rho"], delta), "delta": float(delta),
              "accountant": "zCDP, converted by the RDP conversion of Opacus",
              "edges": [[names[a], names[b]] for a, b in edges], OUTSIDE: {"members": len(members)}}
    return {"records": records, "sizes": sizes, "one_way": noisy_one, "total": total, "edges": edges,
            "tables": tables, "sigma_one": noise["sigma_one"], "sigma_two": noise["sigma_two"], "record": record}


def category_prior(public: Sequence[Sequence[str]], records: Sequence[str]) -> dict[str, Any]:
    """:func:`public_prior` for MST's cells: the public people's share of every category of
    every site (``0|0`` first, then the site's records), site by site, and their number."""
    if len(public) == 0:
        raise ValueError("the public prior is taken from the public people, and there are none")
    x, sizes = categories(public, records)
    return {"shares": one_way_counts(x, sizes) / len(public), "n": len(public)}


def mst_sample(release: dict[str, Any], n: int, seed: int = 0,
               prior: Mapping[str, Any] | None = None) -> list[list[str]]:
    """``n`` people from MST's measurements (:func:`mst_release`; post-processing): each
    site's shares from its one-way counts and the margins of its tables (inverse-variance
    weighted; with a public ``prior``, :func:`category_prior`, combined with the public
    people's shares too, :func:`shrink_to_public`), each table fitted to those margins
    (:func:`_fit_table`), and people sampled down the tree. Private-PGM's general estimator fits the same tree model; on a tree its
    fit is this closed form (the measured ``mbi`` 2.0 estimator took 340 s per fit on 1,000
    sites, mostly compiling)."""
    n = privacy._count("n", int(n) if isinstance(n, np.integer) else n)
    sizes, edges, tables, total = release["sizes"], release["edges"], release["tables"], release["total"]
    sigma_one, sigma_two = release["sigma_one"], release["sigma_two"]
    d = len(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    per_site = np.split(release["one_way"], offsets[1:-1])
    weight_sum = np.full(d, 1.0 / sigma_one ** 2)
    share_sum = [counts / sigma_one ** 2 for counts in per_site]
    for (a, b), table in tables.items():
        for site, margin, other in ((a, table.sum(axis=1), sizes[b]), (b, table.sum(axis=0), sizes[a])):
            precision = 1.0 / (other * sigma_two ** 2)
            share_sum[site] = share_sum[site] + margin * precision
            weight_sum[site] += precision
    if prior is None:
        marginals = [_shares(share_sum[j] / weight_sum[j]) for j in range(d)]
    else:
        public = np.split(np.asarray(prior["shares"], dtype=float), offsets[1:-1])
        marginals = [_shares(shrink_to_public(share_sum[j] / weight_sum[j] / total, 1.0 / (weight_sum[j] * total ** 2),
                                              public[j], int(prior["n"]))) for j in range(d)]
    fitted = {(a, b): _fit_table(t, marginals[a] * total, marginals[b] * total) for (a, b), t in tables.items()}
    neighbours: dict[int, list[int]] = {j: [] for j in range(d)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    rng = np.random.default_rng([seed, 0x5A4])
    draws = np.zeros((n, d), dtype=np.int64)
    draws[:, 0] = rng.choice(sizes[0], size=n, p=marginals[0])
    seen, queue = {0}, [0]
    while queue:
        parent = queue.pop(0)
        for child in neighbours[parent]:
            if child in seen:
                continue
            table = fitted[(parent, child)] if (parent, child) in fitted else fitted[(child, parent)].T
            rows = table.sum(axis=1, keepdims=True)  # a row the fit emptied falls back on the child's shares
            conditional = np.where(rows > 0, table / np.where(rows > 0, rows, 1.0), marginals[child][None, :])
            cumulative = np.cumsum(conditional[draws[:, parent]], axis=1)
            draws[:, child] = np.minimum((cumulative < rng.random(n)[:, None]).sum(axis=1), sizes[child] - 1)
            seen.add(child)
            queue.append(child)
    options = list(site_records(release["records"]).values())
    return [[options[j][c - 1] for j, c in enumerate(row) if c > 0] for row in draws]


def mst(members: Sequence[Sequence[str]], panel_sites: Sequence[str], n: int, epsilon: float, delta: float,
        phased: bool = True, seed: int = 0,
        public: Sequence[Sequence[str]] | None = None) -> tuple[list[list[str]], dict[str, Any]]:
    """MST: its measurements (:func:`mst_release`) and ``n`` people sampled from them
    (:func:`mst_sample`, leaning on the ``public`` people's shares where given). Returns
    the profiles and the privacy record."""
    n = privacy._count("n", int(n) if isinstance(n, np.integer) else n)
    release = mst_release(members, panel_sites, epsilon, delta, phased=phased, seed=seed)
    if public is None or len(public) == 0:
        return mst_sample(release, n, seed=seed), release["record"]
    record = dict(release["record"], post_processing=POST_PROCESSING)
    return mst_sample(release, n, seed=seed, prior=category_prior(public, release["records"])), record


# --------------------------------------------------------------------------------------
# The baselines as the book runs them
# --------------------------------------------------------------------------------------

#: The baselines by the name their cohorts carry (``sites-eps8``, ``mst-eps1-seed2``; the
#: run-directory contract, :func:`lib.runs.artefacts.model_name`) -> the mechanism's name.
MECHANISMS = {"sites": INDEPENDENT_SITES, "mst": MST}


def _mechanism(name: str) -> str:
    if name not in MECHANISMS:
        raise ValueError(f"mechanism={name!r} is unknown; choose one of {sorted(MECHANISMS)}")
    return name


def release(mechanism: str, members: Sequence[Sequence[str]], public: Sequence[Sequence[str]],
            panel_sites: Sequence[str], n: int, epsilon: float, delta: float, phased: bool = True,
            seed: int = 0) -> tuple[list[list[str]], dict[str, Any]]:
    """``n`` synthetic people from baseline ``mechanism`` (a key of :data:`MECHANISMS`) run
    on ``members`` at (``epsilon``, ``delta``): :func:`private_independent_sites` (its
    contribution bound from the ``public`` people) or :func:`mst`; each leans on the public
    people's shares when it turns its noisy counts into shares. Returns the profiles and
    the privacy record."""
    privacy.check_delta(delta, max(1, len(members)))
    if _mechanism(mechanism) == "sites":
        return private_independent_sites(members, public, panel_sites, n, epsilon, delta, phased=phased, seed=seed)
    return mst(members, panel_sites, n, epsilon, delta, phased=phased, seed=seed, public=public)


def audit_scores(mechanism: str, members: Sequence[Sequence[str]], canaries: Sequence[Sequence[str]],
                 included: Sequence[bool], public: Sequence[Sequence[str]], panel_sites: Sequence[str],
                 epsilon: float, delta: float, phased: bool = True, seed: int = 0
                 ) -> tuple[np.ndarray, dict[str, Any]]:
    """The auditor's score of each canary after ``mechanism`` ran on the members and the
    ``included`` canaries (the one-run audit's insertion, :func:`lib.evaluation.audit.one_run_audit`):
    the mechanism's own release, less the members' exact counts (the auditor knows everything
    but the coins), summed over the canary's coordinates -- its records for independent
    sites (:func:`release_counts`), its records' cells in MST's one-way counts
    (:func:`mst_release`; its 0|0 cells, which every canary shares, the tree and the two-way
    counts are left unscored, so the bound is a lower bound on a part of the budget). Summed
    over the canary's own cells, this is the projection onto what tells it from the others,
    the most powerful test of a Gaussian release. Returns the scores and the privacy record."""
    if len(canaries) != len(included):
        raise ValueError(f"{len(canaries)} canaries but {len(included)} coins")
    inserted = list(members) + [list(c) for c, inside in zip(canaries, included) if inside]
    if _mechanism(mechanism) == "sites":
        records = tk.record_vocabulary(panel_sites, phased=phased)
        bound = contribution_bound(public)
        noisy, record = release_counts(inserted, records, bound, epsilon, delta, seed=seed)
        exact, _, _ = bounded_counts(members, records, bound, seed=seed)
        index = {r: i for i, r in enumerate(records)}
        gap = noisy - exact
        return np.array([sum(gap[index[r]] for r in canary) for canary in canaries]), record
    made = mst_release(inserted, panel_sites, epsilon, delta, phased=phased, seed=seed)
    exact = one_way_counts(categories(members, made["records"])[0], made["sizes"])
    x, _ = categories(canaries, made["records"])
    offsets = np.concatenate([[0], np.cumsum(made["sizes"])])[:-1]
    gap = made["one_way"] - exact
    # a canary's 0|0 cells are every other canary's too: they move with how many were
    # inserted, not with whether this one was, so only its own records' cells are scored
    return np.where(x > 0, gap[offsets[None, :] + x], 0.0).sum(axis=1), made["record"]


def _private_epsilon(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite number above 0 (a baseline at ε = ∞ is not private; "
                         "the book's non-private references are the real people and the copy of the members)")
    return float(value)

