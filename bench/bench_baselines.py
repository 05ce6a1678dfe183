"""The private baselines (lib.dp.baselines) on a run's real members: seconds per release and
how close each comes to real people, at every ε of the profile's grid, beside the
non-private reference drawn at the members' exact frequencies. Private independent sites
and MST (:func:`lib.dp.baselines.mst`, whose rows add the share of its tree's edges that join
neighbouring sites: linkage lives there, and a random tree on d sites has about 2 of d).

    python bench/bench_baselines.py [--run data/runs/quick] [--seeds 3]

For each ε of the run's profile grid and each seed: private independent sites
(:func:`lib.dp.baselines.private_independent_sites`, members = the run's training split, the
contribution bound from its public people) writes as many people as the validation split;
the table gives the contribution bound k, the noise multiplier σ and the noise's standard
deviation per count, the accountant's ε, the seconds (release and sampling), and the
allele-frequency correlation with the validation people (Pearson r of per-site ALT
frequencies, the utility chapter's AF r). The last row is the non-private "independent
sites" reference of the utility chapter (:func:`lib.genetics.popgen.independent_sites`, the members'
exact frequencies) on the same sites. The issue's budget: every baseline at every ε within
3 minutes of the quick book.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.runs import artefacts  # noqa: E402
from lib.dp import baselines
from lib.genetics import popgen
from lib.core import profiles
from lib.genomes import profiletext


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="data/runs/quick")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    run = Path(args.run)
    settings = profiles.resolve(args.profile)
    panel, phased = artefacts.load_panel(run)
    sites = profiletext.site_keys(panel)
    members = [list(v) for v in artefacts.split_profiles(run, "train")["variants"]]
    public = [list(v) for v in artefacts.split_profiles(run, "public")["variants"]]
    real = popgen.dosages(profiletext.to_cohort(
        [list(v) for v in artefacts.split_profiles(run, "validation")["variants"]], panel))
    truth = popgen.allele_frequencies(real)
    n = len(real)

    def af_r(d: np.ndarray) -> float:
        return float(np.corrcoef(popgen.allele_frequencies(d), truth)[0, 1])

    print(f"{len(members)} members, {len(public)} public people, {len(sites)} sites, {n} validation people; "
          f"members' records per person: median {np.median([len(p) for p in members]):.0f}, "
          f"max {max(len(p) for p in members)}")
    print(f"{'ε':>4} {'seed':>4} {'k':>4} {'σ':>7} {'noise sd':>9} {'ε (PRV)':>8} {'cut':>5} {'s':>6} {'AF r':>7}")
    total = 0.0
    for epsilon in settings["dp_epsilons"]:
        for seed in range(args.seeds):
            started = time.perf_counter()
            synthetic, record = baselines.private_independent_sites(
                members, public, sites, n, float(epsilon), float(settings["dp_delta"]), phased=phased, seed=seed)
            seconds = time.perf_counter() - started
            total += seconds
            d = popgen.dosages(profiletext.to_cohort(synthetic, panel))
            print(f"{epsilon:>4g} {seed:>4} {record['contribution_bound']:>4} {record['noise_multiplier']:>7.3f} "
                  f"{record['noise_std']:>9.1f} {record['epsilon']:>8.3f} "
                  f"{record[baselines.OUTSIDE]['members_cut']:>5} "
                  f"{seconds:>6.2f} {af_r(d):>7.3f}")
    print(f"MST: {'ε':>4} {'seed':>4} {'sd 1-way':>9} {'sd 2-way':>9} {'ε/round':>8} {'ε (zCDP)':>9} {'s':>6} "
          f"{'AF r':>7} {'neighbour edges':>16}")
    place = {site: i for i, site in enumerate(sites)}
    for epsilon in settings["dp_epsilons"]:
        for seed in range(args.seeds):
            started = time.perf_counter()
            synthetic, record = baselines.mst(members, sites, n, float(epsilon), float(settings["dp_delta"]),
                                              phased=phased, seed=seed)
            seconds = time.perf_counter() - started
            total += seconds
            d = popgen.dosages(profiletext.to_cohort(synthetic, panel))
            near = sum(abs(place[a] - place[b]) == 1 for a, b in record["edges"])
            print(f"     {epsilon:>4g} {seed:>4} {record['noise_std_one_way']:>9.1f} "
                  f"{record['noise_std_two_way']:>9.1f} "
                  f"{record['epsilon_per_round']:>8.4f} {record['epsilon']:>9.3f} {seconds:>6.1f} {af_r(d):>7.3f} "
                  f"{near:>6} of {len(record['edges'])}")
    reference = popgen.independent_sites(popgen.dosages(profiletext.to_cohort(members, panel)), n, seed=0)
    print(f"{'∞':>4} {'':>4} {'':>4} {'':>7} {'':>9} {'':>8} {'':>5} {'':>6} {af_r(reference):>7.3f}  "
          "(non-private independent sites, the members' exact frequencies)")
    print(f"all releases: {total:.1f} s")


if __name__ == "__main__":
    main()
