"""Altair charts of the cohort statistics in :mod:`lib.stats`.

Each function turns one tidy frame from :mod:`lib.stats` into an Altair chart and does
nothing else: no display, no renderer (that is :mod:`lib.figures`). The charts stay small:
data are aggregated here (one row per population, bin or statistic, never per genotype)
and passed inline, so a chart embeds a few kilobytes into the book. Super-populations keep
one colour everywhere (:data:`SUPERPOPULATION_COLORS`, the Okabe-Ito colour-blind-safe
palette), and nothing is random, so the same frame gives the same chart spec.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from .stats import SUPERPOPULATIONS

#: Fixed colour per super-population (AFR, AMR, EAS, EUR, SAS, unknown).
SUPERPOPULATION_COLORS = {
    "AFR": "#E69F00",
    "AMR": "#D55E00",
    "EAS": "#009E73",
    "EUR": "#0072B2",
    "SAS": "#CC79A7",
    "unknown": "#999999",
}
COHORT_COLOR = "#0072B2"
REFERENCE_COLOR = "#999999"
WIDTH = 480


def superpopulation_color(title: str = "Super-population") -> alt.Color:
    """The colour encoding every population chart shares (fixed domain and range)."""
    return alt.Color("superpopulation:N", title=title,
                      scale=alt.Scale(domain=list(SUPERPOPULATIONS),
                                      range=[SUPERPOPULATION_COLORS[s] for s in SUPERPOPULATIONS]))


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; got {list(frame.columns)}")


def population_composition_chart(composition: pd.DataFrame, title: str = "Samples per population") -> alt.Chart:
    """Horizontal bars: samples per population, coloured by super-population.

    ``composition`` is :func:`lib.stats.population_composition` (columns
    ``superpopulation``, ``population``, ``n_samples``, ``fraction``). Populations are
    listed in the frame's order (grouped by super-population).
    """
    _require(composition, ["superpopulation", "population", "n_samples", "fraction"],
             "population_composition_chart")
    data = composition[["superpopulation", "population", "n_samples", "fraction"]].copy()
    order = data["population"].tolist()
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("n_samples:Q", title="Samples"),
        y=alt.Y("population:N", title="Population", sort=order),
        color=superpopulation_color(),
        tooltip=[alt.Tooltip("population:N", title="Population"),
                 alt.Tooltip("superpopulation:N", title="Super-population"),
                 alt.Tooltip("n_samples:Q", title="Samples"),
                 alt.Tooltip("fraction:Q", title="Share of cohort", format=".1%")],
    ).properties(width=WIDTH)


_MEASURES = {"n_non_ref": "Non-reference genotypes per sample",
             "n_het": "Heterozygous genotypes per sample",
             "n_hom_alt": "Homozygous-ALT genotypes per sample",
             "het_hom_ratio": "Het/hom-ALT ratio per sample"}


def variants_per_sample_chart(per_sample: pd.DataFrame, measure: str = "n_non_ref",
                              title: str | None = None) -> alt.LayerChart:
    """Box plot per population of a per-sample count, coloured by super-population.

    ``per_sample`` is :func:`lib.stats.variants_per_sample`; ``measure`` one of its count
    columns (``n_non_ref``, ``n_het``, ``n_hom_alt``, ``het_hom_ratio``). The boxes are
    computed here (quartiles per population; whiskers span min to max), so the chart
    carries one row per population rather than one per sample: a rule (min-max), a bar
    (q1-q3) and a white tick (median).
    """
    _require(per_sample, ["population", "superpopulation", measure], "variants_per_sample_chart")
    grouped = per_sample.groupby(["superpopulation", "population"], sort=False)[measure]
    stats = grouped.agg(n="count", min="min", q1=lambda s: s.quantile(0.25), median="median",
                        q3=lambda s: s.quantile(0.75), max="max").reset_index()
    label = _MEASURES.get(measure, measure)
    rank = {s: i for i, s in enumerate(SUPERPOPULATIONS)}
    stats["_rank"] = stats["superpopulation"].map(lambda s: rank.get(s, len(rank)))
    stats = stats.sort_values(["_rank", "population"]).drop(columns="_rank").reset_index(drop=True)
    order = stats["population"].tolist()
    base = alt.Chart(stats, title=title or label).encode(
        x=alt.X("population:N", title="Population", sort=order),
        tooltip=[alt.Tooltip("population:N", title="Population"),
                 alt.Tooltip("superpopulation:N", title="Super-population"),
                 alt.Tooltip("n:Q", title="Samples"),
                 alt.Tooltip("min:Q", title="Min", format=",.4~g"),
                 alt.Tooltip("q1:Q", title="Lower quartile", format=",.4~g"),
                 alt.Tooltip("median:Q", title="Median", format=",.4~g"),
                 alt.Tooltip("q3:Q", title="Upper quartile", format=",.4~g"),
                 alt.Tooltip("max:Q", title="Max", format=",.4~g")],
    )
    whisker = base.mark_rule().encode(
        y=alt.Y("min:Q", title=label, scale=alt.Scale(zero=False)), y2="max:Q",
        color=superpopulation_color())
    box = base.mark_bar(size=14).encode(y="q1:Q", y2="q3:Q", color=superpopulation_color())
    median = base.mark_tick(color="white", size=14, thickness=2).encode(y="median:Q")
    return alt.layer(whisker, box, median).properties(width=WIDTH)


def allele_frequency_spectrum_chart(spectrum: pd.DataFrame, log_scale: bool = False,
                                    title: str = "Allele-frequency spectrum",
                                    frequency_title: str = "Minor allele frequency") -> alt.Chart:
    """Bars: sites per allele-frequency bin (the ``"spectrum"`` of
    :func:`lib.stats.allele_frequency_spectrum`: ``bin``, ``order``, ``n_sites``,
    ``fraction``). ``log_scale=True`` puts the count on a symmetric-log axis (zero counts
    stay drawable), which shows the rare bins and the common ones together.
    """
    _require(spectrum, ["bin", "order", "n_sites", "fraction"], "allele_frequency_spectrum_chart")
    data = spectrum[["bin", "order", "n_sites", "fraction"]].sort_values("order")
    scale = alt.Scale(type="symlog") if log_scale else alt.Scale()
    return alt.Chart(data, title=title).mark_bar(color=COHORT_COLOR).encode(
        x=alt.X("bin:N", title=frequency_title, sort=data["bin"].tolist(),
                axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("n_sites:Q", title="Sites" + (" (symmetric log scale)" if log_scale else ""),
                scale=scale),
        tooltip=[alt.Tooltip("bin:N", title="Frequency bin"),
                 alt.Tooltip("n_sites:Q", title="Sites", format=","),
                 alt.Tooltip("fraction:Q", title="Share of sites", format=".1%")],
    ).properties(width=WIDTH)


def site_frequency_spectrum_chart(sfs: pd.DataFrame, max_count: int | None = 50,
                                  log_scale: bool = False,
                                  title: str = "Folded site-frequency spectrum") -> alt.Chart:
    """Bars: sites per minor allele count (the ``"sfs"`` of
    :func:`lib.stats.allele_frequency_spectrum`), up to ``max_count`` copies (None: all).
    """
    _require(sfs, ["minor_allele_count", "n_sites", "fraction"], "site_frequency_spectrum_chart")
    data = sfs[["minor_allele_count", "n_sites", "fraction"]]
    if max_count is not None:
        data = data[data["minor_allele_count"] <= max_count]
    scale = alt.Scale(type="symlog") if log_scale else alt.Scale()
    return alt.Chart(data, title=title).mark_bar(color=COHORT_COLOR).encode(
        x=alt.X("minor_allele_count:O", title="Minor allele count (copies in the cohort)"),
        y=alt.Y("n_sites:Q", title="Sites" + (" (symmetric log scale)" if log_scale else ""),
                scale=scale),
        tooltip=[alt.Tooltip("minor_allele_count:O", title="Minor allele count"),
                 alt.Tooltip("n_sites:Q", title="Sites", format=","),
                 alt.Tooltip("fraction:Q", title="Share of sites", format=".1%")],
    ).properties(width=WIDTH)


def variant_types_chart(summary: pd.DataFrame, title: str = "Variant types") -> alt.Chart:
    """Bars: the share of sites in each class (:func:`lib.stats.variant_type_summary`,
    columns ``type``, ``count``, ``fraction``). The ``records`` row is left out (it is the
    denominator); a site can be in several classes, so the bars need not sum to 100%.
    """
    _require(summary, ["type", "count", "fraction"], "variant_types_chart")
    data = summary.loc[summary["type"] != "records", ["type", "count", "fraction"]]
    return alt.Chart(data, title=title).mark_bar(color=COHORT_COLOR).encode(
        x=alt.X("fraction:Q", title="Share of sites", axis=alt.Axis(format="%")),
        y=alt.Y("type:N", title="Variant type", sort=data["type"].tolist()),
        tooltip=[alt.Tooltip("type:N", title="Type"),
                 alt.Tooltip("count:Q", title="Sites", format=","),
                 alt.Tooltip("fraction:Q", title="Share of sites", format=".2%")],
    ).properties(width=WIDTH)


def density_chart(density: pd.DataFrame, contig: str = "22",
                  title: str | None = None) -> alt.Chart:
    """Bars along the chromosome: variant sites per window (:func:`lib.stats.density`,
    columns ``start_mb``, ``end_mb``, ``n_variants``, ``variants_per_mb``); x in Mb.
    """
    _require(density, ["start_mb", "end_mb", "n_variants", "variants_per_mb"], "density_chart")
    data = density[["start_mb", "end_mb", "n_variants", "variants_per_mb"]]
    return alt.Chart(data, title=title or f"Variant density along chromosome {contig}").mark_bar(
        color=COHORT_COLOR, binSpacing=0).encode(
        x=alt.X("start_mb:Q", title=f"Position on chr{contig.removeprefix('chr')} (Mb)",
                scale=alt.Scale(domain=[0, float(data["end_mb"].max()) if len(data) else 1])),
        x2="end_mb:Q",
        y=alt.Y("n_variants:Q", title="Variant sites per window", scale=alt.Scale(domainMin=0)),
        y2=alt.datum(0),
        tooltip=[alt.Tooltip("start_mb:Q", title="From (Mb)", format=".2f"),
                 alt.Tooltip("end_mb:Q", title="To (Mb)", format=".2f"),
                 alt.Tooltip("n_variants:Q", title="Sites", format=","),
                 alt.Tooltip("variants_per_mb:Q", title="Sites per Mb", format=",.1f")],
    ).properties(width=WIDTH)


def comparison_chart(comparison: pd.DataFrame, title: str = "This cohort and the 1000 Genomes reference") -> alt.Chart:
    """Grouped bars: each fraction of :func:`lib.stats.compare_with_reference` for the
    cohort and the reference side by side (counts and Ts/Tv, on other scales, are left
    to the table). The first value column is taken as the cohort, the second as the
    reference; colours: cohort blue, reference grey.
    """
    _require(comparison, ["statistic", "kind"], "comparison_chart")
    sources = [c for c in comparison.columns if c not in ("statistic", "kind")]
    if len(sources) != 2:
        raise ValueError(f"comparison_chart needs exactly two value columns; got {sources}")
    rows = comparison[comparison["kind"] == "fraction"]
    long = rows.melt(id_vars=["statistic"], value_vars=sources, var_name="source",
                     value_name="value").dropna(subset=["value"])
    order = rows["statistic"].tolist()
    color = alt.Color("source:N", title=None, sort=sources,
                      scale=alt.Scale(domain=sources, range=[COHORT_COLOR, REFERENCE_COLOR]),
                      legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
    return alt.Chart(long, title=title).mark_bar().encode(
        y=alt.Y("statistic:N", title=None, sort=order),
        yOffset=alt.YOffset("source:N", sort=sources),
        x=alt.X("value:Q", title="Share", axis=alt.Axis(format="%")),
        color=color,
        tooltip=[alt.Tooltip("statistic:N", title="Statistic"),
                 alt.Tooltip("source:N", title="Data"),
                 alt.Tooltip("value:Q", title="Value", format=".2%")],
    ).properties(width=WIDTH)


def pca_chart(scores: pd.DataFrame, explained=None, title: str = "Population structure (PCA)") -> alt.Chart:
    """Scatter of PC1 against PC2 (:func:`lib.stats.pca`), one point per person, coloured by
    super-population; the axis titles give the share of variance each component explains."""
    _require(scores, ["sample", "population", "superpopulation", "PC1", "PC2"], "pca_chart")
    label = (lambda k: f"PC{k} ({explained[k - 1]:.1%} of variance)") if explained is not None else (lambda k: f"PC{k}")
    data = scores[["sample", "population", "superpopulation", "PC1", "PC2"]].round({"PC1": 4, "PC2": 4})
    return alt.Chart(data, title=title).mark_circle(size=30, opacity=0.7).encode(
        x=alt.X("PC1:Q", title=label(1)),
        y=alt.Y("PC2:Q", title=label(2)),
        color=superpopulation_color(),
        tooltip=[alt.Tooltip("sample:N", title="Sample"), alt.Tooltip("population:N", title="Population"),
                 alt.Tooltip("superpopulation:N", title="Super-population")],
    ).properties(width=WIDTH, height=WIDTH * 0.75)


PROFILE_COLORS = {"dense": COHORT_COLOR, "sparse": "#E69F00"}


def tokens_per_sample_chart(lengths: pd.DataFrame, title: str = "Tokens per sample") -> alt.Chart:
    """Dot plot: mean tokens per sample for each tokenizer and profile kind, on a log axis.

    ``lengths`` is :func:`lib.tokenization.length_table` (columns ``tokenizer``,
    ``profile``, ``vocabulary``, ``mean tokens``, ``max tokens``). Dots, not bars: a bar on
    a log scale has no zero to start from, and Vega-Lite then draws no bar at all.
    Tokenizers are listed in the frame's order; dense profiles blue, sparse orange.
    """
    _require(lengths, ["tokenizer", "profile", "vocabulary", "mean tokens", "max tokens"],
             "tokens_per_sample_chart")
    data = lengths[["tokenizer", "profile", "vocabulary", "mean tokens", "max tokens"]].copy()
    if (data["mean tokens"] <= 0).any():
        raise ValueError("tokens_per_sample_chart: mean tokens must be positive (log scale)")
    profiles = list(dict.fromkeys([*(p for p in PROFILE_COLORS if p in set(data["profile"])),
                                   *data["profile"]]))
    palette = [PROFILE_COLORS.get(p, REFERENCE_COLOR) for p in profiles]
    return alt.Chart(data, title=title).mark_circle(size=90, opacity=1).encode(
        x=alt.X("mean tokens:Q", title="Mean tokens per sample (log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("tokenizer:N", title=None, sort=data["tokenizer"].drop_duplicates().tolist()),
        yOffset=alt.YOffset("profile:N", sort=profiles),
        color=alt.Color("profile:N", title="Profile", sort=profiles,
                        scale=alt.Scale(domain=profiles, range=palette)),
        tooltip=[alt.Tooltip("tokenizer:N", title="Tokenizer"),
                 alt.Tooltip("profile:N", title="Profile"),
                 alt.Tooltip("mean tokens:Q", title="Mean tokens", format=",.0f"),
                 alt.Tooltip("max tokens:Q", title="Max tokens", format=","),
                 alt.Tooltip("vocabulary:Q", title="Vocabulary (ids)", format=",")],
    ).properties(width=WIDTH)


def auc_chart(results: pd.DataFrame,
              title: str = "Membership test on the vocabulary alone (members vs holdout)") -> alt.LayerChart:
    """AUC per tokenizer with its bootstrap interval, and a dashed line at chance (0.5).

    ``results`` is the first frame of :func:`lib.vocab_privacy.compare_vocabularies`
    (columns ``tokenizer``, ``auc``, ``ci_low``, ``ci_high``, ``n_specific_tokens``): one
    dot and one interval rule per row, tokenizers in the frame's order, x from 0 to 1.
    """
    _require(results, ["tokenizer", "auc", "ci_low", "ci_high", "n_specific_tokens"], "auc_chart")
    data = results[["tokenizer", "auc", "ci_low", "ci_high", "n_specific_tokens"]].copy()
    order = data["tokenizer"].tolist()
    x = alt.X("auc:Q", title="AUC (0.5 = chance)", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("tokenizer:N", title=None, sort=order)
    tooltip = [alt.Tooltip("tokenizer:N", title="Tokenizer"),
               alt.Tooltip("auc:Q", title="AUC", format=".3f"),
               alt.Tooltip("ci_low:Q", title="95% CI, low", format=".3f"),
               alt.Tooltip("ci_high:Q", title="95% CI, high", format=".3f"),
               alt.Tooltip("n_specific_tokens:Q", title="Member-specific tokens", format=",")]
    base = alt.Chart(data)
    interval = base.mark_rule(color=COHORT_COLOR, strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="AUC (0.5 = chance)", scale=alt.Scale(domain=[0, 1])),
        x2="ci_high:Q", y=y, tooltip=tooltip)
    dots = base.mark_circle(size=90, opacity=1, color=COHORT_COLOR).encode(x=x, y=y, tooltip=tooltip)
    chance = alt.Chart(pd.DataFrame({"auc": [0.5]})).mark_rule(strokeDash=[4, 4], color=REFERENCE_COLOR).encode(
        x=alt.X("auc:Q"))
    return alt.layer(chance, interval, dots, title=title).properties(width=WIDTH)


__all__ = [
    "SUPERPOPULATION_COLORS", "superpopulation_color", "population_composition_chart",
    "variants_per_sample_chart", "allele_frequency_spectrum_chart",
    "site_frequency_spectrum_chart", "variant_types_chart", "density_chart",
    "comparison_chart", "pca_chart", "PROFILE_COLORS", "tokens_per_sample_chart", "auc_chart",
]


# --------------------------------------------------------------------------------------
# The models chapters (lib.ch03_models, lib.ch04_dp_training)
# --------------------------------------------------------------------------------------

SPLIT_DASH = {"train": [1, 0], "validation": [5, 3]}


def loss_curves_chart(losses: pd.DataFrame, title: str = "Loss per epoch") -> alt.Chart:
    """Lines: mean next-token loss per epoch, one colour per model, solid for the
    training split and dashed for the validation split.

    ``losses`` is :func:`lib.ch03_models.loss_frame` (columns ``model``, ``epoch``,
    ``split``, ``loss``). Models are listed in the frame's order. Models with different
    tokenizers predict different units (a variant token is not a BPE piece), so their
    losses are compared within a model, not across tokenizers.
    """
    _require(losses, ["model", "epoch", "split", "loss"], "loss_curves_chart")
    data = losses[["model", "epoch", "split", "loss"]].copy()
    order = data["model"].drop_duplicates().tolist()
    splits = [s for s in SPLIT_DASH if s in set(data["split"])]
    return alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X("epoch:O", title="Epoch"),
        y=alt.Y("loss:Q", title="Loss (nats per token)", scale=alt.Scale(zero=False)),
        color=alt.Color("model:N", title="Model", sort=order),
        strokeDash=alt.StrokeDash("split:N", title="Split", sort=splits,
                                  scale=alt.Scale(domain=splits, range=[SPLIT_DASH[s] for s in splits])),
        detail="split:N",
        tooltip=[alt.Tooltip("model:N", title="Model"), alt.Tooltip("split:N", title="Split"),
                 alt.Tooltip("epoch:O", title="Epoch"), alt.Tooltip("loss:Q", title="Loss", format=".3f")],
    ).properties(width=WIDTH)


def af_scatter_chart(frequencies: pd.DataFrame, reference: str = "holdout",
                     title: str = "Allele frequency: synthetic against real") -> alt.VConcatChart:
    """Scatter, one panel per model (two per row): each panel site's ALT allele frequency in the real
    ``reference`` cohort (x) and in the synthetic one (y), with the diagonal y = x.

    ``frequencies`` is :func:`lib.utility.af_frame` (columns ``model``, ``site``,
    ``real_af``, ``synthetic_af``): one point per site and model, both axes 0 to 1.
    """
    _require(frequencies, ["model", "site", "real_af", "synthetic_af"], "af_scatter_chart")
    data = frequencies[["model", "site", "real_af", "synthetic_af"]].copy()
    order = data["model"].drop_duplicates().tolist()
    axis = alt.Scale(domain=[0, 1])
    points = alt.Chart().mark_circle(size=18, opacity=0.5, color=COHORT_COLOR).encode(
        x=alt.X("real_af:Q", title=f"ALT allele frequency, real ({reference})", scale=axis),
        y=alt.Y("synthetic_af:Q", title="ALT allele frequency, synthetic", scale=axis),
        tooltip=[alt.Tooltip("site:N", title="Site"),
                 alt.Tooltip("real_af:Q", title="Real", format=".3f"),
                 alt.Tooltip("synthetic_af:Q", title="Synthetic", format=".3f")])
    line = alt.Chart(pd.DataFrame({"real_af": [0.0, 1.0], "synthetic_af": [0.0, 1.0]})).mark_line(
        strokeDash=[4, 4], color=REFERENCE_COLOR).encode(x="real_af:Q", y="synthetic_af:Q")
    size = WIDTH * 0.45
    panels = [alt.layer(line, points.properties(data=data[data["model"] == m]),
                        title=m).properties(width=size, height=size) for m in order]
    rows = [alt.hconcat(*panels[i:i + 2]) for i in range(0, len(panels), 2)]
    if not rows:
        raise ValueError("af_scatter_chart: no model to draw")
    return alt.vconcat(*rows, title=title)


__all__ += ["SPLIT_DASH", "loss_curves_chart", "af_scatter_chart"]


# --------------------------------------------------------------------------------------
# The private-training chapter
# --------------------------------------------------------------------------------------

def epsilon_label(epsilon: float | str) -> str:
    """How an epsilon is written on a chart: ``"∞"`` for a non-private model, else the
    number as short as it reads (``8``, ``0.5``)."""
    value = float(epsilon)
    return "∞" if value == float("inf") else f"{value:g}"


#: The label of the clip-only run (DP-SGD's batches and clipping without noise: no guarantee).
CLIP_ONLY_LABEL = "∞, clip only"


def _epsilon_order(labels) -> list[str]:
    """Most private first (1, 3, 8, then the clip-only run, then ∞)."""
    rank = {"∞": (2, 0.0), CLIP_ONLY_LABEL: (1, 0.0)}
    return sorted(set(labels), key=lambda label: rank[label] if label in rank else (0, float(label)))


def dp_epoch_chart(frame: pd.DataFrame, value: str, y_title: str, title: str,
                   dashed_by: str | None = None, y_format: str = ".3f", x: str = "epoch") -> alt.FacetChart:
    """Lines per epoch (or against ``x="steps"``, optimizer steps), one colour per epsilon,
    one panel per model family.

    ``frame`` has columns ``family``, ``epsilon`` (a label, :func:`epsilon_label`), ``x``
    and ``value``; ``dashed_by`` names a column whose values get solid and dashed lines
    (``split``: ``train`` solid, ``validation`` dashed)."""
    if x not in ("epoch", "steps"):
        raise ValueError(f"x={x!r}: choose 'epoch' or 'steps'")
    columns = ["family", "epsilon", x, value] + ([dashed_by] if dashed_by else [])
    _require(frame, columns, "dp_epoch_chart")
    data = frame[columns].dropna(subset=[value]).copy()
    order = _epsilon_order(data["epsilon"])
    encoding = dict(
        x=alt.X("epoch:O", title="Epoch") if x == "epoch" else alt.X("steps:Q", title="Optimizer steps"),
        y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("epsilon:N", title="ε", sort=order, scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("epsilon:N", title="ε"),
                 alt.Tooltip(f"{x}:Q" if x == "steps" else "epoch:O", title=x.capitalize()),
                 alt.Tooltip(f"{value}:Q", title=y_title, format=y_format)])
    if dashed_by:
        kinds = [k for k in SPLIT_DASH if k in set(data[dashed_by])]
        encoding["strokeDash"] = alt.StrokeDash(f"{dashed_by}:N", title=dashed_by.capitalize(), sort=kinds,
                                                scale=alt.Scale(domain=kinds, range=[SPLIT_DASH[k] for k in kinds]))
        encoding["detail"] = f"{dashed_by}:N"
        encoding["tooltip"].append(alt.Tooltip(f"{dashed_by}:N", title=dashed_by.capitalize()))
    families = data["family"].drop_duplicates().tolist()
    return alt.Chart(data).mark_line(point=True).encode(**encoding).properties(
        width=WIDTH // 2 + 20, height=220).facet(column=alt.Column("family:N", title=None, sort=families),
                                                 title=title)


def loss_against_epsilon_chart(summary: pd.DataFrame, value: str = "best_val_loss",
                               y_title: str = "Best validation loss (nats per token)",
                               title: str = "What privacy costs: validation loss against ε") -> alt.Chart:
    """Points and lines: one line per model family, ε on an ordinal axis from the most
    private to ∞ (so the non-private model sits at the right end, not off a log scale).
    ``summary`` has columns ``family``, ``epsilon`` (label) and ``value``."""
    _require(summary, ["family", "epsilon", value], "loss_against_epsilon_chart")
    data = summary[["family", "epsilon", value]].copy()
    return alt.Chart(data, title=title).mark_line(point=alt.OverlayMarkDef(size=70)).encode(
        x=alt.X("epsilon:O", title="ε (privacy budget; ∞ = not private)", sort=_epsilon_order(data["epsilon"])),
        y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("family:N", title="Model"),
        tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("epsilon:N", title="ε"),
                 alt.Tooltip(f"{value}:Q", title=y_title, format=".3f")],
    ).properties(width=WIDTH)
