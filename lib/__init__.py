"""Differentially-private language models for synthetic genetic-variant profiles.

The package the book's chapters import (``import lib``; ``make`` installs it into ``.venv``). It has
one module per *chapter* (``lib/chNN_<name>.py``), holding that chapter's steps so that a notebook
cell is one call, and below them eight packages of *concerns*, one idea per module. Imports run one
way: a concern never imports a chapter module, a chapter module only earlier chapters', a package
only the packages below it (``tests/test_lib_structure.py``).

The chapters (``book/<NN>_<name>.ipynb`` -> ``lib/ch<NN>_<name>.py``):

- :mod:`lib.ch01_data`        a cohort (simulated, a VCF, the 1000 Genomes release), its splits,
  the panel of sites chosen from public information only, what the panel costs the
  members, the profiles -- into ``cohort/`` and ``diagnostics/``;
- :mod:`lib.ch02_tokenization`  the tokenizers (from public information only), their
  lengths, and what a vocabulary discloses (each recipe built with and without members);
- :mod:`lib.ch03_models`      minGPT and GPT-2 without privacy (trained and sampled through
  :mod:`lib.runs.experiments`), their synthetic cohorts, a first look;
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

The packages below the chapters, bottom to top (a package imports only those above it in this
list; each package's ``__init__`` describes its modules):

- :mod:`lib.core`        the ground every other package stands on: rundir, profiles, parallel, scoring;
- :mod:`lib.genomes`     people's genomes as data: cohort, vcf, simulate, download, splits, panel, profiletext;
- :mod:`lib.genetics`    population genetics: popgen, stats;
- :mod:`lib.lm`          the language models: tokenization, vocab_privacy, models, training, generation;
- :mod:`lib.dp`          differential privacy: budget, privacy, grad_samplers, dp_transformers_compat, baselines;
- :mod:`lib.evaluation`  evaluation: audit, evidence, utility, mia;
- :mod:`lib.runs`        work on a run directory: run (the :class:`lib.runs.run.Run` object), artefacts,
  comparison, experiments, glossary, distributed;
- :mod:`lib.book`        the book: runner, charts, figures.
"""

__version__ = "0.2.0"
