"""Who is a member: the split of a cohort's people into train, validation, holdout and public.

* ``train`` -- the **members**: every model of the book is trained on them, and the
  privacy guarantee is about them;
* ``validation`` -- non-members whose loss picks the best epoch and stops training early
  (never trained on; choosing an epoch with them is post-processing for the members);
* ``holdout`` -- the **non-members** a membership-inference attack must tell members from,
  and the real people a synthetic cohort should resemble without copying;
* ``public`` -- people who stand for public data (as a reference panel is): the panel of
  sites, the tokenizers' vocabularies and the GPT-2 base may be learned from them, and
  they are never trained on privately nor attacked.

The split is random within each population and seeded, and it depends on the sample
table alone (identifiers and population labels), never on genotypes: members and
non-members are drawn from one pool, so an attack later faces the question it claims to
answer, not "which file did this sample come from" (the dissertation took its members as
the first samples of a file, 30% of which had never been trained on).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "holdout", "public")
MIN_TRAIN, MIN_OTHER = 2, 1


def make_splits(samples: pd.DataFrame, validation_fraction: float, holdout_fraction: float,
                seed: int, stratify: str = "population", public_fraction: float = 0.0) -> dict[str, list[str]]:
    """Disjoint ``train``/``validation``/``holdout``/``public`` sample lists, random within
    each population (so each split has the cohort's population mix) and seeded.

    ``public`` stands for data that is public anyway (as a reference panel is): it is never
    trained on privately and never attacked, and later chapters may use it freely — to
    pre-train the GPT-2 base that is then fine-tuned on the members. Empty when
    ``public_fraction`` is 0."""
    n = len(samples)
    need = MIN_TRAIN + 2 * MIN_OTHER
    if n < need or round(n * holdout_fraction) < MIN_OTHER or round(n * validation_fraction) < MIN_OTHER:
        raise ValueError(
            f"too few samples ({n}) for the splits: with validation_fraction={validation_fraction} and "
            f"holdout_fraction={holdout_fraction} every split needs at least {MIN_OTHER} sample(s) "
            f"and train at least {MIN_TRAIN}; use a larger cohort or larger fractions")
    n_holdout, n_validation = int(round(n * holdout_fraction)), int(round(n * validation_fraction))
    n_public = int(round(n * public_fraction))
    if public_fraction > 0 and n_public < MIN_OTHER:
        raise ValueError(f"too few samples ({n}) for public_fraction={public_fraction}: the public split "
                         f"would be empty")
    if n - n_holdout - n_validation - n_public < MIN_TRAIN:
        raise ValueError(f"too few samples ({n}) for the splits: train would get "
                         f"{n - n_holdout - n_validation - n_public}")
    # Systematic stratified sampling: shuffle each population, give its i-th sample the key
    # (i + u) / size with one random offset u per population, and sort all samples by key.
    # Every prefix of that order holds each population in proportion to its size, so taking
    # the first n_holdout, then the next n_validation, stratifies both at exact totals.
    rng = np.random.default_rng(seed)
    ids, keys = [], []
    for _, group in samples.groupby(stratify, sort=True):
        members = group["sample"].to_numpy().copy()
        rng.shuffle(members)
        offset = rng.random()
        ids.extend(members.tolist())
        keys.extend(((np.arange(len(members)) + offset) / len(members)).tolist())
    ordered = [ids[i] for i in np.argsort(np.asarray(keys), kind="stable")]
    cut = np.cumsum([n_holdout, n_validation, n_public])
    splits = {"holdout": ordered[:cut[0]], "validation": ordered[cut[0]:cut[1]],
              "public": ordered[cut[1]:cut[2]], "train": ordered[cut[2]:]}
    order = {s: i for i, s in enumerate(samples["sample"])}
    return {name: sorted(splits[name], key=order.get) for name in SPLITS}
