"""Tokenizers (lib.lm.tokenization) and what their vocabularies disclose (lib.lm.vocab_privacy).

The ``gpt2`` tokenizer is checked on a GPT-2-format tokenizer made here (``vocab.json`` +
``merges.txt``, trained with the ``tokenizers`` library: conftest's ``gpt2_dir``), so every
test runs in a fresh clone; nothing is looked up beside the repository or downloaded."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_declared_run
from lib.runs import artefacts
from lib.genomes import profiletext
from lib.genomes.cohort import SUPERPOPULATIONS
from lib.lm import tokenization as tk
from lib.lm import vocab_privacy as vp


# ---------------------------------------------------------------------------- data

@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    """45 simulated people; a panel of 120 sites drawn from the simulated sites declared
    public, so it holds rare sites that only members carry."""
    run = tmp_path_factory.mktemp("tok") / "run"
    prepared = make_declared_run(run, seed=42, n_sites=120, samples_per_population=15, sim_length=400_000)
    assert prepared.panel["declared"] and prepared.panel["n_sites"] == 120
    return run


@pytest.fixture(scope="module")
def cohort(cohort_run):
    sparse, dense = artefacts.read_profiles(cohort_run), artefacts.read_profiles(cohort_run, dense=True)
    splits = artefacts.load_splits(cohort_run)
    sites = artefacts.read_panel_json(cohort_run)["sites"]
    pop = dict(zip(sparse["sample"], sparse["superpopulation"]))
    return {"sparse": dict(zip(sparse["sample"], sparse["variants"])),
            "dense": dict(zip(dense["sample"], dense["variants"])), "population": pop,
            "splits": splits, "sites": sites}


def texts(cohort, kind, split=None):
    ids = cohort["splits"][split] if split else list(cohort[kind])
    return [tk.sample_to_text(cohort[kind][s], cohort["population"][s]) for s in ids]


@pytest.fixture(scope="module")
def tokenizers(cohort, gpt2_dir):
    """The four tokenizers as the book builds them: BPE learned on the public people's
    sparse and dense texts, the variant tokenizer of the public panel, GPT-2's format."""
    public = texts(cohort, "sparse", "public") + texts(cohort, "dense", "public")
    built = {"character": tk.build_tokenizer("character"),
             "bpe": tk.build_tokenizer("bpe", train_texts=public, vocab_size=600, split="public"),
             "variant": tk.build_tokenizer("variant", panel_sites=cohort["sites"]),
             "gpt2": tk.build_tokenizer("gpt2", gpt2_path=gpt2_dir)}
    assert all(tok is not None for tok in built.values())  # every tokenizer is tested, none skipped
    return built


# ---------------------------------------------------------------------------- generated profiles

BASES = st.text("ACGT", min_size=1, max_size=4)
GT_ALLELE = st.sampled_from([".", "0", "1", "2", "3"])


@st.composite
def records(draw, positions=st.integers(1, 51_304_566)):
    pos = draw(positions)
    ref = draw(BASES)
    alts = draw(st.lists(BASES, min_size=1, max_size=3))  # SNVs, indels, multi-allelic
    gt = draw(GT_ALLELE) + draw(st.sampled_from("|/")) + draw(GT_ALLELE)  # phased, unphased, missing
    return f"22:{pos}:{ref}>{','.join(alts)}_{gt}"


POPS = st.one_of(st.none(), st.sampled_from(SUPERPOPULATIONS))
SAMPLES = st.tuples(st.lists(records(), max_size=12), POPS)


def test_text_round_trip_and_validation():
    recs = ["22:100:A>G_0|1", "22:200:AT>A,ATT_2/.", "22:300:C>T_.|."]
    text = tk.sample_to_text(recs, "EUR")
    assert text == "<START_SAMPLE><POP_EUR>22:100:A>G_0|1<MUT_SEP>22:200:AT>A,ATT_2/.<MUT_SEP>22:300:C>T_.|.<END_SAMPLE>"
    assert tk.text_to_sample(text) == tk.Sample(recs, "EUR")
    assert tk.text_to_sample(tk.sample_to_text([], None)) == tk.Sample([], None)
    for bad in ([""], ["22:1:A>G_0|1<MUT_SEP>"], ["22:1:A>G 0|1"]):
        with pytest.raises(ValueError):
            tk.sample_to_text(bad)
    with pytest.raises(ValueError, match="super-population"):
        tk.sample_to_text(recs, "YRI")


@pytest.mark.parametrize("name", ["character", "bpe", "gpt2"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=SAMPLES)
def test_round_trip_any_profile(tokenizers, name, sample):
    tok = tokenizers[name]
    recs, pop = sample
    text = tk.sample_to_text(recs, pop)
    ids = tok.encode(text, add_special_tokens=False)
    assert tk.decode(tok, ids) == text
    assert tk.decode_sample(tok, tk.encode_sample(tok, recs, pop)) == tk.Sample(list(recs), pop)
    assert tok.unk_token_id not in ids


@settings(max_examples=60, deadline=None)
@given(data_=st.data())
def test_variant_round_trip_on_panel_records(data_):
    panel = data_.draw(st.lists(records(), min_size=1, max_size=20, unique_by=lambda r: r.split(":")[1]))
    sites = [r.rsplit("_", 1)[0] for r in panel]
    tok = tk.variant_tokenizer(sites)
    max_alt = max(s.count(",") + 1 for s in sites)
    chosen = data_.draw(st.lists(st.sampled_from(sites), max_size=12))
    gts = [data_.draw(st.sampled_from(tk.genotype_tokens(max_alt))) for _ in chosen]
    recs, pop = [s + g for s, g in zip(chosen, gts)], data_.draw(POPS)
    text = tk.sample_to_text(recs, pop)
    ids = tok.encode(text, add_special_tokens=False)
    assert tk.decode(tok, ids) == text and tok.unk_token_id not in ids
    assert tk.decode_sample(tok, ids) == tk.Sample(recs, pop)
    assert len(ids) == 2 + (pop is not None) + 2 * len(recs)  # the separator is implicit


def test_round_trip_on_the_cohort(cohort, tokenizers):
    for kind in ("sparse", "dense"):
        for text in texts(cohort, kind)[:20]:
            for name, tok in tokenizers.items():
                assert tk.decode(tok, tok.encode(text, add_special_tokens=False)) == text, name


def test_variant_unknown_sites_map_to_unk(cohort, tokenizers):
    tok = tokenizers["variant"]
    inside = cohort["sites"][0] + "_0|1"
    outside = "22:1:A>G_1|1"  # position 1 is not in any panel
    ids = tk.encode_sample(tok, [inside, outside], "AFR")
    assert tok.convert_ids_to_tokens(ids).count(tk.UNK) == 1
    back = tk.decode_sample(tok, ids)
    assert back.records[0] == inside  # the in-panel record survives
    assert back.records[1] == tk.UNK + "_1|1" != outside  # the round trip is not promised outside the panel
    # a genotype with more alleles than any panel site is unknown too
    assert tok.unk_token_id in tk.encode_sample(tok, [cohort["sites"][0] + "_9|9"])


def test_character_unknown_character(tokenizers):
    tok = tokenizers["character"]
    ids = tok.encode("22:1:a>g_0|1", add_special_tokens=False)
    assert ids.count(tok.unk_token_id) == 2


def test_special_tokens_identical(tokenizers):
    expected = tk.ALL_SPECIAL_TOKENS
    assert len(set(expected)) == len(expected) == 11
    for name, tok in tokenizers.items():
        # the variant tokenizer's records are self-delimiting: it drops <MUT_SEP> (and writes it back)
        own = [t for t in expected if t != tk.SEP] if name == "variant" else expected
        assert tok.bos_token == "<START_SAMPLE>" and tok.eos_token == "<END_SAMPLE>", name
        assert tok.pad_token == "<PAD>" and tok.unk_token == "<UNK>", name
        assert tok.sep_token == (None if name == "variant" else "<MUT_SEP>"), name
        assert tk.record_separator(tok) == ("" if name == "variant" else tk.SEP), name
        assert sorted(tok.all_special_tokens) == sorted(own), name
        for token in own:  # each is one id, never split
            assert len(tok.encode(token, add_special_tokens=False)) == 1, (name, token)
    variant = tokenizers["variant"]
    assert variant.encode(tk.SEP, add_special_tokens=False) == []


def test_save_and_load(tmp_path, cohort, tokenizers):
    sample = texts(cohort, "sparse")[:5] + texts(cohort, "dense")[:2]
    for name, tok in tokenizers.items():
        path = tk.save(tok, tmp_path, name)
        assert path == tmp_path / "tokenizers" / name and (path / "tokenizer.json").exists()
        back = tk.load(tmp_path, name)
        assert back.get_vocab() == tok.get_vocab()
        for text in sample:
            assert back.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)
        assert back.provenance["name"] == name and back.provenance["vocab_size"] == len(tok)
    bpe = tk.load(tmp_path, "bpe").provenance
    assert bpe["split"] == "public" and bpe["n_samples"] == 2 * len(cohort["splits"]["public"])
    assert tk.load(tmp_path, "gpt2").provenance["source"] == str(tokenizers["gpt2"].provenance["source"])
    assert tk.load(tmp_path, "variant").provenance["panel_sha256"] == tk.texts_sha256(cohort["sites"])
    tk.save(tokenizers["character"], tmp_path, "bpe")  # replacing a saved tokenizer
    assert len(tk.load(tmp_path, "bpe")) == len(tokenizers["character"])
    with pytest.raises(FileNotFoundError, match="02_tokenization"):
        tk.load(tmp_path, "missing")


def test_works_with_a_transformers_model(cohort, tokenizers):
    torch = pytest.importorskip("torch")
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = tokenizers["variant"]
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=512, n_embd=16, n_layer=1, n_head=2,
                                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    batch = tok(texts(cohort, "sparse")[:3], add_special_tokens=False, padding=True, return_tensors="pt")
    out = model(**batch, labels=batch["input_ids"])
    assert torch.isfinite(out.loss)


def test_variant_vocabulary_is_a_function_of_the_panel(cohort):
    sites = cohort["sites"]
    a = tk.variant_tokenizer(sites)
    b = tk.variant_tokenizer(list(sites))
    assert a.get_vocab() == b.get_vocab()  # whatever the members or genotypes
    changed = tk.variant_tokenizer(sites[:-1] + ["22:1:A>C"])
    assert changed.get_vocab() != a.get_vocab()
    assert "22:1:A>C" in changed.get_vocab() and sites[-1] not in changed.get_vocab()
    assert tk.variant_vocabulary(sites) == tk.variant_vocabulary(sites)
    with pytest.raises(ValueError):
        tk.variant_tokenizer([])


def test_bpe_learns_only_from_its_training_texts():
    train = [tk.sample_to_text(["22:11111111:A>G_0|1", "22:22222222:C>T_1|1"])] * 30
    tok = tk.bpe_tokenizer(train, vocab_size=400, pre_split="record")
    strings = tk.vocabulary_strings(tok)
    assert any("11111111" in s for s in strings)
    assert not any("33333333" in s or "C>A" in s for s in strings)  # never seen, never learned
    assert tok.provenance["text_sha256"] == tk.texts_sha256(train) and tok.provenance["n_samples"] == 30
    assert len(tok) <= 400
    with pytest.raises(ValueError):
        tk.bpe_tokenizer([], vocab_size=100)


def test_tokens_per_sample_ordering(cohort, tokenizers):
    mean = {(name, kind): np.mean(tk.tokens_per_sample(tok, texts(cohort, kind)))
            for name, tok in tokenizers.items() for kind in ("sparse", "dense")}
    assert mean[("variant", "sparse")] * 10 < mean[("character", "dense")]
    assert mean[("variant", "sparse")] < mean[("bpe", "dense")] < mean[("character", "dense")]
    assert mean[("variant", "dense")] == 2 + 1 + 2 * len(cohort["sites"])  # BOS, POP, (site, genotype) per site, EOS


def test_build_tokenizer_registry(cohort):
    assert tk.TOKENIZERS == ("character", "bpe", "variant", "record", "gpt2")
    with pytest.raises(ValueError, match="unknown"):
        tk.build_tokenizer("words")
    with pytest.raises(ValueError, match="train_texts"):
        tk.build_tokenizer("bpe")
    with pytest.raises(ValueError, match="panel_sites"):
        tk.build_tokenizer("variant")
    with pytest.raises(ValueError, match="panel_sites"):
        tk.build_tokenizer("record")
    assert tk.build_tokenizer("gpt2", gpt2_path="/nonexistent/gpt2") is None


def test_gpt2_fallback_refuses_a_tokenizer_without_byte_tokens(tmp_path, monkeypatch):
    """Nothing in the Hugging Face cache (transformers then hands back a one-token tokenizer,
    checked on this machine): no GPT-2 tokenizer, not a broken one. A directory holding a
    vocabulary without byte tokens is a clear error naming it."""
    monkeypatch.setattr(tk, "default_gpt2_paths", lambda: [tmp_path / "absent"])
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert tk.gpt2_tokenizer() is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "vocab.json").write_text('{"a": 0, "b": 1, "ab": 2}')
    (broken / "merges.txt").write_text("#version: 0.2\na b\n")
    with pytest.raises(ValueError, match="byte tokens"):
        tk.gpt2_tokenizer(broken)



def test_gpt2_tokenizer_reads_gpt2_files(gpt2_dir, tokenizers):
    """``gpt2_tokenizer(path)`` on ``vocab.json`` + ``merges.txt``: the files' vocabulary and
    merges (the same ids as the byte-level BPE that wrote them, GPT-2's pre-tokenization)
    plus the book's special tokens, each one id."""
    from tokenizers import ByteLevelBPETokenizer

    tok = tk.gpt2_tokenizer(gpt2_dir)
    files = json.loads((gpt2_dir / "vocab.json").read_text())
    vocab = tok.get_vocab()
    assert {t: vocab[t] for t in files} == files  # every id of the files kept as it is
    assert len(tok) == len(files) + len(tk.ALL_SPECIAL_TOKENS)
    assert tok.provenance == {"tokenizer": "gpt2", "source": str(gpt2_dir)}
    assert tk.build_tokenizer("gpt2", gpt2_path=gpt2_dir).get_vocab() == vocab == tokenizers["gpt2"].get_vocab()
    reference = ByteLevelBPETokenizer(str(gpt2_dir / "vocab.json"), str(gpt2_dir / "merges.txt"))
    for text in ("The quick brown fox", "22:17327068:A>G_0|1", "chromosome 22 is long, 51,304,566 bp"):
        ids = tok.encode(text, add_special_tokens=False)
        assert ids == reference.encode(text).ids, text
        assert len(ids) < len(text.encode()) or text.startswith("22:")  # merges are used on prose
    record = tok.encode("22:17327068:A>G_0|1" + tk.SEP + "22:1:C>T_1|1", add_special_tokens=False)
    assert tok.sep_token_id in record and tok.unk_token_id not in record
    # a saved tokenizer (tokenizer.json) reads back the same
    saved = tmp = gpt2_dir.parent / "gpt2-saved"
    tok.save_pretrained(str(tmp))
    assert tk.gpt2_tokenizer(saved).get_vocab() == vocab
    assert tk.gpt2_tokenizer(gpt2_dir.parent / "no-such-dir") is None

# ---------------------------------------------------------------------------- vocabulary disclosure

def test_auc_and_bootstrap():
    assert vp.auc([1, 2, 3], [0, 0]) == 1.0 and vp.auc([0], [1]) == 0.0 and vp.auc([1, 1], [1]) == 0.5
    value, lo, hi = vp.bootstrap_auc([0] * 10, [0] * 10)
    assert value == lo == hi == 0.5
    value, lo, hi = vp.bootstrap_auc(np.arange(50) + 10, np.arange(50), seed=1)
    assert lo <= value <= hi and 0.5 < value < 1


def test_covered_positions():
    covered = vp.covered_positions({"22:1732", "7068:A", "17327068:A>G_0|1"})
    assert "17327068" in covered and "7327068" in covered and "1732" in covered
    assert "173270680" not in covered and "123" not in covered  # too short to count


def test_member_specific_merges_are_measured():
    """Members carry rare sites nobody else has: a BPE learned on them discloses those
    positions; one learned on the reference (non-members) does not."""
    common = ["22:10000000:A>G_0|1", "22:20000000:C>T_1|1"]
    samples = {f"m{i}": common + [f"22:3{i:07d}:A>G_0|1"] for i in range(20)}
    samples |= {f"h{i}": common + [f"22:4{i:07d}:A>G_0|1"] for i in range(20)}
    samples |= {f"v{i}": common + [f"22:5{i:07d}:A>G_0|1"] for i in range(20)}
    splits = {"train": [f"m{i}" for i in range(20)], "holdout": [f"h{i}" for i in range(20)],
              "validation": [f"v{i}" for i in range(20)]}
    to_text = lambda ids: [tk.sample_to_text(samples[s]) for s in ids]  # noqa: E731
    member = tk.bpe_tokenizer(to_text(splits["train"]), vocab_size=2000, pre_split="record")
    reference = tk.bpe_tokenizer(to_text(splits["validation"]), vocab_size=2000, pre_split="record")
    specific = vp.specific_tokens(tk.vocabulary_strings(member), tk.vocabulary_strings(reference))
    table = vp.disclosure(specific, samples, splits, max_carrier_fraction=0.05).set_index("carried only by")
    assert table.loc["candidate members", "rare sites"] == 20
    assert table.loc["candidate members", "position in a specific token"] == 20
    assert table.loc["non-members (holdout)", "position in a specific token"] == 0
    result = vp.membership_test(specific, samples, splits, n_boot=200)
    assert result["auc"] == 1.0 and result["ci_low"] == 1.0


def test_variant_vocabulary_discloses_nothing(cohort):
    """Built for two different member sets, the variant vocabulary is the same, so no token
    is specific and the membership test is at chance exactly."""
    splits = cohort["splits"]
    swapped = {"train": splits["holdout"] + splits["validation"], "validation": splits["train"][:10],
               "holdout": splits["train"][10:]}
    built_a = tk.build_tokenizer("variant", panel_sites=cohort["sites"])  # members: splits["train"]
    built_b = tk.build_tokenizer("variant", panel_sites=cohort["sites"])  # members: swapped["train"]
    assert built_a.get_vocab() == built_b.get_vocab()
    specific = vp.specific_tokens(tk.vocabulary_strings(built_a), tk.vocabulary_strings(built_b))
    assert specific == set()
    for s in (splits, swapped):
        result = vp.membership_test(specific, cohort["sparse"], s, n_boot=100)
        assert result["auc"] == result["ci_low"] == result["ci_high"] == 0.5


def test_bpe_on_sparse_members_discloses_rare_sites(cohort):
    splits = cohort["splits"]
    member = tk.bpe_tokenizer(texts(cohort, "sparse", "train"), vocab_size=2000)
    reference = tk.bpe_tokenizer(texts(cohort, "sparse", "validation"), vocab_size=2000)
    specific = vp.specific_tokens(tk.vocabulary_strings(member), tk.vocabulary_strings(reference))
    table = vp.disclosure(specific, cohort["sparse"], splits).set_index("carried only by")
    assert table.loc["candidate members", "position in a specific token"] > 0
    assert table.loc["non-members (holdout)", "position in a specific token"] == 0


# ---------------------------------------------------------------------------- length table and its chart

def test_length_table(cohort, tokenizers):
    kinds = {"dense": dict(zip(cohort["splits"]["train"], texts(cohort, "dense", "train"))),
             "sparse": texts(cohort, "sparse", "train")}  # a mapping or a list
    table = tk.length_table(tokenizers, kinds)
    assert list(table.columns) == ["tokenizer", "profile", "vocabulary", "mean tokens", "max tokens",
                                   "samples per second"]
    assert list(zip(table["tokenizer"], table["profile"])) == [(n, k) for n in tokenizers for k in kinds]
    for row in table.itertuples(index=False):
        tok = tokenizers[row.tokenizer]
        lengths = tk.tokens_per_sample(tok, texts(cohort, row.profile, "train"))
        assert row.vocabulary == len(tok)
        assert row[3] == pytest.approx(np.mean(lengths)) and row[4] == max(lengths)
        assert row[5] > 0  # measured: only its sign is certain
    with pytest.raises(ValueError, match="no sparse texts"):
        tk.length_table(tokenizers, {"sparse": []})


def test_tokens_per_sample_chart(cohort, tokenizers):
    import altair as alt

    from lib.book import charts
    from conftest import svg_marks, validate

    lengths = tk.length_table(tokenizers, {"dense": texts(cohort, "dense")[:10], "sparse": texts(cohort, "sparse")[:10]})
    chart = charts.tokens_per_sample_chart(lengths)
    spec = validate(chart)
    assert spec["mark"]["type"] == "circle"  # dots: bars have no baseline on a log scale
    enc = spec["encoding"]
    assert enc["x"]["field"] == "mean tokens" and enc["x"]["scale"]["type"] == "log"
    assert enc["y"]["field"] == "tokenizer" and enc["y"]["sort"] == list(tokenizers)
    assert enc["yOffset"]["field"] == "profile"
    assert enc["color"]["scale"] == {"domain": ["dense", "sparse"],
                                     "range": [charts.PROFILE_COLORS["dense"], charts.PROFILE_COLORS["sparse"]]}
    assert {t["field"] for t in enc["tooltip"]} == {"tokenizer", "profile", "mean tokens", "max tokens", "vocabulary"}
    assert "samples per second" not in json.dumps(spec)  # the timing stays out of the (deterministic) chart
    assert svg_marks(chart) == {"mark-symbol": len(lengths)}  # one dot drawn per row
    # the bug this chart replaces: bars on a log scale are in the SVG but have no width
    bars = alt.Chart(lengths).mark_bar().encode(x=alt.X("mean tokens:Q", scale=alt.Scale(type="log")),
                                                y="tokenizer:N", yOffset="profile:N")
    assert svg_marks(bars) == {"mark-rect": 0}
    with pytest.raises(ValueError, match="tokens_per_sample_chart needs"):
        charts.tokens_per_sample_chart(lengths.drop(columns="max tokens"))
    with pytest.raises(ValueError, match="positive"):
        charts.tokens_per_sample_chart(lengths.assign(**{"mean tokens": 0.0}))


@settings(max_examples=60, deadline=None)
@given(data_=st.data())
def test_record_tokenizer_round_trip_one_token_per_record(data_):
    """One token per record: every phased, called, non-reference genotype of every panel
    site is a token of its own; a profile of them encodes to one id per record and decodes
    back exactly; ``0|0``, a missing allele or the other phasing is ``<UNK>``."""
    panel = data_.draw(st.lists(records(), min_size=1, max_size=20, unique_by=lambda r: r.split(":")[1]))
    sites = [r.rsplit("_", 1)[0] for r in panel]
    tok = tk.record_tokenizer(sites, phased=True)
    n_alts = {s: s.split(">")[1].count(",") + 1 for s in sites}
    assert len(tok.get_vocab()) == len(tk.ALL_SPECIAL_TOKENS) - 1 + sum(
        (k + 1) ** 2 - 1 for k in n_alts.values())  # no <MUT_SEP>; (k+1)^2 phased genotypes less 0|0
    chosen = data_.draw(st.lists(st.sampled_from(sites), max_size=12))
    recs = [f"{s}_{data_.draw(st.sampled_from(profiletext.possible_genotypes(n_alts[s])))}" for s in chosen]
    pop = data_.draw(POPS)
    ids = tk.encode_sample(tok, recs, pop)
    assert len(ids) == 2 + (pop is not None) + len(recs) and tok.unk_token_id not in ids
    assert tk.decode_sample(tok, ids) == tk.Sample(recs, pop)
    for odd in (f"{sites[0]}_0|0", f"{sites[0]}_.|1", f"{sites[0]}_0/1"):
        assert tok.unk_token_id in tk.encode_sample(tok, [odd])
    assert tk.record_unit(tok) == "record" and tk.record_unit(tk.variant_tokenizer(sites)) == "site+genotype"
    assert tk.record_unit(tk.character_tokenizer()) == "text"
