"""Evaluation: the utility suite for one cohort, membership-inference attacks, privacy audits and
the standards of evidence (seed-level estimates, verdicts read by printed rules).

Modules:

- :mod:`lib.evaluation.audit` -- privacy audits: epsilon lower bounds from membership inference
  (Clopper-Pearson; the best of several attacks at a Bonferroni level), the one-run audit of
  Steinke et al. 2023, exposure, and the ceiling of each (the most its sample can prove);
- :mod:`lib.evaluation.evidence` -- standards of evidence: seed-level estimates (the mean over training
  seeds with an interval that carries their spread and the per-model bootstrap), comparisons
  with a Bonferroni correction, verdicts read by printed rules (:class:`lib.evaluation.evidence.Claim`);
- :mod:`lib.evaluation.utility` -- how close a synthetic cohort comes to real people: the first look, the
  utility suite (:data:`lib.evaluation.utility.METRICS`, every metric of chapter 05 for one cohort with
  :func:`lib.evaluation.utility.cohort_metrics`), the dissertation's record-level metrics (validity,
  quality, memorisation, variant types) and plausibility;
- :mod:`lib.evaluation.mia` -- membership inference: model and synthetic-cohort signals, attacks fit on
  the attacker's own reference models (threshold, classifiers, LiRA, RMIA, density ratio), one
  evaluation (AUC with interval, TPR at low FPR, the empirical epsilon bound), and the best of
  several attacks with an interval that pays for choosing it (a max-statistic bootstrap);
"""
