"""People's genomes as data: a cohort in memory, VCFs in and out, the 1000 Genomes release and a
simulated one, the splits, the panel of sites, and a person as text records.

Modules:

- :mod:`lib.genomes.cohort` -- the in-memory cohort (sites x people x 2 alleles);
- :mod:`lib.genomes.vcf` -- reading a VCF robustly (quirks repaired or reported, per-split site
  counts in one pass), reading a site list, writing a VCF with pysam;
- :mod:`lib.genomes.simulate` -- a 1000-Genomes-like cohort from stdpopsim's Out-of-Africa model;
- :mod:`lib.genomes.download` -- the 1000 Genomes phase 3 chr22 release from IGSR (resumable, checked);
- :mod:`lib.genomes.splits` -- members, validation, holdout and public people, from the sample table alone;
- :mod:`lib.genomes.panel` -- the panel from a declared site list or the public people, and its coverage;
- :mod:`lib.genomes.profiletext` -- a person as ``22:POS:REF>ALT_GT`` records, and records back to genotypes;
"""
