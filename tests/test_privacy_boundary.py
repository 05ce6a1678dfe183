"""The privacy boundary: what a run releases besides a DP-trained model (the panel of
sites, the tokenizers, the decoding grammar) is the same, byte for byte, for two cohorts
that differ in one training member.

Two real cohorts are made from the committed 1000 Genomes panel (813 people, 998 sites):
the original, and one where a single member's genotypes are replaced -- they carry the ALT
allele, homozygous, at every site where no public person does (the variants a panel chosen
from the whole cohort would have picked up because of them). Both go through the data and
tokenization chapters' code (a panel chosen from the public people, and a panel declared
public); everything public must come out identical, while the members' profiles and the
panel's coverage diagnostics (computed on the members) do change, so the test is not
vacuous.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from lib.runs import artefacts
from lib import ch01_data, ch02_tokenization
from lib.lm import generation
from lib.genomes import panel, profiletext, splits, vcf
from lib.core import rundir
from lib.runs.run import Run

ROOT = Path(__file__).resolve().parent.parent
REAL_VCF = ROOT / "data" / "1000g" / "1000g_chr22_panel998.vcf.gz"
REAL_POPULATIONS = ROOT / "data" / "1000g" / "1000g_samples_panel998.tsv"
SEED = 11
FRACTIONS = dict(validation_fraction=0.15, holdout_fraction=0.15, public_fraction=0.1)


def neighbouring_vcfs(tmp: Path) -> tuple[Path, Path, str]:
    """The real panel written twice: as it is, and with one training member's genotypes
    replaced (homozygous ALT wherever no public person carries the ALT allele)."""
    cohort = vcf.read_vcf(REAL_VCF, populations_path=REAL_POPULATIONS, assembly="GRCh37")
    members = splits.make_splits(cohort.samples, seed=SEED, **FRACTIONS)
    member = members["train"][0]
    table = panel.site_table(cohort, {"public": members["public"]})
    changed = cohort.subset()
    column = cohort.sample_ids.index(member)
    target = (table["carriers_public"].to_numpy() == 0)
    changed.genotypes[target, column] = 1
    original, neighbour = tmp / "original.vcf.gz", tmp / "neighbour.vcf.gz"
    vcf.write_vcf(cohort, original)
    vcf.write_vcf(changed, neighbour)
    assert int(target.sum()) > 100  # the member now carries hundreds of variants no public person has
    return original, neighbour, member


def released(run: Path) -> dict[str, bytes]:
    """Every file of the run that a release depends on besides the weights: the public
    panel and the tokenizers (all their files)."""
    files = {"cohort/panel.json": Run.of(run).cohort_paths()["panel"].read_bytes()}
    for path in sorted((run / "tokenizers").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(run))] = path.read_bytes()
    return files


def grammar_fingerprint(run: Path) -> str:
    """A digest of what the decoding grammars allow: the order-free grammar of the variant
    tokenizer (its masks) and the ordered grammar of the BPE tokenizer (the masks along the
    first records of the panel)."""
    from lib.lm import tokenization as tk

    public_panel, phased = artefacts.load_panel(run)
    digest = hashlib.sha256()
    site_set = generation.panel_grammar(tk.load(run, "variant"), public_panel, phased)
    digest.update(site_set.start_mask.numpy().tobytes())
    for k in sorted(site_set.genotype_masks):
        digest.update(site_set.genotype_masks[k].numpy().tobytes())
    digest.update(np.asarray(site_set.site_ids).tobytes())
    bpe = tk.load(run, "bpe")
    ordered = generation.panel_grammar(bpe, public_panel, phased, order="sorted")
    state = ordered.start()
    text = profiletext.site_keys(public_panel)[0] + "_0|1"
    for token in bpe.encode(text, add_special_tokens=False):
        digest.update(ordered.allowed(state).numpy().tobytes())
        state = ordered.advance(state, token)
    return digest.hexdigest()


def prepare_and_tokenize(run: Path, source_vcf: Path, panel_path: Path | None) -> None:
    ch01_data.prepare(run, ch01_data.DataSpec(source="vcf", vcf_path=str(source_vcf),
                                              populations_path=str(REAL_POPULATIONS), assembly="GRCh37",
                                              panel_path=str(panel_path) if panel_path else None, seed=SEED,
                                              n_sites=None if panel_path else 150, common_fraction=0.2, **FRACTIONS),
                           progress=False)
    texts = ch02_tokenization.model_texts(run)
    ch02_tokenization.build_tokenizers(run, texts, vocab_size=500)


@pytest.fixture(scope="module")
def vcfs(tmp_path_factory):
    return neighbouring_vcfs(tmp_path_factory.mktemp("neighbours"))


@pytest.mark.parametrize("declared", [False, True], ids=["panel-from-public-people", "declared-site-list"])
def test_one_member_changes_nothing_public(tmp_path, vcfs, declared):
    original, neighbour, member = vcfs
    runs = {}
    for label, source in (("original", original), ("neighbour", neighbour)):
        run = rundir.run_path(tmp_path / label, "smoke")
        prepare_and_tokenize(run, source, source if declared else None)
        runs[label] = run
    a, b = released(runs["original"]), released(runs["neighbour"])
    assert set(a) == set(b) and len(a) >= 9  # panel.json and the files of three tokenizers
    assert [name for name in a if a[name] != b[name]] == []
    assert grammar_fingerprint(runs["original"]) == grammar_fingerprint(runs["neighbour"])
    # ... while what is private did change: the coverage diagnostics (computed on the
    # members) and, on a declared panel, the member's profile; on a panel chosen from the
    # public people none of the member's new variants is a panel site, so no model can
    # ever write them and their profile on the panel is unchanged
    profiles = {label: artefacts.read_profiles(run).set_index("sample")["variants"] for label, run in runs.items()}
    if declared:
        assert len(profiles["neighbour"][member]) > len(profiles["original"][member]) + 100
    else:
        assert profiles["neighbour"][member] == profiles["original"][member]
    coverage = {label: ch01_data.read_prepared(run, reused=True).coverage for label, run in runs.items()}
    assert not coverage["original"].equals(coverage["neighbour"])


def test_a_panel_from_everyone_would_have_changed(vcfs):
    """The check above can fail: choosing the panel from every person's genotypes (what
    the book used to do) gives a different panel for the two cohorts."""
    original, neighbour, _ = vcfs
    chosen = []
    for source in (original, neighbour):
        cohort = vcf.read_vcf(source, populations_path=REAL_POPULATIONS)
        table = panel.site_table(cohort, {})
        maf = panel.minor_allele_frequency(table, "all")
        index, _, _ = panel.choose_sites(maf, table["polymorphic_all"].to_numpy(), 150, 0.2, SEED)
        chosen.append(table["key"].iloc[index].tolist())
    assert chosen[0] != chosen[1]
