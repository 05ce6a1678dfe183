"""Differentially-private language models for synthetic genetic-variant profiles.

The package the book's chapters import (``import lib`` from the repository root).
One module per concern, each read top to bottom like a chapter of the method:

- :mod:`lib.profiles`  sizes of the ``smoke``, ``quick`` and ``full`` profiles;
- :mod:`lib.rundir`    the run directory contract, atomic writes, the manifest;
- :mod:`lib.cohort`    the in-memory cohort (sites x samples x 2 genotypes);
- :mod:`lib.vcf`       reading a VCF robustly (reporting or repairing quirks), writing one with pysam;
- :mod:`lib.simulate`  a 1000-Genomes-like cohort from stdpopsim's Out-of-Africa model;
- :mod:`lib.download`  the 1000 Genomes phase 3 chr22 VCF and panel from IGSR;
- :mod:`lib.data`      the data chapter's pipeline: panel, profiles, splits;
- :mod:`lib.stats`     cohort statistics (variant types, Ts/Tv, AFS, density, PCA) and bcftools stats;
- :mod:`lib.charts`    the Altair charts of those statistics;
- :mod:`lib.tokenization`  the four tokenizers (character, BPE, panel-derived variant, GPT-2);
- :mod:`lib.vocab_privacy` what a tokenizer's vocabulary discloses about its training members;
- :mod:`lib.models`    the minGPT-style GPT and GPT-2: building, saving, loading;
- :mod:`lib.training`  the one training loop (checkpoints, resume, early stopping);
- :mod:`lib.generation` sampling with a KV cache, constrained decoding, the synthetic VCF;
- :mod:`lib.figures`   the offline Altair renderer used by the book;
- :mod:`lib.book`      the runner: papermill over the chapters, then ``jupyter-book build``.
"""

__version__ = "0.1.0"
