"""The ground every other package stands on: the run directory and its manifest, the profiles,
independent jobs side by side, and the general scoring statistics (no genetics, no models).

Modules:

- :mod:`lib.core.rundir` -- the run directory contract, atomic writes, the manifest;
- :mod:`lib.core.profiles` -- the ``smoke``, ``quick`` and ``full`` profiles (sizes and data sets);
- :mod:`lib.core.parallel` -- independent jobs (trainings) side by side, one thread each, the same
  numbers however many run at once;
- :mod:`lib.core.scoring` -- general scoring statistics: the bootstrap, ROC AUC, the AUC of fixed
  scores with its interval, balanced accuracy (used by the metrics and the attacks);
"""
