"""How the book writes a privacy budget ε, in one place (``from lib import budget``).

- :func:`name_text`: ε inside an artefact's name (``mingpt-eps8``, ``gpt2-epsinf``):
  ``inf``, ``8``, ``0.5``; an ε that is not above 0 is refused.
- :func:`label`: ε on a chart, in a table and in the prose: ``∞`` for a non-private model,
  else the number as short as it reads (``8``, ``0.5``); :data:`CLIP_ONLY_LABEL` for the
  clip-only run (DP-SGD's batches and clipping without noise: no guarantee).
- :func:`order`: labels most private first (1, 3, 8, then the clip-only run, then ∞).
"""
from __future__ import annotations

from collections.abc import Iterable

#: The label of the clip-only run (DP-SGD's batches and clipping without noise: no guarantee).
#: The clip-only run's name part and chart label: DP-SGD without its noise.
CLIP_ONLY = "cliponly"
CLIP_ONLY_LABEL = "∞, clip only"


def name_text(eps: float | str) -> str:
    """Epsilon as artefact names write it: ``inf``, ``8``, ``0.5``."""
    value = float(eps)
    if value == float("inf"):
        return "inf"
    if not value > 0:
        raise ValueError(f"epsilon={eps!r} must be above 0 (or inf: not private)")
    return f"{value:g}"


def label(epsilon: float | str) -> str:
    """How an epsilon reads on a chart or in a table: ``"∞"`` for a non-private model, else
    the number as short as it reads (``8``, ``0.5``)."""
    value = float(epsilon)
    return "∞" if value == float("inf") else f"{value:g}"


def order(labels: Iterable[str]) -> list[str]:
    """The distinct ``labels`` (of :func:`label` or :data:`CLIP_ONLY_LABEL`), most private
    first: 1, 3, 8, then the clip-only run, then ∞."""
    rank = {"∞": (2, 0.0), CLIP_ONLY_LABEL: (1, 0.0)}
    return sorted(set(labels), key=lambda text: rank[text] if text in rank else (0, float(text)))
