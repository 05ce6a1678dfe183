"""Work on a run directory: the run as one object, where each artefact lives and how it is read
back, what its synthetic cohorts are compared with, training and sampling experiments shared by
chapters, private training on several processes, and what the book calls its cohorts and settings.

Modules:

- :mod:`lib.runs.run` -- :class:`lib.runs.run.Run`, the run-directory contract as one object: where
  each artefact lives, the models and synthetic cohorts a run holds, the chapters' tables read back
  with their types (:data:`lib.runs.run.TABLES`), ``is_current`` and ``record`` on its manifest;
- :mod:`lib.runs.artefacts` -- how later chapters read a run's artefacts back (the cohort, splits,
  profiles, public panel, histories, synthetic cohorts) and how they are named; each family's main
  tokenizer, the context sized from the public people;
- :mod:`lib.runs.comparison` -- what a run's synthetic cohorts are compared with (the real people
  as dosage matrices, the four reference cohorts) and which of them are the main ones, read by
  chapters 05 to 07;
- :mod:`lib.runs.experiments` -- training and sampling experiments on a run, shared by chapters 03, 04
  and 06: the public bases, a model trained on the run's splits and saved with its history,
  cohorts synthesized and written, the first look at them;
- :mod:`lib.runs.glossary` -- what the book calls its reference cohorts, families and headline metrics,
  and the setting a cohort belongs to (read by chapters 05 to 07);
- :mod:`lib.runs.distributed` -- private training on several processes (torchrun, Opacus DPDDP);
"""
