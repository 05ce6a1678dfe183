"""Differential privacy: how ε is written, DP-SGD set up in one place, per-person gradients, dp-
transformers on today's libraries, the private baselines at the same (ε, δ).

Modules:

- :mod:`lib.dp.budget` -- how ε is written: in artefact names (``eps8``), on charts and in tables
  (``∞``, ``8``, the clip-only label), and the order of ε labels;
- :mod:`lib.dp.privacy` -- DP-SGD set up in one place (Poisson sampling, accounting, seeded or
  secure randomness, ``privacy.json``);
- :mod:`lib.dp.grad_samplers` -- per-person gradients under Opacus for both families;
- :mod:`lib.dp.dp_transformers_compat` -- dp-transformers 1.0.0 on today's libraries, per-person loss;
- :mod:`lib.dp.baselines` -- private baselines at the same (ε, δ) as the models: private
  independent sites (Gaussian mechanism on per-person-bounded record counts);
"""
