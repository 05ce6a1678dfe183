"""Write book/01_data.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_01_data.py`` after editing and commit both files.
"""
from notebooks import code, md, write

cells = [
md("""# The data: chromosome-22 variant profiles

A language model learns from text, so the first step turns a cohort of genomes into text:
for every person, the list of their genotypes at a *panel* of variant sites on chromosome 22,
each written as `22:POS:REF>ALT_GT` — for example `22:17327068:A>G_1|1` says this person
carries the alternative allele `G` instead of the reference `A` at position 17,327,068 on both
copies of the chromosome.

This chapter

1. loads a cohort: by default real people, the 1000 Genomes phase 3 panel of chromosome 22
   shipped with the book {cite}`1000genomes2015`; or a simulated cohort (offline), a VCF of
   your own, or the whole 1000 Genomes release;
2. splits the people into **members** (the training set of every model in this book),
   a validation set, **non-members** (the holdout) and **public** people, at random within
   each population, before anyone's genotypes are looked at;
3. chooses the panel of sites from **public information only** and measures what that costs;
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
`None` means "the profile's default": the quick profile reads the real panel in `data/1000g/`,
the smoke profile simulates."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
source = None              # simulate | vcf | 1000g (None: the profile's)
vcf_path = None            # for source vcf: a VCF or BCF file (plain, gzipped or bgzipped)
populations_path = None    # sample -> population table (TSV); without it every sample is "unknown"
assembly = None            # GRCh37 | GRCh38: overrides a missing or wrong contig header
panel_path = None          # a VCF of sites declared public (may be vcf_path itself); None: the public people's sites
chromosome = "22"          # "22" and "chr22" name the same chromosome
region = None              # e.g. 22:20000000-25000000, only this window (all its eligible sites)
n_sites = None             # panel size
common_fraction = None     # fraction of the panel that is common (public MAF of 5% or more)
reference_stats_path = None  # bcftools stats of the whole chromosome; default: data/1000g/...""",
     metadata={"tags": ["parameters"]}),
code("""import logging

from IPython.display import Markdown, display

from lib import ch01_data as chapter
from lib.core import profiles
from lib.genetics import stats
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
figures.enable()
settings = profiles.resolve(profile, common_fraction=common_fraction)
run = Run.at(run_dir, profile)
print(f"profile={profile} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## The cohort

`lib.ch01_data.prepare` checks the parameters before doing any work, loads the source, splits
the people, chooses the panel, and writes everything atomically into the run's `cohort/`
directory. Rerun with the same parameters and inputs, it reuses what is there."""),
code("""prepared = chapter.prepare_with(run, settings, seed, region=region, chromosome=chromosome, n_sites=n_sites,
                                source=source, vcf_path=vcf_path, populations_path=populations_path,
                                assembly=assembly, panel_path=panel_path)
cohort = prepared.cohort
figures.glue_numbers(chapter.numbers(prepared))
chapter.summary_table(prepared)""", metadata={"tags": ["hide-input"]}),
md("""The cohort has {glue:text}`n_samples` people. From the {glue:text}`n_source_sites` variant
sites of the source ({glue:text}`source_text`), the panel holds {glue:text}`n_sites`, chosen
from {glue:text}`panel_basis`: {glue:text}`n_common` common and {glue:text}`n_rare` rare.
Positions are on {glue:text}`assembly`.

**The real panel.** By default (the `quick` profile) the book runs on real people: 813
people of 1000 Genomes phase 3 genotyped at 998 sites of chromosome 22 (953 SNVs, 40 indels,
5 other), shipped in `data/1000g/` with its provenance. **Simulated cohorts** (the `smoke`
profile, or `-p source simulate`) come from the three populations of stdpopsim's
`OutOfAfrica_3G09` model {cite}`gutenkunst2009,adrion2020` — Yoruba (YRI), Utah residents of
northern European ancestry (CEU) and Han Chinese (CHB) — simulated on a window of chromosome
22 with msprime {cite}`baumdicker2022`, with HKY mutations so that transitions outnumber
transversions as in real genomes, and the reference allele from one simulated haplotype
outside the cohort, as a reference genome is one person's sequence. msprime simulates point
mutations, so a simulated cohort has no insertions or deletions.

**What the reader repaired.** Real files are messy. Every quirk the reader found and repaired
is listed here (nothing is repaired silently; what cannot be repaired is an error):"""),
code("""display(Markdown(chapter.repairs_markdown(prepared)))"""),
md("""## Who is in the cohort

Population labels matter twice: the splits are stratified by population so that members and
non-members have the same ancestry mix, and the utility chapter checks that a synthetic cohort
reproduces the population structure."""),
code("""composition = stats.population_composition(cohort)
charts.population_composition_chart(composition)""", metadata={"tags": ["hide-input"]}),
code("""stats.format_composition(composition)""", metadata={"tags": ["hide-input"]}),
md("""## Population structure

A principal-component analysis of the genotypes (each site centred and scaled by its
binomial standard deviation) is the standard picture of ancestry {cite:p}`patterson2006`: in
human data the first component separates African from non-African genomes — the
out-of-Africa split — and the next ones separate the continental groups that left Africa. A
synthetic cohort must reproduce this picture, not only per-site frequencies."""),
code("""pcs, explained = stats.pca(cohort, n_components=2)
charts.pca_chart(pcs, explained)""", metadata={"tags": ["hide-input"]}),
md("""## Members, non-members and public people

The people are split at random within each population, from the sample table alone (no
genotype is read before the split): {glue:text}`n_train` members (the models' training set),
{glue:text}`n_validation` for validation, {glue:text}`n_holdout` non-members (the holdout),
and {glue:text}`n_public` **public** people. The public split stands for data that is public
anyway, as a reference panel is: it is never part of private training and never attacked, so
the panel, the tokenizers and the GPT-2 base may be learned from it. Members and non-members
come from one pool, so a membership-inference attack in the privacy chapter must tell them
apart by what a model learned — not by which file or which population they came from. (The
dissertation took its members as the first samples of a file, 30% of which had never been
trained on.)"""),
code("""chapter.split_table(prepared)""", metadata={"tags": ["hide-input"]}),
md("""## The panel comes from public information

The panel decides what any model can ever write: the variant tokenizer has one token per
panel site, the decoding grammar allows only panel sites, and every synthetic VCF has the
panel's records. If the panel were every site where somebody in the cohort carries a
variant, a site carried by one member alone would be published with every model, whatever
its ε. So the panel is chosen without looking at the members, the validation or the holdout
people: here from {glue:text}`panel_basis`. Its sites, their alleles, their common/rare labels
(a minor allele frequency of 5% or more *among the public people*) and whether synthetic
genotypes are written phased never change when a member does — the test suite checks that
two cohorts differing in one member give byte-identical panels, tokenizers and grammars.

What it costs: a member's variant at a site outside the panel can never be written by any
model. The table counts the members' non-reference genotypes at the source's sites, the rare
sites (cohort ALT frequency below 5%) that members carry, and those of them no public person
carries (which a panel chosen from the public people could never include). It is computed on
the members, so it is a **diagnostic outside the privacy guarantee**: kept in the run's
`diagnostics/`, never released. {glue:text}`genotype_coverage` of the members' non-reference
genotypes fall on panel sites; of the {glue:text}`rare_member_sites` rare sites members carry,
{glue:text}`rare_member_sites_off_panel` are off the panel, and {glue:text}`rare_member_sites_no_public`
are carried by no public person."""),
code("""chapter.coverage_table(prepared)""", metadata={"tags": ["hide-input"]}),
md("""## Variants per person

Each person carries a non-reference genotype at only a fraction of the panel's sites.
Africans carry more variants than people of non-African ancestry: the out-of-Africa
bottleneck removed much of the diversity that African populations kept — one of the first
things a synthetic cohort must reproduce."""),
code("""per_sample = stats.variants_per_sample(cohort)
figures.glue_numbers({"mean_non_ref": f"{per_sample['n_non_ref'].mean():.1f}"})
charts.variants_per_sample_chart(per_sample)""", metadata={"tags": ["hide-input"]}),
code("""stats.variants_per_population(per_sample)""", metadata={"tags": ["hide-input"]}),
md("""On average a person carries {glue:text}`mean_non_ref` non-reference genotypes on the panel.
That number is the length of a **sparse** profile (only the non-reference records); a **dense**
profile lists all {glue:text}`n_sites` sites, `0|0` included, as the dissertation's did.

## The allele-frequency spectrum

Most variants are rare: in any human sample, the number of sites falls steeply with the
frequency of the minor allele, because most mutations are young. The panel keeps a mix of
common and rare sites, so its spectrum is shaped by how the panel was chosen as well as by
the cohort."""),
code("""afs = stats.allele_frequency_spectrum(cohort)
figures.glue_numbers({"singleton_fraction": f"{afs['singleton_fraction']:.1%}"})
charts.allele_frequency_spectrum_chart(afs["spectrum"])""", metadata={"tags": ["hide-input"]}),
code("""charts.site_frequency_spectrum_chart(afs["sfs"])""", metadata={"tags": ["hide-input"]}),
md("""{glue:text}`singleton_fraction` of the panel's sites are singletons (one copy of the ALT
allele in the whole cohort): the variants that identify a person most directly, and the
ones a model that memorises would reproduce.

## Variant types

Single-nucleotide variants (SNVs) dominate; among them, transitions (A↔G, C↔T) outnumber
transversions about two to one in human genomes (Ts/Tv ≈ 2.0–2.1 genome-wide), because
methylated cytosines mutate to thymine far more often than other changes happen."""),
code("""types = stats.variant_type_summary(cohort)
figures.glue_numbers({"ts_tv": f"{stats.ts_tv(cohort)['ts_tv']:.2f}"})
charts.variant_types_chart(types)""", metadata={"tags": ["hide-input"]}),
code("""stats.format_variant_types(types)""", metadata={"tags": ["hide-input"]}),
md("""The panel's Ts/Tv is {glue:text}`ts_tv`.

## Where the variants lie

Chromosome 22 is acrocentric: its short arm (the first ~16 Mb) is repetitive and has no
variant calls in 1000 Genomes. The density of the panel's sites along the chromosome shows
the window the cohort covers and any gaps in it."""),
code("""charts.density_chart(stats.density(cohort), contig=stats.contig_label(cohort))""",
     metadata={"tags": ["hide-input"]}),
md("""## Beside the real chromosome 22

The same tool computes both columns below: `bcftools stats` {cite:p}`danecek2021` (through
pysam, which wraps HTSlib {cite:p}`bonfield2021`) on this cohort's VCF, and the
`bcftools stats` of the whole 1000 Genomes phase 3 chromosome 22 (2,504 people, 1.1 million
records, shipped in `data/1000g/`). The panel is a selection — its mix of common and rare
sites depends on how it was chosen — so its frequency rows differ from the whole
chromosome's by design; its variant types and Ts/Tv should not."""),
code("""comparison = stats.compare_with_reference_file(prepared.paths["vcf"], reference_stats_path)
charts.comparison_chart(comparison)""", metadata={"tags": ["hide-input"]}),
code("""stats.format_comparison(comparison)""", metadata={"tags": ["hide-input"]}),
md("""## The profiles

This is what a language model reads: one line of records per person. Here are the first
records of one non-member's sparse profile, and the lengths of both representations."""),
code("""print(chapter.example_profile(run))
chapter.profile_length_table(run, cohort.n_sites)""", metadata={"tags": ["hide-input"]}),
md("""## What this chapter wrote

Later chapters read only these files (and never recompute them). The manifest records each
file's checksum and the parameters that made it. `cohort/` holds the real people (never
released); `cohort/panel.json` is the public panel; `diagnostics/` holds what was computed
on the members outside any guarantee."""),
code("""chapter.written_files(prepared, run)""", metadata={"tags": ["hide-input"]}),
]

write(cells, "01_data")
