"""Population genetics: statistics of a cohort and comparisons of a synthetic cohort with real
people on dosage matrices.

Modules:

- :mod:`lib.genetics.popgen` -- population-genetic comparisons on dosage matrices: allele frequencies,
  linkage, PCA fit on real people, Hardy-Weinberg, Fst, heterozygosity, distances, AATS, KING
  kinship, populations inferred for unlabelled people, TSTR, the classifier two-sample test,
  reference cohorts;
- :mod:`lib.genetics.stats` -- cohort statistics (variant types, Ts/Tv, AFS, density, PCA), bcftools stats;
"""
