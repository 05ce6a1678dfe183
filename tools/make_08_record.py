"""Write book/08_record.ipynb (without outputs) from the cells below.

The appendix is kept as this script so that its cells can be reviewed as code; run
``python tools/make_08_record.py`` after editing and commit both files.
"""
from notebooks import code, md, write

HIDE = {"tags": ["hide-input"]}

cells = [
md("""# Appendix: the reproducible record

Every artefact this book made is listed in the run directory's `manifest.json`, with the
parameters that made it, the code (git commit) it was made with and its SHA-256. A chapter
reuses an artefact only when its parameters and checksum are unchanged, so the manifest is
also what makes a rerun fast. This page shows the manifest of the run the book was built on
(run {glue:text}`run_name`): {glue:text}`n_chapters` chapters executed,
{glue:text}`n_artefacts` artefacts, of which {glue:text}`n_matching` still have, on disk,
the checksum recorded when they were written (checked when this page was built). Commits
that made them: {glue:text}`commits`.

The same parameters and seed give the same artefacts: the synthetic VCFs and the metric
tables of two runs with one seed are byte-identical on this machine (a test runs the smoke
profile twice). On a GPU, floating-point kernels differ, so trained weights, and the
cohorts and numbers that follow from them, may differ in their last digits."""),
md("""## Parameters"""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>""", metadata={"tags": ["parameters"]}),
code("""import pandas as pd

from lib import ch08_record as chapter
from lib.runs.run import Run
from lib.book import figures

figures.enable()
pd.set_option("display.max_colwidth", 400)
pd.set_option("display.max_rows", 1000)
run = Run.at(run_dir, profile)
manifest = chapter.load_manifest(run)
artefacts = chapter.artefacts_table(run, manifest)
figures.glue_numbers(chapter.numbers(run, manifest, artefacts))
print(f"profile={profile} run directory: {run}")""", metadata=HIDE),
md("""## Chapters

Each chapter as it was last executed on this run: the parameters papermill gave it, the
seconds it took and the commit of the code."""),
code("""chapter.chapters_table(manifest)""", metadata=HIDE),
md("""## Inputs

The checksums of the inputs the artefacts were made from, as their parameters record
them: the source VCF and population labels, the public site panel, the tokenizers, the
public texts the bases were trained on, and the bases' weights."""),
code("""chapter.inputs_table(manifest)""", metadata=HIDE),
md("""## Packages"""),
code("""chapter.versions_table(manifest)""", metadata=HIDE),
md("""## Artefacts

Every artefact of the run: the chapter that wrote it, its seed, its SHA-256 and whether the
file still has it."""),
code("""artefacts""", metadata=HIDE),
]

write(cells, "08_record")
