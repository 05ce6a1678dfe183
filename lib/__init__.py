"""Differentially-private language models for synthetic genetic-variant profiles.

The package the book's chapters import (``import lib``; ``make`` installs it into ``.venv``). It has
one module per *chapter*, holding that chapter's steps so that a notebook cell is one call,
and one module per *concern* below them. Imports run one way: a concern never imports a
chapter module, a chapter module only earlier chapters' (``tests/test_lib_structure.py``).

The chapters (``book/<NN>_<name>.ipynb`` -> ``lib/ch<NN>_<name>.py``):

- :mod:`lib.ch01_data`        a cohort (simulated, a VCF, the 1000 Genomes release), its splits,
  the panel of sites chosen from public information only, what the panel costs the
  members, the profiles -- into ``cohort/`` and ``diagnostics/``;
- :mod:`lib.ch02_tokenization`  the tokenizers (from public information only), their
  lengths, and what a vocabulary discloses (each recipe built with and without members);
- :mod:`lib.ch03_models`      minGPT and GPT-2 without privacy (trained and sampled through
  :mod:`lib.experiments`), their synthetic cohorts, a first look;
- :mod:`lib.ch04_dp_training` the same models under DP-SGD along an ε grid, the accountants,
  GPT-2 through dp-transformers beside the Opacus path, their synthetic cohorts;
- :mod:`lib.ch05_utility`     every synthetic cohort against the real holdout, framed by three
  reference cohorts: one tidy table of every metric, the figures, the dissertation's findings;
- :mod:`lib.ch06_privacy`     every model and released cohort attacked (members against the holdout,
  reference models on public people trained as the target was, DP included; the primary attack
  declared in the profile; the dissertation's protocol replayed), empirical against accountant ε
  with each check's ceiling, the privacy-utility frontier;
- :mod:`lib.ch07_results`     the results page: the chapters' tables read back, the headline
  tables and figures, the dissertation's claims beside what was measured;
- :mod:`lib.ch08_record`      the appendix: the run's manifest (chapters, inputs, packages,
  every artefact's checksum, checked on disk).

The concerns, roughly bottom to top:

- :mod:`lib.rundir`       the run directory contract, atomic writes, the manifest;
- :mod:`lib.budget`       how ε is written: in artefact names (``eps8``), on charts and in tables
  (``∞``, ``8``, the clip-only label), and the order of ε labels;
- :mod:`lib.profiles`     the ``smoke``, ``quick`` and ``full`` profiles (sizes and data sets);
- :mod:`lib.cohort`       the in-memory cohort (sites x people x 2 alleles);
- :mod:`lib.vcf`          reading a VCF robustly (quirks repaired or reported, per-split site
  counts in one pass), reading a site list, writing a VCF with pysam;
- :mod:`lib.simulate`     a 1000-Genomes-like cohort from stdpopsim's Out-of-Africa model;
- :mod:`lib.download`     the 1000 Genomes phase 3 chr22 release from IGSR (resumable, checked);
- :mod:`lib.splits`       members, validation, holdout and public people, from the sample table alone;
- :mod:`lib.panel`        the panel from a declared site list or the public people, and its coverage;
- :mod:`lib.profiletext`  a person as ``22:POS:REF>ALT_GT`` records, and records back to genotypes;
- :mod:`lib.stats`        cohort statistics (variant types, Ts/Tv, AFS, density, PCA), bcftools stats;
- :mod:`lib.charts`       every chapter's Altair charts (tidy frame in, chart out);
- :mod:`lib.figures`      the offline Altair renderer, glued numbers;
- :mod:`lib.tokenization` character, BPE, variant (two tokens a record), record (one) and
  GPT-2 tokenizers (Hugging Face);
- :mod:`lib.vocab_privacy` what a tokenizer's vocabulary discloses about the people it saw;
- :mod:`lib.artefacts`    where each artefact of a run lives and how later chapters read it back;
  each family's main tokenizer, the context sized from the public people;
- :mod:`lib.models`       the minGPT-style GPT and GPT-2: building, saving, loading; GPT-2's
  ``Conv1D`` as ``nn.Linear`` for Opacus;
- :mod:`lib.training`     the one training loop (private or not; checkpoints, early stopping);
- :mod:`lib.experiments`  training and sampling experiments on a run, shared by chapters 03, 04
  and 06: the public bases, a model trained on the run's splits and saved with its history,
  cohorts synthesized and written, the first look at them;
- :mod:`lib.grad_samplers` per-person gradients under Opacus for both families;
- :mod:`lib.privacy`      DP-SGD set up in one place (Poisson sampling, accounting, seeded or
  secure randomness, ``privacy.json``);
- :mod:`lib.baselines`    private baselines at the same (ε, δ) as the models: private
  independent sites (Gaussian mechanism on per-person-bounded record counts);
- :mod:`lib.glossary`     what the book calls its reference cohorts, families and headline metrics,
  and the setting a cohort belongs to (read by chapters 05 to 07);
- :mod:`lib.evidence`     standards of evidence: seed-level estimates (the mean over training
  seeds with an interval that carries their spread and the per-model bootstrap), comparisons
  with a Bonferroni correction, verdicts read by printed rules (:class:`lib.evidence.Claim`);
- :mod:`lib.parallel`     independent jobs (trainings) side by side, one thread each, the same
  numbers however many run at once;
- :mod:`lib.audit`        privacy audits: epsilon lower bounds from membership inference
  (Clopper-Pearson; the best of several attacks at a Bonferroni level), the one-run audit of
  Steinke et al. 2023, exposure, and the ceiling of each (the most its sample can prove);
- :mod:`lib.mia`          membership inference: model and synthetic-cohort signals, attacks fit on
  the attacker's own reference models (threshold, classifiers, LiRA, RMIA, density ratio), one
  evaluation (AUC with interval, TPR at low FPR, the empirical epsilon bound), and the best of
  several attacks with an interval that pays for choosing it (a max-statistic bootstrap);
- :mod:`lib.distributed`  private training on several processes (torchrun, Opacus DPDDP);
- :mod:`lib.dp_transformers_compat`  dp-transformers 1.0.0 on today's libraries, per-person loss;
- :mod:`lib.generation`   sampling with a key/value cache, constrained decoding, validity;
- :mod:`lib.utility`      how close a synthetic cohort comes to real people: the first look, the
  utility suite (:data:`lib.utility.METRICS`, every metric of chapter 05 for one cohort with
  :func:`lib.utility.cohort_metrics`), the dissertation's record-level metrics (validity,
  quality, memorisation, variant types) and plausibility;
- :mod:`lib.scoring`      general scoring statistics: the bootstrap, ROC AUC, the AUC of fixed
  scores with its interval, balanced accuracy (used by the metrics and the attacks);
- :mod:`lib.popgen`       population-genetic comparisons on dosage matrices: allele frequencies,
  linkage, PCA fit on real people, Hardy-Weinberg, Fst, heterozygosity, distances, AATS, KING
  kinship, populations inferred for unlabelled people, TSTR, the classifier two-sample test,
  reference cohorts;
- :mod:`lib.book`         the runner: papermill over the chapters of ``_toc.yml``, then jupyter-book.
"""

__version__ = "0.2.0"
