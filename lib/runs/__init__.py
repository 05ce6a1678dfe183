"""Work on a run directory: where each artefact lives and how it is read back, training and sampling
experiments shared by chapters, private training on several processes, and what the book calls its
cohorts and settings.

Modules:

- :mod:`lib.runs.artefacts` -- where each artefact of a run lives and how later chapters read it back;
  each family's main tokenizer, the context sized from the public people;
- :mod:`lib.runs.experiments` -- training and sampling experiments on a run, shared by chapters 03, 04
  and 06: the public bases, a model trained on the run's splits and saved with its history,
  cohorts synthesized and written, the first look at them;
- :mod:`lib.runs.glossary` -- what the book calls its reference cohorts, families and headline metrics,
  and the setting a cohort belongs to (read by chapters 05 to 07);
- :mod:`lib.runs.distributed` -- private training on several processes (torchrun, Opacus DPDDP);
"""
