"""Every chapter's Altair charts.

Each function turns one tidy frame (from :mod:`lib.genetics.stats` or a chapter module) into an
Altair chart and does nothing else: no display, no renderer (that is :mod:`lib.book.figures`). The charts stay small:
data are aggregated here (one row per population, bin or statistic, never per genotype)
and passed inline, so a chart embeds a few kilobytes into the book. Super-populations keep
one colour everywhere (:data:`SUPERPOPULATION_COLORS`, the Okabe-Ito colour-blind-safe
palette), and nothing is random, so the same frame gives the same chart spec.
"""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ..genomes.cohort import SUPERPOPULATIONS
from ..dp import budget

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

    ``composition`` is :func:`lib.genetics.stats.population_composition` (columns
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

    ``per_sample`` is :func:`lib.genetics.stats.variants_per_sample`; ``measure`` one of its count
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
    :func:`lib.genetics.stats.allele_frequency_spectrum`: ``bin``, ``order``, ``n_sites``,
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
    :func:`lib.genetics.stats.allele_frequency_spectrum`), up to ``max_count`` copies (None: all).
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
    """Bars: the share of sites in each class (:func:`lib.genetics.stats.variant_type_summary`,
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
    """Bars along the chromosome: variant sites per window (:func:`lib.genetics.stats.density`,
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
    """Grouped bars: each fraction of :func:`lib.genetics.stats.compare_with_reference` for the
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
    """Scatter of PC1 against PC2 (:func:`lib.genetics.stats.pca`), one point per person, coloured by
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

    ``lengths`` is :func:`lib.lm.tokenization.length_table` (columns ``tokenizer``,
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

    ``results`` is the first frame of :func:`lib.lm.vocab_privacy.compare_vocabularies`
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

    ``frequencies`` is :func:`lib.evaluation.utility.af_frame` (columns ``model``, ``site``,
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

def dp_epoch_chart(frame: pd.DataFrame, value: str, y_title: str, title: str,
                   dashed_by: str | None = None, y_format: str = ".3f", x: str = "epoch") -> alt.FacetChart:
    """Lines per epoch (or against ``x="steps"``, optimizer steps), one colour per epsilon,
    one panel per model family.

    ``frame`` has columns ``family``, ``epsilon`` (a label, :func:`lib.dp.budget.label`), ``x``
    and ``value``; ``dashed_by`` names a column whose values get solid and dashed lines
    (``split``: ``train`` solid, ``validation`` dashed)."""
    if x not in ("epoch", "steps"):
        raise ValueError(f"x={x!r}: choose 'epoch' or 'steps'")
    columns = ["family", "epsilon", x, value] + ([dashed_by] if dashed_by else [])
    _require(frame, columns, "dp_epoch_chart")
    data = frame[columns].dropna(subset=[value]).copy()
    order = budget.order(data["epsilon"])
    encoding = dict(
        x=alt.X("epoch:O", title="Epoch") if x == "epoch" else alt.X("steps:Q", title="Optimizer steps"),
        y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("epsilon:N", title="ε", sort=order, scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("epsilon:N", title="ε"),
                 alt.Tooltip(f"{x}:Q" if x == "steps" else "epoch:O", title=x.capitalize()),
                 alt.Tooltip(f"{value}:Q", title=y_title, format=y_format)])
    detail = []
    if dashed_by:
        kinds = [k for k in SPLIT_DASH if k in set(data[dashed_by])]
        encoding["strokeDash"] = alt.StrokeDash(f"{dashed_by}:N", title=dashed_by.capitalize(), sort=kinds,
                                                scale=alt.Scale(domain=kinds, range=[SPLIT_DASH[k] for k in kinds]))
        detail.append(f"{dashed_by}:N")
        encoding["tooltip"].append(alt.Tooltip(f"{dashed_by}:N", title=dashed_by.capitalize()))
    if "seed" in frame.columns:  # one line per training seed
        data["seed"] = frame.loc[data.index, "seed"].astype(int)
        detail.append("seed:N")
        encoding["tooltip"].append(alt.Tooltip("seed:N", title="Training seed"))
    if detail:
        encoding["detail"] = detail
    families = data["family"].drop_duplicates().tolist()
    return alt.Chart(data).mark_line(point=True).encode(**encoding).properties(
        width=WIDTH // 2 + 20, height=220).facet(column=alt.Column("family:N", title=None, sort=families),
                                                 title=title)


def loss_against_epsilon_chart(summary: pd.DataFrame, value: str = "best_val_loss",
                               y_title: str = "Best validation loss (nats per token)",
                               title: str = "What privacy costs: validation loss against ε") -> alt.LayerChart:
    """One line per model family through the mean over training seeds, and every seed's
    model as a hollow point (a ``seed`` column; one point per setting without it); ε on an
    ordinal axis from the most private to ∞ (so the non-private model sits at the right end,
    not off a log scale). ``summary`` has columns ``family``, ``epsilon`` (label) and ``value``."""
    _require(summary, ["family", "epsilon", value], "loss_against_epsilon_chart")
    data = summary[["family", "epsilon", value]].copy()
    data["seed"] = summary["seed"].astype(int) if "seed" in summary.columns else 0
    means = data.groupby(["family", "epsilon"], as_index=False, sort=False)[value].mean()
    x = alt.X("epsilon:O", title="ε (privacy budget; ∞ = not private)", sort=budget.order(data["epsilon"]))
    y = alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False))
    colour = alt.Color("family:N", title="Model")
    line = alt.Chart(means).mark_line(point=alt.OverlayMarkDef(size=70)).encode(
        x=x, y=y, color=colour,
        tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("epsilon:N", title="ε"),
                 alt.Tooltip(f"{value}:Q", title=f"{y_title}, mean over seeds", format=".3f")])
    seeds = alt.Chart(data).mark_point(size=40, opacity=0.7).encode(
        x=x, y=y, color=colour,
        tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("epsilon:N", title="ε"),
                 alt.Tooltip("seed:N", title="Training seed"), alt.Tooltip(f"{value}:Q", title=y_title, format=".3f")])
    return alt.layer(line, seeds, title=title).properties(width=WIDTH)


# --------------------------------------------------------------------------------------
# The utility chapter
# --------------------------------------------------------------------------------------

#: Reference series of the utility chapter's line charts: fixed colours and dashes.
REFERENCE_SERIES = {"real holdout": ("#000000", [1, 0]), "real (validation)": ("#555555", [6, 3]),
                    "independent sites": ("#999999", [2, 2]), "copy of members": ("#CC79A7", [4, 2])}


def _series_scales(values) -> tuple[alt.Scale, alt.Scale, list[str]]:
    """Colour and dash scales over a series column mixing ε labels and reference names:
    ε in viridis (most private first), references in :data:`REFERENCE_SERIES`."""
    values = set(values)
    refs = [r for r in REFERENCE_SERIES if r in values]
    eps = budget.order(values - set(refs))
    viridis = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725", "#b5de2b"]
    domain = eps + refs
    colours = [viridis[i % len(viridis)] for i in range(len(eps))] + [REFERENCE_SERIES[r][0] for r in refs]
    dashes = [[1, 0]] * len(eps) + [REFERENCE_SERIES[r][1] for r in refs]
    return alt.Scale(domain=domain, range=colours), alt.Scale(domain=domain, range=dashes), domain


def ld_decay_chart(frame: pd.DataFrame, title: str = "Linkage disequilibrium against distance") -> alt.FacetChart:
    """Mean r² of neighbouring site pairs by distance (log axis), one line per ε and per
    reference, one panel per model family. ``frame`` is
    :func:`lib.ch05_utility.ld_decay_frame` (``family``, ``eps``, ``distance_kb``,
    ``mean_r2``, ``pairs``)."""
    _require(frame, ["family", "eps", "distance_kb", "mean_r2", "pairs"], "ld_decay_chart")
    data = frame[["family", "eps", "distance_kb", "mean_r2", "pairs"]].round({"distance_kb": 3, "mean_r2": 4})
    colour, dash, domain = _series_scales(data["eps"])
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("distance_kb:Q", title="Distance between the sites (kb)", scale=alt.Scale(type="log")),
        y=alt.Y("mean_r2:Q", title="Mean r²"),
        color=alt.Color("eps:N", title="ε / reference", scale=colour, sort=domain),
        strokeDash=alt.StrokeDash("eps:N", title="ε / reference", scale=dash, sort=domain),
        tooltip=[alt.Tooltip("eps:N", title="ε / reference"), alt.Tooltip("distance_kb:Q", title="kb", format=".1f"),
                 alt.Tooltip("mean_r2:Q", title="Mean r²", format=".3f"), alt.Tooltip("pairs:Q", title="Pairs")],
    ).properties(width=WIDTH // 2 + 20, height=240).facet(column=alt.Column("family:N", title=None), title=title)


def positions_chart(frame: pd.DataFrame, title: str = "Variants per person along chromosome 22") -> alt.FacetChart:
    """Variants a person carries per megabase bin, one line per ε and reference, one panel
    per family (:func:`lib.ch05_utility.positions_frame`: ``family``, ``eps``, ``mb``,
    ``per_person``)."""
    _require(frame, ["family", "eps", "mb", "per_person"], "positions_chart")
    data = frame[["family", "eps", "mb", "per_person"]].round({"per_person": 3})
    colour, dash, domain = _series_scales(data["eps"])
    return alt.Chart(data).mark_line().encode(
        x=alt.X("mb:Q", title="Position (Mb)"),
        y=alt.Y("per_person:Q", title="Variants per person in the bin"),
        color=alt.Color("eps:N", title="ε / reference", scale=colour, sort=domain),
        strokeDash=alt.StrokeDash("eps:N", title="ε / reference", scale=dash, sort=domain),
        tooltip=[alt.Tooltip("eps:N", title="ε / reference"), alt.Tooltip("mb:Q", title="Mb"),
                 alt.Tooltip("per_person:Q", title="Per person", format=".2f")],
    ).properties(width=WIDTH // 2 + 20, height=220).facet(column=alt.Column("family:N", title=None), title=title)


def burden_chart(frame: pd.DataFrame, title: str = "Variants per person") -> alt.LayerChart:
    """One horizontal box per cohort: the 5-95% range (line), the quartiles (box) and the
    median (tick) of the number of variants a person carries
    (:func:`lib.ch05_utility.burden_frame`)."""
    _require(frame, ["cohort", "kind", "q05", "q25", "median", "q75", "q95"], "burden_chart")
    data = frame[["cohort", "kind", "q05", "q25", "median", "q75", "q95"]].round(2)
    order = data["cohort"].tolist()
    kinds = {"real": "#000000", "reference": REFERENCE_COLOR, "synthetic": COHORT_COLOR}
    base = alt.Chart(data).encode(y=alt.Y("cohort:N", title=None, sort=order))
    colour = alt.Color("kind:N", title="Cohort", scale=alt.Scale(domain=list(kinds), range=list(kinds.values())))
    tooltip = [alt.Tooltip("cohort:N", title="Cohort")] + [alt.Tooltip(f"{c}:Q", title=c) for c in
                                                          ("q05", "q25", "median", "q75", "q95")]
    whisker = base.mark_rule().encode(x=alt.X("q05:Q", title="Variants (non-reference sites) per person"),
                                      x2="q95:Q", color=colour)
    box = base.mark_bar(size=10).encode(x="q25:Q", x2="q75:Q", color=colour, tooltip=tooltip)
    median = base.mark_tick(color="white", thickness=2, size=10).encode(x="median:Q")
    return alt.layer(whisker, box, median, title=title).properties(width=WIDTH, height=16 * len(order))


def genotype_class_chart(frame: pd.DataFrame, title: str = "Genotypes per person, by class of site") -> alt.FacetChart:
    """One panel per genotype class (het and hom-ALT at rare and at common sites), one row
    per cohort: the mean per person with its 95% interval, the real holdout's as a dashed
    rule (:func:`lib.ch05_utility.genotype_class_frame`). A cohort far right of the rule in
    the rare-site panels writes rare genotypes real people do not carry."""
    _require(frame, ["cohort", "kind", "class", "mean", "low", "high", "real"], "genotype_class_chart")
    data = frame[["cohort", "kind", "class", "mean", "low", "high", "real"]].round(3)
    order = list(dict.fromkeys(data["cohort"]))
    kinds = {"real": "#000000", "reference": REFERENCE_COLOR, "synthetic": COHORT_COLOR}
    colour = alt.Color("kind:N", title="Cohort", scale=alt.Scale(domain=list(kinds), range=list(kinds.values())))
    y = alt.Y("cohort:N", title=None, sort=order)
    points = alt.Chart().mark_point(filled=True, size=50).encode(
        x=alt.X("mean:Q", title="Genotypes per person (mean)"), y=y, color=colour,
        tooltip=[alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("class:N", title="Class"),
                 alt.Tooltip("mean:Q", title="Mean", format=".2f"), alt.Tooltip("real:Q", title="Real holdout",
                                                                               format=".2f")])
    bars = alt.Chart().mark_rule().encode(x="low:Q", x2="high:Q", y=y, color=colour)
    rule = alt.Chart().mark_rule(strokeDash=[4, 3], color="#000000").encode(x="mean(real):Q")
    return alt.layer(bars, points, rule, data=data).properties(width=WIDTH / 2 - 20, height=16 * len(order)).facet(
        facet=alt.Facet("class:N", title=None, sort=list(dict.fromkeys(data["class"]))), columns=2, title=title,
    ).resolve_scale(x="independent")


def frequency_bin_chart(frame: pd.DataFrame,
                        title: str = "Genotypes per person against the real holdout's, by the site's frequency"
                        ) -> alt.FacetChart:
    """One panel per genotype class (het, hom-ALT): for each cohort, the genotypes per person
    at the sites of each bin of the real holdout's ALT frequency, as a multiple of the
    holdout's (log scale; the rule at 1 is the holdout) (:func:`lib.ch05_utility.frequency_bin_frame`).
    A cohort above the rule at the rare bins writes genotypes real people do not carry; below
    it at the common bins, it leaves out genotypes every real person carries."""
    _require(frame, ["cohort", "kind", "bin", "class", "per_person", "real", "ratio"], "frequency_bin_chart")
    data = frame[["cohort", "kind", "bin", "class", "per_person", "real", "ratio"]].dropna(subset=["ratio"]).copy()
    data["ratio"] = data["ratio"].clip(lower=0.01).round(3)
    data[["per_person", "real"]] = data[["per_person", "real"]].round(3)
    bins = list(dict.fromkeys(frame["bin"]))
    lines = alt.Chart().mark_line(point=True).encode(
        x=alt.X("bin:N", title="ALT frequency among the real holdout", sort=bins),
        y=alt.Y("ratio:Q", title="× the real holdout's (log)", scale=alt.Scale(type="log")),
        color=alt.Color("cohort:N", title="Cohort", sort=list(dict.fromkeys(data["cohort"]))),
        strokeDash=alt.StrokeDash("kind:N", title="Kind"),
        tooltip=[alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("bin:N", title="Frequency bin"),
                 alt.Tooltip("per_person:Q", title="Per person", format=".2f"),
                 alt.Tooltip("real:Q", title="Real holdout", format=".2f"),
                 alt.Tooltip("ratio:Q", title="Ratio", format=".2f")])
    rule = alt.Chart().mark_rule(color="#000000", strokeDash=[4, 3]).encode(y=alt.datum(1))
    return alt.layer(lines, rule, data=data).properties(width=WIDTH / 2 - 20, height=240).facet(
        facet=alt.Facet("class:N", title=None, sort=["het", "hom-ALT"]), columns=2, title=title)


def pca_overlay_chart(frame: pd.DataFrame, columns: int = 3,
                      title: str = "Synthetic people on the real holdout's principal components") -> alt.FacetChart:
    """One panel per cohort: the real holdout (circles, coloured by super-population) and
    the cohort's people projected onto the PCA fit on the holdout alone (black crosses).
    The axis titles give the share of the holdout's variance each component explains.
    ``frame`` is :func:`lib.ch05_utility.pca_frame`."""
    _require(frame, ["panel", "source", "superpopulation", "PC1", "PC2"], "pca_overlay_chart")
    data = frame[["panel", "source", "superpopulation", "PC1", "PC2"]].copy()
    explained = frame.attrs.get("explained")
    axis = (lambda k: f"PC{k} ({explained[k - 1]:.1%})") if explained else (lambda k: f"PC{k}")
    panels = data["panel"].drop_duplicates().tolist()
    x, y = alt.X("PC1:Q", title=axis(1)), alt.Y("PC2:Q", title=axis(2))
    tooltip = [alt.Tooltip("source:N", title="People"), alt.Tooltip("superpopulation:N", title="Super-population")]
    real = alt.Chart().mark_circle(size=22, opacity=0.6).encode(
        x=x, y=y, color=superpopulation_color("Real holdout"), tooltip=tooltip
    ).transform_filter(alt.datum.source == "real holdout")
    cohort = alt.Chart().mark_point(shape="cross", size=26, filled=True, opacity=0.75, color="#000000").encode(
        x=x, y=y, tooltip=tooltip).transform_filter(alt.datum.source != "real holdout")
    return alt.layer(real, cohort, data=data).properties(width=150, height=130).facet(
        facet=alt.Facet("panel:N", title=None, sort=panels), columns=columns, title=title
    ).configure_legend(orient="bottom")


def dcr_chart(frame: pd.DataFrame, columns: int = 3,
              title: str = "Distance from each synthetic person to the closest real one") -> alt.FacetChart:
    """Per cohort, histograms of the distance (alleles that differ) to the closest member
    and to the closest holdout person (:func:`lib.ch05_utility.dcr_frame`). A cohort that
    copies its members has its member histogram left of the holdout one."""
    _require(frame, ["panel", "to", "low", "high", "people"], "dcr_chart")
    data = frame[["panel", "to", "low", "high", "people"]].round({"low": 2, "high": 2})
    panels = data["panel"].drop_duplicates().tolist()
    kinds = ["closest member", "closest holdout person"]
    return alt.Chart(data).mark_bar(opacity=0.55, binSpacing=0).encode(
        x=alt.X("low:Q", title="Distance (alleles)", bin="binned"), x2="high:Q",
        y=alt.Y("people:Q", title="People", stack=None),
        color=alt.Color("to:N", title="Distance to", sort=kinds,
                        scale=alt.Scale(domain=kinds, range=["#D55E00", COHORT_COLOR])),
        tooltip=[alt.Tooltip("to:N", title="To"), alt.Tooltip("low:Q", title="From"),
                 alt.Tooltip("high:Q", title="To (exclusive)"), alt.Tooltip("people:Q", title="People")],
    ).properties(width=150, height=110).facet(facet=alt.Facet("panel:N", title=None, sort=panels),
                                              columns=columns, title=title).configure_legend(orient="bottom")


def utility_epsilon_chart(frame: pd.DataFrame, titles: dict[str, str] | None = None, columns: int = 2,
                          title: str = "Utility against ε") -> alt.VConcatChart:
    """One panel per metric: each family's mean over training seeds (a line, with its
    seed-level 95% interval as a bar where it has one) against ε, most private first, every
    training seed's own value as a hollow point, the references as horizontal lines.
    ``frame`` is :func:`lib.ch05_utility.epsilon_frame` (``kind`` "synthetic" for the means,
    "seed" for the seeds, "reference")."""
    _require(frame, ["kind", "family", "eps", "metric", "value", "low", "high"], "utility_epsilon_chart")
    titles = titles or {}
    families = frame.loc[frame["kind"] == "synthetic", "family"].drop_duplicates().tolist()
    references = [r for r in REFERENCE_SERIES if r in set(frame.loc[frame["kind"] == "reference", "family"])]
    family_colour = alt.Color("family:N", title="Model", sort=families, scale=alt.Scale(
        domain=families, range=["#0072B2", "#E69F00", "#009E73", "#CC79A7"][:len(families)]))
    reference_dash = alt.StrokeDash("family:N", title="Reference", sort=references, scale=alt.Scale(
        domain=references, range=[REFERENCE_SERIES[r][1] if REFERENCE_SERIES[r][1] != [1, 0] else [8, 0]
                                  for r in references]))
    order = budget.order(frame.loc[frame["kind"] == "synthetic", "eps"])
    panels = []
    for metric in frame["metric"].drop_duplicates():
        data = frame[frame["metric"] == metric]
        synthetic = data[data["kind"] == "synthetic"][["family", "eps", "value", "low", "high"]].round(4)
        seeds = data[data["kind"] == "seed"][["family", "eps", "seed", "value"]].round(4)
        refs = data[data["kind"] == "reference"][["family", "value"]].round(4)
        name = titles.get(metric, metric)
        x = alt.X("eps:O", title="ε", sort=order, scale=alt.Scale(domain=order))
        y = alt.Y("value:Q", title=name, scale=alt.Scale(zero=False))
        lines = alt.Chart(synthetic).mark_line(point=True).encode(
            x=x, y=y, color=family_colour,
            tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("eps:N", title="ε"),
                     alt.Tooltip("value:Q", title="Mean over seeds", format=".3f"),
                     alt.Tooltip("low:Q", title="95% low", format=".3f"),
                     alt.Tooltip("high:Q", title="95% high", format=".3f")])
        bars = alt.Chart(synthetic.dropna(subset=["low", "high"])).mark_rule().encode(
            x=x, y="low:Q", y2="high:Q", color=family_colour)
        points = alt.Chart(seeds).mark_point(size=25, opacity=0.6).encode(
            x=x, y=y, color=family_colour,
            tooltip=[alt.Tooltip("family:N", title="Model"), alt.Tooltip("eps:N", title="ε"),
                     alt.Tooltip("seed:N", title="Training seed"), alt.Tooltip("value:Q", title="Value", format=".3f")])
        rules = alt.Chart(refs).mark_rule(color=REFERENCE_COLOR).encode(
            y="value:Q", strokeDash=reference_dash,
            tooltip=[alt.Tooltip("family:N", title="Reference"), alt.Tooltip("value:Q", title="Value", format=".3f")])
        panels.append(alt.layer(lines, bars, points, rules).properties(width=210, height=140, title=name))
    rows = [alt.hconcat(*panels[i:i + columns]) for i in range(0, len(panels), columns)]
    return alt.vconcat(*rows, title=title).configure_legend(orient="bottom")


__all__ += ["REFERENCE_SERIES", "ld_decay_chart", "positions_chart", "burden_chart", "genotype_class_chart",
            "pca_overlay_chart", "dcr_chart", "utility_epsilon_chart"]


# --------------------------------------------------------------------------------------
# The privacy chapter
# --------------------------------------------------------------------------------------

def attack_auc_chart(table: pd.DataFrame, title: str = "Membership-inference AUC per model and attack") -> alt.FacetChart:
    """Dots with their 95% interval: one row per target, one colour per attack, one panel
    per model family, a dashed line at chance (0.5). ``table`` has ``target``, ``family``,
    ``attack``, ``auc``, ``auc_low``, ``auc_high``."""
    _require(table, ["target", "family", "attack", "auc", "auc_low", "auc_high"], "attack_auc_chart")
    data = table[["target", "family", "attack", "auc", "auc_low", "auc_high"]].round(4)
    x = alt.X("auc:Q", title="AUC (0.5 = chance)", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("target:N", title=None)
    tooltip = [alt.Tooltip("target:N", title="Target"), alt.Tooltip("attack:N", title="Attack"),
               alt.Tooltip("auc:Q", title="AUC", format=".3f"), alt.Tooltip("auc_low:Q", title="95% low", format=".3f"),
               alt.Tooltip("auc_high:Q", title="95% high", format=".3f")]
    colour = alt.Color("attack:N", title="Attack")
    dots = alt.Chart().mark_point(filled=True, size=50, opacity=0.85).encode(x=x, y=y, color=colour, tooltip=tooltip)
    rules = alt.Chart().mark_rule(opacity=0.5).encode(x="auc_low:Q", x2="auc_high:Q", y=y, color=colour)
    chance = alt.Chart().mark_rule(strokeDash=[4, 4], color=REFERENCE_COLOR).encode(x=alt.datum(0.5))
    return alt.layer(chance, rules, dots, data=data).properties(width=WIDTH // 2, height=alt.Step(14)).facet(
        row=alt.Row("family:N", title=None), title=title).resolve_scale(y="independent").configure_legend(
        orient="bottom", columns=3)


def roc_chart(frame: pd.DataFrame, title: str = "ROC curves (log-log)") -> alt.LayerChart:
    """ROC curves on log-log axes, one line per attack, the diagonal (chance) dashed:
    the low-FPR corner, where an attack is a real threat, is visible. ``frame``:
    :func:`lib.ch06_privacy.roc_frame` (``attack``, ``fpr``, ``tpr``)."""
    _require(frame, ["attack", "fpr", "tpr"], "roc_chart")
    data = frame[["attack", "fpr", "tpr"]].round(5)
    low = float(max(min(data["fpr"].min(), data["tpr"].min()), 1e-4))
    scale = alt.Scale(type="log", domain=[low, 1])
    lines = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=alt.X("fpr:Q", title="False-positive rate", scale=scale), y=alt.Y("tpr:Q", title="True-positive rate",
                                                                             scale=scale),
        color=alt.Color("attack:N", title="Attack"),
        tooltip=[alt.Tooltip("attack:N", title="Attack"), alt.Tooltip("fpr:Q", title="FPR", format=".4f"),
                 alt.Tooltip("tpr:Q", title="TPR", format=".4f")])
    diagonal = alt.Chart(pd.DataFrame({"fpr": [low, 1.0], "tpr": [low, 1.0]})).mark_line(
        strokeDash=[4, 4], color=REFERENCE_COLOR).encode(x="fpr:Q", y="tpr:Q")
    return alt.layer(diagonal, lines, title=title).properties(width=WIDTH * 0.7, height=WIDTH * 0.6)


def epsilon_bound_chart(frame: pd.DataFrame, title: str = "Empirical lower bound against the accountant's ε"
                        ) -> alt.LayerChart:
    """Per private model: the accountant's ε (x) against the best held-out empirical lower
    bound (y), with the diagonal y = x: a point above it would mean the guarantee is
    broken. ``frame``: :func:`lib.ch06_privacy.epsilon_table`, or
    :func:`lib.ch06_privacy.bound_frame` (with a ``source`` column: attacks or canaries)."""
    _require(frame, ["target", "family", "accountant ε", "empirical ε (held-out threshold)"], "epsilon_bound_chart")
    columns = ["target", "family", "accountant ε", "empirical ε (held-out threshold)"]
    data = frame[columns + [c for c in ("source", "ceiling") if c in frame.columns]].rename(
        columns={"accountant ε": "accountant", "empirical ε (held-out threshold)": "empirical"}).round(4)
    if "source" not in data.columns:
        data["source"] = "membership inference"
    top = float(max(data["accountant"].max(), data["empirical"].max(),
                    data["ceiling"].max() if "ceiling" in data else 0, 1.0)) * 1.1
    x = alt.X("accountant:Q", title="ε the accountant computed", scale=alt.Scale(domain=[0, top]))
    tooltip = [alt.Tooltip("target:N", title="Model"), alt.Tooltip("source:N", title="From"),
               alt.Tooltip("accountant:Q", title="Accountant ε", format=".2f"),
               alt.Tooltip("empirical:Q", title="Empirical bound", format=".3f")]
    if "ceiling" in data:
        tooltip.append(alt.Tooltip("ceiling:Q", title="Ceiling (the most it could prove)", format=".2f"))
    points = alt.Chart(data).mark_point(filled=True, size=80).encode(
        x=x, y=alt.Y("empirical:Q", title="Empirical ε lower bound (95%)", scale=alt.Scale(domain=[0, top])),
        color=alt.Color("family:N", title="Model"), shape=alt.Shape("source:N", title="Lower bound from"),
        tooltip=tooltip)
    diagonal = alt.Chart(pd.DataFrame({"accountant": [0, top], "empirical": [0, top]})).mark_line(
        strokeDash=[4, 4], color=REFERENCE_COLOR).encode(x="accountant:Q", y="empirical:Q")
    layers = [diagonal, points]
    if "ceiling" in data:  # a tick at the most each check could prove: below the diagonal, it cannot fail
        layers.append(alt.Chart(data).mark_tick(thickness=2, size=14, opacity=0.7).encode(
            x=x, y=alt.Y("ceiling:Q"), color=alt.Color("family:N", title="Model"), tooltip=tooltip))
    return alt.layer(*layers, title=title).properties(width=WIDTH * 0.7, height=WIDTH * 0.6)


#: The utility metrics of the headline frontier (two large panels): what differential
#: privacy keeps (allele frequencies) and whether its people pass for real (the linear
#: two-sample test).
FRONTIER_HEADLINE = ("af_r", "c2st_auc")
#: One mark shape per ε (most private first), then the reference cohorts'.
FRONTIER_SHAPES = ("triangle-up", "diamond", "square", "cross", "circle", "triangle-down", "triangle-right",
                   "triangle-left")


def frontier_chart(frame: pd.DataFrame, title: str = "The privacy-utility frontier", value: str = "attack_auc",
                   value_title: str = "Primary attack's AUC (0.5 = chance)", columns: int = 3,
                   metrics: Sequence[str] | None = None, panel_width: float | None = None,
                   panel_height: float = 170) -> alt.FacetChart:
    """One panel per utility metric (``metric_title``; ``metrics`` keeps those of the
    ``metric`` column given, in that order), one point per setting in each: its utility (x,
    each panel on its own scale; the mean over training seeds, with its seed-level interval
    as a horizontal bar) against the declared primary attack's AUC (y, shared; the mean over
    seeds with its interval; or another column, ``value``, e.g. its TPR at 10% FPR). Colour
    is the family, the mark's shape the ε (a legend, not text labels: labels near AF r = 1
    sat on top of each other), and a line joins each family's settings from the most private
    to ε = ∞, so a reader follows what each step of budget buys. ``frame``:
    :func:`lib.ch06_privacy.frontier`."""
    _require(frame, ["metric", "metric_title", "cohort", "family", "eps", "utility", value], "frontier_chart")
    if metrics is not None:
        unknown = sorted(set(metrics) - set(frame["metric"]))
        if unknown:
            raise ValueError(f"frontier_chart: metrics {unknown} are not in the frame ({sorted(set(frame['metric']))})")
        frame = frame[frame["metric"].isin(metrics)]
        order = [frame.loc[frame["metric"] == m, "metric_title"].iloc[0] for m in metrics]
    else:
        order = list(dict.fromkeys(frame["metric_title"]))
    keep = ["metric_title", "cohort", "family", "eps", "utility", value, "attack"]
    intervals = [c for c in ("utility_low", "utility_high") if c in frame.columns]
    if value == "attack_auc":
        intervals += [c for c in ("attack_low", "attack_high") if c in frame.columns]
    data = frame[keep + intervals].rename(columns={value: "privacy"}).round(4)
    references = [e for e in dict.fromkeys(data.loc[data["family"] == "reference", "eps"])]
    eps_order = budget.order(data.loc[data["family"] != "reference", "eps"]) + references
    rank = {label: i for i, label in enumerate(eps_order)}
    data["eps_rank"] = data["eps"].map(rank)
    shapes = alt.Scale(domain=eps_order, range=list(FRONTIER_SHAPES[:len(eps_order)]))
    colour = alt.Color("family:N", title="Model", legend=alt.Legend(orient="bottom"))
    x = alt.X("utility:Q", title="Utility (the panel's metric; mean over seeds)", scale=alt.Scale(zero=False))
    y = alt.Y("privacy:Q", title=value_title, scale=alt.Scale(zero=False))
    base = alt.Chart()
    layers = [base.mark_line(opacity=0.5, strokeWidth=1.5).encode(  # the references are two ends, not a path
        x=x, y=y, color=colour, detail="family:N", order=alt.Order("eps_rank:Q")
    ).transform_filter(alt.datum.family != "reference")]
    if {"utility_low", "utility_high"} <= set(data.columns):
        layers.append(base.mark_rule(opacity=0.45).encode(x="utility_low:Q", x2="utility_high:Q", y=y, color=colour))
    if {"attack_low", "attack_high"} <= set(data.columns):
        layers.append(base.mark_rule(opacity=0.45).encode(x=x, y="attack_low:Q", y2="attack_high:Q", color=colour))
    layers.append(base.mark_point(filled=True, size=90 if metrics else 70, opacity=0.95).encode(
        x=x, y=y, color=colour,
        shape=alt.Shape("eps:N", title="ε (or reference cohort)", scale=shapes, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("eps:N", title="ε"),
                 alt.Tooltip("metric_title:N", title="Metric"), alt.Tooltip("utility:Q", title="Utility", format=".3f"),
                 alt.Tooltip("privacy:Q", title=value_title, format=".3f"), alt.Tooltip("attack:N", title="Attack")]))
    width = panel_width if panel_width is not None else WIDTH / columns - 10
    return alt.layer(*layers, data=data).properties(width=width, height=panel_height).facet(
        facet=alt.Facet("metric_title:N", title=None, sort=order), columns=columns, title=title,
    ).resolve_scale(x="independent")


__all__ += ["attack_auc_chart", "roc_chart", "epsilon_bound_chart", "frontier_chart"]
