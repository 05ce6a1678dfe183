"""The book: the runner (papermill, then Jupyter Book), every chapter's charts and the offline
renderer.

Modules:

- :mod:`lib.book.runner` -- the runner: papermill over the chapters of ``_toc.yml``, then jupyter-book (``python -m
  lib.book``); also the Sphinx extension that builds a run's executed chapters;
- :mod:`lib.book.charts` -- every chapter's Altair charts (tidy frame in, chart out);
- :mod:`lib.book.figures` -- the offline Altair renderer, glued numbers;
"""
