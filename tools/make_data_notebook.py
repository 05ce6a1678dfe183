"""Write book/01_data.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_data_notebook.py`` after editing and commit both files.
"""
from notebooks import IMPORT_LIB, code, md, write

cells = [
md("""# The data: chromosome-22 variant profiles

A language model learns from text, so the first step turns a cohort of genomes into text:
for every person, the list of their genotypes at a *panel* of variant sites on chromosome 22,
each written as `22:POS:REF>ALT_GT` — for example `22:17327068:A>G_1|1` says this person
carries the alternative allele `G` instead of the reference `A` at position 17,327,068 on both
copies of the chromosome.

This chapter

1. loads a cohort: a simulated one by default (offline), a VCF of your own, or the 1000 Genomes
   phase 3 release {cite}`1000genomes2015`;
2. selects a panel of common and rare sites, as the dissertation did;
3. splits the people into **members** (the training set of every model in this book),
   a validation set and **non-members** (the holdout), at random within each population;
4. writes the cohort (VCF), the splits and the profiles into the run directory, where every
   later chapter reads them;
5. describes the cohort the way a population geneticist would check it: who is in it, how many
   variants each person carries, the allele-frequency spectrum, the mix of variant types, and
   where the variants lie along the chromosome — beside the statistics of the whole 1000 Genomes
   chromosome 22."""),
md("""## Parameters

Every parameter below can be changed from the command line, e.g.
`papermill book/01_data.ipynb out.ipynb -p source vcf -p vcf_path my.vcf.gz -p assembly GRCh37`,
or for the whole book `make book ARGS="-p source vcf -p vcf_path my.vcf.gz"`.
`None` means "the profile's default"."""),
code("""profile = "quick"          # smoke | quick | full: sizes only
run_dir = None             # default: data/runs/<profile>
seed = 42
source = "simulate"        # simulate | vcf | 1000g
vcf_path = None            # for source vcf: a VCF or BCF file (plain, gzipped or bgzipped)
populations_path = None    # sample -> population table (TSV); without it every sample is "unknown"
assembly = None            # GRCh37 | GRCh38: overrides a missing or wrong contig header
chromosome = "22"          # "22" and "chr22" name the same chromosome
region = None              # e.g. 22:20000000-25000000, only this window (all its sites)
n_sites = None             # panel size
common_fraction = None     # fraction of the panel that is common (MAF of 5% or more)
reference_stats_path = None  # bcftools stats of the whole chromosome; default: ../shared/data/...""",
     metadata={"tags": ["parameters"]}),
code(IMPORT_LIB + """
import json
import logging

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import charts, data, figures, profiles, rundir, stats

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
figures.setup()
settings = profiles.resolve(profile, n_sites=n_sites, common_fraction=common_fraction)
run = rundir.run_path(run_dir, profile)
# with a region and no explicit n_sites, the panel is every polymorphic site of the region
panel_size = settings["n_sites"] if region is None and n_sites is None else n_sites
print(f"profile={profile} source={source} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## The cohort

`lib.data.prepare` checks the parameters before doing any work, loads the source, selects the
panel, splits the samples and writes everything atomically into the run's `cohort/`
directory. Rerun with the same parameters, it reuses what is there."""),
code("""prepared = data.prepare(
    run, source=source, seed=seed, chromosome=chromosome, region=region, vcf_path=vcf_path,
    populations_path=populations_path, assembly=assembly, n_sites=panel_size,
    common_fraction=settings["common_fraction"],
    validation_fraction=settings["validation_fraction"], holdout_fraction=settings["holdout_fraction"],
    public_fraction=settings["public_fraction"],
    sim_samples_per_population=settings["sim_samples_per_population"], sim_length=settings["sim_length"],
    progress=source == "1000g")  # a download deserves a progress bar
cohort, splits = prepared.cohort, prepared.splits
panel_info = json.loads(prepared.paths["panel"].read_text())

glue("n_samples", f"{cohort.n_samples:,}", display=False)
glue("n_sites", f"{cohort.n_sites:,}", display=False)
glue("n_source_sites", f"{panel_info['n_source_sites']:,}", display=False)
glue("n_common", f"{panel_info['n_common']:,}", display=False)
glue("n_rare", f"{panel_info['n_rare']:,}", display=False)
glue("source_text", cohort.source, display=False)
glue("assembly", f"{cohort.contig.assembly} (chr{data.normalise_chromosome(cohort.contig.name)}, "
     f"{cohort.contig.length:,} bp)", display=False)
glue("n_train", f"{len(splits['train']):,}", display=False)
glue("n_validation", f"{len(splits['validation']):,}", display=False)
glue("n_holdout", f"{len(splits['holdout']):,}", display=False)
glue("n_public", f"{len(splits['public']):,}", display=False)
pd.DataFrame({"": ["source", "contig", "samples", "sites in the source", "panel sites",
                   "common (MAF >= 5%)", "rare (MAF < 5%)"],
              "value": [cohort.source, f"{cohort.contig.name} ({cohort.contig.assembly}, {cohort.contig.length:,} bp)",
                        f"{cohort.n_samples:,}", f"{panel_info['n_source_sites']:,}", f"{cohort.n_sites:,}",
                        f"{panel_info['n_common']:,}", f"{panel_info['n_rare']:,}"]}).set_index("")""",
     metadata={"tags": ["hide-input"]}),
md("""The cohort has {glue:text}`n_samples` people. From the {glue:text}`n_source_sites` variant
sites of the source ({glue:text}`source_text`), the panel keeps {glue:text}`n_sites`:
{glue:text}`n_common` common and {glue:text}`n_rare` rare. Positions are on
{glue:text}`assembly`.

**Simulated cohorts.** The default source simulates the three populations of stdpopsim's
`OutOfAfrica_3G09` model {cite}`gutenkunst2009,adrion2020` — Yoruba (YRI), Utah residents of
northern European ancestry (CEU) and Han Chinese (CHB) — on a window of chromosome 22 with
msprime {cite}`baumdicker2022`, with HKY mutations so that transitions outnumber transversions
as in real genomes, and with the reference allele taken from one simulated haplotype outside
the cohort, as a reference genome is one person's sequence. msprime simulates point mutations,
so a simulated cohort has no insertions or deletions.

**What the reader repaired.** Real files are messy. Every quirk the reader found and repaired
is listed here (nothing is repaired silently; what cannot be repaired is an error):"""),
code("""notes = panel_info["repairs"] + panel_info["notes"]
display(Markdown("\\n".join(f"- {n}" for n in notes) if notes else "- nothing: the source was clean."))"""),
md("""## Who is in the cohort

Population labels matter twice: the splits are stratified by population so that members and
non-members have the same ancestry mix, and the utility chapter checks that a synthetic cohort
reproduces the population structure."""),
code("""composition = stats.population_composition(cohort)
charts.population_composition_chart(composition)"""),
code("""composition.rename(columns={"n_samples": "samples"}).assign(fraction=composition["fraction"].map("{:.1%}".format)).set_index(["superpopulation", "population"])"""),
md("""## Population structure

A principal-component analysis of the genotypes (each site centred and scaled by its
binomial standard deviation) is the standard picture of ancestry: in human data the first
component separates African from non-African genomes — the out-of-Africa split — and the
next ones separate the continental groups that left Africa. A synthetic cohort must
reproduce this picture, not only per-site frequencies."""),
code("""pcs, explained = stats.pca(cohort, n_components=2)
charts.pca_chart(pcs, explained)"""),
md("""## Members and non-members

The samples are split at random within each population: {glue:text}`n_train` members (the
models' training set), {glue:text}`n_validation` for validation, {glue:text}`n_holdout`
non-members (the holdout), and {glue:text}`n_public` **public** samples. The public split
stands for data that is public anyway, as a reference panel is: it is never part of private
training and never attacked, so later chapters may use it freely — to pre-train the GPT-2
base that is then fine-tuned, privately or not, on the members. Members and non-members come from one pool, so a
membership-inference attack in the privacy chapter must tell them apart by what a model
learned — not by which file or which population they came from. (The dissertation took its
members as the first samples of a file, 30% of which had never been trained on.)"""),
code("""split_of = {s: name for name, ids in splits.items() for s in ids}
table = cohort.samples.assign(split=cohort.samples["sample"].map(split_of))
pd.crosstab(table["superpopulation"], table["split"], margins=True, margins_name="all")[
    ["train", "validation", "holdout", "public", "all"]]"""),
md("""## Variants per person

Each person carries a non-reference genotype at only a fraction of the panel's sites.
Africans carry more variants than people of non-African ancestry: the out-of-Africa
bottleneck removed much of the diversity that African populations kept — one of the first
things a synthetic cohort must reproduce."""),
code("""per_sample = stats.variants_per_sample(cohort)
glue("mean_non_ref", f"{per_sample['n_non_ref'].mean():.1f}", display=False)
charts.variants_per_sample_chart(per_sample)"""),
code("""(per_sample.groupby(["superpopulation", "population"])[["n_non_ref", "n_het", "n_hom_alt"]]
 .mean().round(1).rename(columns={"n_non_ref": "non-reference sites", "n_het": "heterozygous",
                                  "n_hom_alt": "homozygous ALT"}))"""),
md("""On average a person carries {glue:text}`mean_non_ref` non-reference genotypes on the panel.
That number is the length of a **sparse** profile (only the non-reference records); a **dense**
profile lists all {glue:text}`n_sites` sites, `0|0` included, as the dissertation's did.

## The allele-frequency spectrum

Most variants are rare: in any human sample, the number of sites falls steeply with the
frequency of the minor allele, because most mutations are young. The panel keeps a fixed mix
of common and rare sites, so its spectrum is shaped by that choice as well as by the cohort."""),
code("""afs = stats.allele_frequency_spectrum(cohort)
glue("singleton_fraction", f"{afs['singleton_fraction']:.1%}", display=False)
charts.allele_frequency_spectrum_chart(afs["spectrum"])"""),
code("""charts.site_frequency_spectrum_chart(afs["sfs"])"""),
md("""{glue:text}`singleton_fraction` of the panel's sites are singletons (one copy of the ALT
allele in the whole cohort): the variants that identify a person most directly, and the
ones a model that memorises would reproduce.

## Variant types

Single-nucleotide variants (SNVs) dominate; among them, transitions (A↔G, C↔T) outnumber
transversions about two to one in human genomes (Ts/Tv ≈ 2.0–2.1 genome-wide), because
methylated cytosines mutate to thymine far more often than other changes happen."""),
code("""types = stats.variant_type_summary(cohort)
tstv = stats.ts_tv(cohort)
glue("ts_tv", f"{tstv['ts_tv']:.2f}", display=False)
charts.variant_types_chart(types)"""),
code("""types.drop(columns=["bcftools_key"]).assign(fraction=types["fraction"].map("{:.1%}".format)).set_index("type")"""),
md("""The panel's Ts/Tv is {glue:text}`ts_tv`.

## Where the variants lie

Chromosome 22 is acrocentric: its short arm (the first ~16 Mb) is repetitive and has no
variant calls in 1000 Genomes. The density of the panel's sites along the chromosome shows
the window the cohort covers and any gaps in it."""),
code("""charts.density_chart(stats.density(cohort), contig=data.normalise_chromosome(cohort.contig.name))"""),
md("""## Beside the real chromosome 22

The same tool computes both columns below: `bcftools stats` (through pysam) on this
cohort's VCF, and the `bcftools stats` of the whole 1000 Genomes phase 3 chromosome 22
(2,504 people, 1.1 million records). The panel is a selection — its mix of common and rare
sites is a parameter — so its frequency rows differ from the whole chromosome's by design;
its variant types and Ts/Tv should not."""),
code("""reference_stats_path = stats.reference_stats_path(reference_stats_path)
cohort_bcftools = stats.bcftools_stats(prepared.paths["vcf"])
if reference_stats_path is not None:
    comparison = stats.compare_with_reference(cohort_bcftools, stats.read_bcftools_stats(reference_stats_path))
    display(charts.comparison_chart(comparison))
else:
    comparison = stats.compare_with_reference(cohort_bcftools, cohort_bcftools, reference_label="(no reference)")
    display(Markdown("*The reference statistics file was not found; pass `reference_stats_path`.*"))
stats.format_comparison(comparison)"""),
md("""## The profiles

This is what a language model reads: one line of records per person. Here are the first
records of one non-member's sparse profile, and the lengths of both representations."""),
code("""profiles_table = data.read_profiles(run)
example = profiles_table[profiles_table["split"] == "holdout"].iloc[0]
print(f"{example['sample']} ({example['population']}):")
print("  ".join(example["variants"][:6]), "..." if len(example["variants"]) > 6 else "")
lengths = pd.DataFrame({"records per person": profiles_table["variants"].map(len)})
pd.DataFrame({"dense (every panel site)": [cohort.n_sites] * 3,
              "sparse (non-reference only)": lengths["records per person"].describe()[["min", "mean", "max"]].round(1).tolist()},
             index=["min", "mean", "max"])"""),
md("""## What this chapter wrote

Later chapters read only these files (and never recompute them). The manifest records each
file's checksum and the parameters that made it."""),
code("""pd.DataFrame([{"file": str(p.relative_to(run)), "bytes": f"{p.stat().st_size:,}", "sha256": rundir.sha256(p)[:16]}
              for p in prepared.paths.values()]).set_index("file")"""),
]

write(cells, "01_data")
