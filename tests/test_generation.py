"""lib.lm.generation: sampling filters, the panel grammar (its phasing given explicitly), validity.

The models here are real (a tiny GPT-2 from ``transformers``, untrained): constrained
decoding must give valid profiles whatever the model's weights, so an untrained model is
the hardest case, not an easy one.
"""
from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from lib.runs import artefacts
from lib import ch01_data
from lib.lm import generation
from lib.genomes import profiletext
from lib.core import rundir
from lib.genomes.profiletext import site_keys

SPECIAL = ["<PAD>", "<START>", "<END>", "<SEP>"]


@pytest.fixture(scope="module")
def public_panel(tmp_path_factory):
    """The public panel of a small simulated run (its sites, no people) and its phasing."""
    run = rundir.run_path(tmp_path_factory.mktemp("gen") / "run", "smoke")
    ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=2, n_sites=40, sim_samples_per_population=8,
                                              sim_length=300_000, public_fraction=0.1), progress=False)
    return artefacts.load_panel(run)


@pytest.fixture(scope="module")
def panel(public_panel):
    panel, _ = public_panel
    assert panel.n_sites > 10 and panel.n_samples == 0  # the grammar sees sites only, no person
    return panel


@pytest.fixture(scope="module")
def char_tokenizer():
    """One token per character of the record alphabet, plus the special tokens."""
    vocab = {t: i for i, t in enumerate(SPECIAL + list("0123456789ACGTN:>_|/,."))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<PAD>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tk.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<PAD>", bos_token="<START>",
                                   eos_token="<END>", additional_special_tokens=["<SEP>"])


@pytest.fixture(scope="module")
def model(char_tokenizer):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(char_tokenizer), n_positions=2048, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=char_tokenizer.bos_token_id, eos_token_id=char_tokenizer.eos_token_id)
    return GPT2LMHeadModel(config).eval()


def records_of(tokenizer, ids):
    text = tokenizer.decode(ids, skip_special_tokens=False)
    return text.split("<SEP>") if text else []


# ---------------------------------------------------------------------------- sampling filters

def test_top_k_and_top_p_filters():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = lambda x: torch.isfinite(x)[0].tolist()  # noqa: E731
    assert kept(generation.filter_logits(logits, top_k=2)) == [True, True, False, False]
    assert kept(generation.filter_logits(logits, top_p=0.5)) == [True, False, False, False]
    assert kept(generation.filter_logits(logits, top_p=0.8)) == [True, True, False, False]
    assert kept(generation.filter_logits(logits, top_p=0.81)) == [True, True, True, False]
    scaled = generation.filter_logits(logits, temperature=2.0)
    assert torch.allclose(scaled, logits / 2)
    with pytest.raises(ValueError, match="temperature=0 must be positive"):
        generation.SamplingConfig(temperature=0)


def test_possible_genotypes_follow_the_allele_count():
    assert profiletext.possible_genotypes(1) == ["0|1", "1|0", "1|1"]
    assert profiletext.possible_genotypes(1, sparse=False) == ["0|0", "0|1", "1|0", "1|1"]
    assert profiletext.possible_genotypes(2, phased=False) == ["0/1", "0/2", "1/1", "1/2", "2/2"]


# ---------------------------------------------------------------------------- the grammar

def test_grammar_accepts_exactly_the_valid_continuations(panel, char_tokenizer):
    keys = site_keys(panel)
    grammar = generation.PanelGrammar(char_tokenizer, keys, panel.sites["alts"].map(len).tolist(),
                                      separator="<SEP>", end="<END>")
    start = grammar.start()
    assert grammar.accepts(start, f"{keys[3]}_0|1<SEP>{keys[7]}_1|1<END>")
    assert not grammar.accepts(start, f"{keys[7]}_0|1<SEP>{keys[3]}_1|1")  # out of order
    assert not grammar.accepts(start, f"{keys[3]}_0|1<SEP>{keys[3]}_1|1")  # duplicate site
    assert not grammar.accepts(start, f"{keys[3]}_0|0")  # homozygous REF in a sparse profile
    assert not grammar.accepts(start, f"{keys[3]}_0|7")  # an allele the site does not have
    assert not grammar.accepts(start, f"22:{panel.sites['pos'].iloc[3] + 1}:")  # off the panel
    assert grammar.accepts(start, "<END>")  # a person with no ALT allele on the panel
    last = f"{keys[-1]}_1|0"
    state = grammar.advance(start, char_tokenizer.convert_tokens_to_ids("2"))
    assert grammar.allowed(state).sum() == 1  # after "2" only "2" (of "22:") can follow
    state = start
    for ch in last:
        state = grammar.advance(state, char_tokenizer.convert_tokens_to_ids(ch))
    allowed = grammar.allowed(state)
    assert allowed[char_tokenizer.eos_token_id] and not allowed[char_tokenizer.convert_tokens_to_ids("<SEP>")]


def test_dense_grammar_demands_every_site_in_order(panel, char_tokenizer):
    keys = site_keys(panel)[:3]
    grammar = generation.PanelGrammar(char_tokenizer, keys, panel.sites["alts"].map(len).tolist()[:3],
                                      separator="<SEP>", end="<END>", sparse=False)
    start = grammar.start()
    assert grammar.accepts(start, f"{keys[0]}_0|0<SEP>{keys[1]}_0|1<SEP>{keys[2]}_0|0<END>")
    assert not grammar.accepts(start, f"{keys[0]}_0|0<SEP>{keys[2]}_0|0")  # skipped a site
    assert not grammar.accepts(start, f"{keys[0]}_0|0<SEP>{keys[1]}_0|1<END>")  # ended early
    assert not grammar.accepts(start, "<END>")


@pytest.mark.parametrize("sparse", [True, False])
def test_constrained_decoding_is_always_valid(panel, char_tokenizer, model, sparse):
    keys = site_keys(panel)
    grammar = generation.PanelGrammar(char_tokenizer, keys, panel.sites["alts"].map(len).tolist(),
                                      separator="<SEP>", end="<END>", sparse=sparse)
    max_tokens = 25 * panel.n_sites + 10
    out = generation.generate(model, [char_tokenizer.bos_token_id], 24, char_tokenizer.eos_token_id,
                              generation.SamplingConfig(max_new_tokens=max_tokens, batch_size=12,
                                                        temperature=1.3, top_k=8),
                              constraint=grammar, seed=3)
    totals = {"records": 0, "valid": 0}
    for ids in out:
        counts = generation.validate_profile(records_of(char_tokenizer, ids), panel, sparse=sparse)
        totals = {k: totals[k] + counts[k] for k in totals}
        assert counts["valid"] == counts["records"], counts
        if not sparse:
            assert counts["valid"] == panel.n_sites
    assert totals["records"] > 0


def test_unconstrained_decoding_reports_invalid_records(panel, char_tokenizer, model):
    out = generation.generate(model, [char_tokenizer.bos_token_id], 8, char_tokenizer.eos_token_id,
                              generation.SamplingConfig(max_new_tokens=60, batch_size=8), seed=0)
    counts = [generation.validate_profile(records_of(char_tokenizer, ids), panel) for ids in out]
    assert sum(c["records"] for c in counts) > 0
    assert sum(c["valid"] for c in counts) < sum(c["records"] for c in counts)  # an untrained model babbles
    assert sum(c["malformed"] for c in counts) > 0


def test_the_cache_changes_nothing_but_speed(char_tokenizer, model):
    config = generation.SamplingConfig(max_new_tokens=30, batch_size=4, top_k=1)
    args = (model, [char_tokenizer.bos_token_id], 4, char_tokenizer.eos_token_id, config)
    assert generation.generate(*args, seed=5, use_cache=True) == generation.generate(*args, seed=5, use_cache=False)


def test_gpt2_cache_changes_nothing_but_speed(char_tokenizer):
    from lib.lm import models

    gpt2 = models.build_model("gpt2", {"block_size": 64, "n_layer": 1, "n_head": 2, "n_embd": 16},
                              char_tokenizer, seed=2)
    config = generation.SamplingConfig(max_new_tokens=30, batch_size=4, top_k=1)
    args = (gpt2, [char_tokenizer.bos_token_id], 4, char_tokenizer.eos_token_id, config)
    assert generation.generate(*args, seed=5, use_cache=True) == generation.generate(*args, seed=5, use_cache=False)


def test_generation_is_seeded(char_tokenizer, model):
    config = generation.SamplingConfig(max_new_tokens=20, batch_size=3)
    args = (model, [char_tokenizer.bos_token_id], 6, char_tokenizer.eos_token_id, config)
    assert generation.generate(*args, seed=1) == generation.generate(*args, seed=1)
    assert generation.generate(*args, seed=1) != generation.generate(*args, seed=2)


# ---------------------------------------------------------------------------- validity and the VCF

def test_validate_profile_names_each_fault(panel):
    keys = site_keys(panel)
    pos3 = int(panel.sites["pos"].iloc[3])
    ref3 = panel.sites["ref"].iloc[3]
    wrong_alt = next(b for b in "ACGT" if b != ref3 and b not in panel.sites["alts"].iloc[3])
    records = [f"{keys[5]}_0|1", "garbage", f"22:{pos3 + 1}:A>G_0|1", f"22:{pos3}:{ref3}>{wrong_alt}_0|1",
               f"{keys[6]}_0|5", f"{keys[2]}_1|1", f"{keys[5]}_1|1", f"{keys[9]}_1/1"]
    counts = generation.validate_profile(records, panel)
    assert counts == {"records": 8, "valid": 2, "malformed": 1, "off_panel": 1, "wrong_alleles": 1,
                      "bad_genotype": 1, "out_of_order": 1, "duplicate": 1}


def test_ordinary_pieces_cannot_spell_the_end_or_separator(panel):
    """A byte-level BPE has pieces like "<" and "END": the grammar must not let them spell
    the end text; only the special end token ends a profile."""
    specials = ["<PAD>", "<START>", "<END>", "<SEP>"]
    vocab = {t: i for i, t in enumerate(specials + list("0123456789ACGTN:>_|/,.<>EDSP"))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<PAD>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tk.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<PAD>", bos_token="<START>",
                                  eos_token="<END>", additional_special_tokens=["<SEP>"])
    grammar = generation.PanelGrammar(tok, site_keys(panel), panel.sites["alts"].map(len).tolist(),
                                      separator="<SEP>", end="<END>")
    allowed = grammar.allowed(grammar.start())
    assert allowed[tok.eos_token_id]
    assert not allowed[tok.convert_tokens_to_ids("<")]  # "<" could only start spelling "<END>"


def test_constraint_does_not_inflate_the_end_of_a_sample():
    """Masking must not hand the invalid tokens' mass to the end token: the end keeps the
    model's own probability, the other allowed tokens share the rest in proportion."""
    probs = torch.tensor([[0.1, 0.6, 0.2, 0.1]])  # token 0 is the end; token 1 is invalid here
    allowed = torch.tensor([[True, False, True, True]])
    out = generation.constrained_probabilities(torch.log(probs), allowed, 0, generation.SamplingConfig())
    assert torch.allclose(out, torch.tensor([[0.1, 0.0, 0.6, 0.3]]), atol=1e-6)
    # the end as the only allowed token gets everything; an end that is not allowed gets nothing
    only_end = generation.constrained_probabilities(torch.log(probs), torch.tensor([[True, False, False, False]]), 0,
                                                    generation.SamplingConfig())
    assert torch.allclose(only_end, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    no_end = generation.constrained_probabilities(torch.log(probs), torch.tensor([[False, True, True, False]]), 0,
                                                  generation.SamplingConfig())
    assert torch.allclose(no_end, torch.tensor([[0.0, 0.75, 0.25, 0.0]]), atol=1e-6)


# ---------------------------------------------------------------------------- self-delimiting records

def untrained_samples(tok, grammar, n_sites: int) -> list[list[int]]:
    """16 profiles from an untrained GPT-2 under ``grammar`` (hot sampling, seeded)."""
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=len(tok), n_positions=512, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    untrained = GPT2LMHeadModel(config).eval()
    return generation.generate(untrained, [tok.bos_token_id], 16, tok.eos_token_id,
                               generation.SamplingConfig(max_new_tokens=2 * n_sites + 2, batch_size=8,
                                                         temperature=1.5),
                               constraint=grammar, seed=4)


@pytest.mark.parametrize("sparse", [True, False])
def test_variant_tokenizer_without_separator_is_always_valid(panel, sparse):
    """The variant tokenizer drops ``<MUT_SEP>`` (a site token starts every record): the
    grammar runs with an empty separator and constrained decoding stays 100% valid."""
    from lib.lm import tokenization as tk

    keys = site_keys(panel)
    tok = tk.variant_tokenizer(keys)
    assert tk.record_separator(tok) == ""
    grammar = generation.PanelGrammar(tok, keys, panel.sites["alts"].map(len).tolist(),
                                      separator="", end=tk.EOS, sparse=sparse)
    start = grammar.start()
    if sparse:
        assert grammar.accepts(start, f"{keys[3]}_0|1{keys[7]}_1|1{tk.EOS}")
        assert not grammar.accepts(start, f"{keys[7]}_0|1{keys[3]}_1|1")  # out of order
        assert not grammar.accepts(start, f"{keys[3]}_0|1{keys[3]}_1|1")  # duplicate site
        assert not grammar.accepts(start, f"{keys[3]}{keys[7]}")  # a site without a genotype
    out = untrained_samples(tok, grammar, panel.n_sites)
    for ids in out:
        text = tk.decode(tok, ids)
        records = [r for r in text.split(tk.SEP) if r]
        counts = generation.validate_profile(records, panel, sparse=sparse)
        assert counts["valid"] == counts["records"], (counts, text[:200])
        if not sparse:
            assert counts["valid"] == panel.n_sites


def test_empty_separator_needs_self_delimiting_records(char_tokenizer):
    """Ten ALT alleles make ``_0|1`` a prefix of ``_0|10``: a record starting with "0" right
    after it would be ambiguous without a separator, and the grammar refuses it."""
    site = "0:5:A>" + ",".join(["C", "G", "T", "CA", "CC", "CG", "CT", "GA", "GC", "GG"])
    with pytest.raises(ValueError, match="not self-delimiting"):
        generation.PanelGrammar(char_tokenizer, [site], [10], separator="", end="<END>")
    generation.PanelGrammar(char_tokenizer, [site], [10], separator="<SEP>", end="<END>")  # fine with one


def test_sample_tokens_follows_the_distribution():
    """Inverse-CDF sampling: zero-probability tokens are never drawn, and the frequencies
    match the probabilities (chi-square at 1e-3, so the test can fail)."""
    from scipy import stats

    probs = torch.tensor([0.0, 0.5, 0.0, 0.3, 0.2, 0.0])
    generator = torch.Generator().manual_seed(0)
    draws = torch.cat([generation.sample_tokens(probs.repeat(1000, 1), generator) for _ in range(20)])
    counts = torch.bincount(draws, minlength=6).numpy()
    assert counts[[0, 2, 5]].sum() == 0
    expected = probs.numpy()[[1, 3, 4]] * len(draws)
    assert stats.chisquare(counts[[1, 3, 4]], expected).pvalue > 1e-3
    edge = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # all the mass on the last or the first token
    for _ in range(50):
        assert generation.sample_tokens(edge, generator).tolist() == [2, 0]


# ---------------------------------------------------------------------------- sites in any order

def test_site_set_grammar_takes_sites_in_any_order_each_once(panel):
    """The order-free grammar for the variant tokenizer: between records any unwritten site
    or the end; after a site, only a genotype that site can have; a written site never
    again; and the records sort back into panel order."""
    from lib.lm import tokenization as tk

    keys = site_keys(panel)
    tok = tk.variant_tokenizer(keys)
    n_alts = panel.sites["alts"].map(len).tolist()
    grammar = generation.SiteSetGrammar(tok, keys, n_alts, end=tk.EOS)
    site = {i: tok.convert_tokens_to_ids(key) for i, key in enumerate(keys)}
    genotype = lambda gt: tok.convert_tokens_to_ids(f"_{gt}")  # noqa: E731
    state = grammar.start()
    start = grammar.allowed(state)
    assert start[tok.eos_token_id] and all(start[site[i]] for i in site) and int(start.sum()) == len(keys) + 1
    state = grammar.advance(state, site[7])
    inside = grammar.allowed(state)
    assert inside[genotype("0|1")] and inside[genotype("1|1")] and not inside[genotype("0|0")]  # sparse
    assert not inside[tok.eos_token_id] and not inside[site[3]]
    if n_alts[7] == 1:
        assert not inside[genotype("0|2")]
    state = grammar.advance(state, genotype("0|1"))
    after = grammar.allowed(state)
    assert not after[site[7]] and after[site[3]] and after[tok.eos_token_id]  # an earlier site is fine
    with pytest.raises(ValueError, match="not allowed"):
        grammar.advance(state, site[7])
    state = grammar.advance(grammar.advance(state, site[3]), genotype("1|0"))
    records = tk.decode(tok, [site[7], genotype("0|1"), site[3], genotype("1|0")]).split(tk.SEP)
    assert grammar.sort_records(records) == [f"{keys[3]}_1|0", f"{keys[7]}_0|1"]


def test_site_set_grammar_decoding_is_valid_and_not_ordered(panel):
    """An untrained model under the order-free grammar: every record valid once sorted, no
    site twice, the raw order not always increasing (the grammar really lets it go back),
    and a profile that has used every site can only end."""
    from lib.lm import tokenization as tk

    keys = site_keys(panel)
    tok = tk.variant_tokenizer(keys)
    grammar = generation.SiteSetGrammar(tok, keys, panel.sites["alts"].map(len).tolist(), end=tk.EOS)
    out = untrained_samples(tok, grammar, panel.n_sites)
    unordered = 0
    for ids in out:
        records = [r for r in tk.decode(tok, ids).split(tk.SEP) if r]
        raw = generation.validate_profile(records, panel)
        unordered += raw["out_of_order"] > 0
        assert raw["duplicate"] == 0 and raw["valid"] + raw["out_of_order"] == raw["records"]
        counts = generation.validate_profile(grammar.sort_records(records), panel)
        assert counts["valid"] == counts["records"] > 0 or counts["records"] == 0
    assert unordered > 0
    state = grammar.start()
    for i, key in enumerate(keys):
        state = grammar.advance(grammar.advance(state, tok.convert_tokens_to_ids(key)), tok.convert_tokens_to_ids("_1|1"))
    assert grammar.allowed(state).nonzero().flatten().tolist() == [tok.eos_token_id]


def test_site_set_grammar_needs_a_token_per_site(panel, char_tokenizer):
    from lib.lm import tokenization as tk

    keys = site_keys(panel)
    with pytest.raises(ValueError, match="one token per panel site"):
        generation.SiteSetGrammar(char_tokenizer, keys, panel.sites["alts"].map(len).tolist(), end="<END>")
    variant = tk.variant_tokenizer(keys)
    assert generation.constrained_order(variant) == "any"
    assert generation.constrained_order(variant, sparse=False) == "sorted"
    assert generation.constrained_order(tk.character_tokenizer()) == "sorted"  # a separator: records in order
    assert isinstance(generation.panel_grammar(variant, panel, True), generation.SiteSetGrammar)
    assert isinstance(generation.panel_grammar(variant, panel, True, order="sorted"), generation.PanelGrammar)
    with pytest.raises(ValueError, match="sparse"):
        generation.panel_grammar(variant, panel, True, sparse=False, order="any")
    with pytest.raises(ValueError, match="choose"):
        generation.panel_grammar(variant, panel, True, order="random")


@pytest.mark.parametrize("order", ["any", "sorted"])
def test_panel_grammar_takes_the_phasing_explicitly(public_panel, order):
    """``panel_grammar(tokenizer, panel, phased)``: the genotypes it allows are phased
    (``|``) or unphased (``/``) as told -- the public people's convention, passed in, never
    read from the members' genotypes."""
    from lib.lm import tokenization as tk

    panel, phased = public_panel
    assert isinstance(phased, bool)
    keys = site_keys(panel)
    tok = tk.variant_tokenizer(keys)
    site = tok.convert_tokens_to_ids(keys[3])
    for phasing, good, bad in ((True, "_0|1", "_0/1"), (False, "_0/1", "_0|1")):
        grammar = generation.panel_grammar(tok, panel, phasing, order=order)
        state = grammar.advance(grammar.start(), site)
        allowed = grammar.allowed(state)
        assert allowed[tok.convert_tokens_to_ids(good)] and not allowed[tok.convert_tokens_to_ids(bad)]
    with pytest.raises(TypeError):
        generation.panel_grammar(tok, panel)  # the phasing has no default


def test_record_set_grammar_one_token_per_record(panel):
    """The order-free grammar for one token per record: any record of an unwritten site, or
    the end; once a site is written every record of it is forbidden; untrained sampling under
    it is valid throughout once sorted."""
    from lib.lm import tokenization as tk

    keys = site_keys(panel)
    tok = tk.record_tokenizer(keys, phased=True)
    n_alts = panel.sites["alts"].map(len).tolist()
    grammar = generation.panel_grammar(tok, panel, True)
    assert isinstance(grammar, generation.RecordSetGrammar) and generation.constrained_order(tok) == "any"
    state = grammar.start()
    start = grammar.allowed(state)
    assert start[tok.eos_token_id] and int(start.sum()) == 1 + sum((k + 1) ** 2 - 1 for k in n_alts)
    record = tok.convert_tokens_to_ids(f"{keys[5]}_0|1")
    state = grammar.advance(state, record)
    after = grammar.allowed(state)
    assert not after[tok.convert_tokens_to_ids(f"{keys[5]}_1|1")] and after[tok.convert_tokens_to_ids(f"{keys[2]}_1|1")]
    with pytest.raises(ValueError, match="not allowed"):
        grammar.advance(state, tok.convert_tokens_to_ids(f"{keys[5]}_1|0"))
    out = untrained_samples(tok, grammar, panel.n_sites)
    for ids in out:
        records = grammar.sort_records(generation.ids_to_records(tok, ids))
        counts = generation.validate_profile(records, panel)
        assert counts["valid"] == counts["records"] == len(ids)
    with pytest.raises(ValueError, match="record token for every panel site"):
        generation.RecordSetGrammar(tk.record_tokenizer(keys[:3]), keys, n_alts, end=tk.EOS)


# ---------------------------------------------------------------------------- the public prior

def test_the_prior_mixes_geometrically_and_is_required_when_weighted(char_tokenizer, model):
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    prior = torch.tensor([[-5.0, 1.0, 0.0]])
    mixed = generation.mix_prior(logits, prior, 0.5)
    expected = 0.5 * torch.log_softmax(logits, -1) + 0.5 * torch.log_softmax(prior, -1)
    assert torch.allclose(mixed, expected) and generation.mix_prior(logits, prior, 0.0) is logits
    # a token the prior rules out is pushed down, whatever the model says
    assert torch.softmax(mixed, -1)[0, 0] < torch.softmax(logits, -1)[0, 0]
    with pytest.raises(ValueError, match="share the model's tokenizer"):
        generation.mix_prior(logits, torch.zeros(1, 4), 0.5)
    with pytest.raises(ValueError, match="prior_weight=1"):
        generation.SamplingConfig(prior_weight=1.0)
    config = generation.SamplingConfig(max_new_tokens=10, batch_size=2, prior_weight=0.5)
    with pytest.raises(ValueError, match="needs a prior model"):
        generation.generate(model, [char_tokenizer.bos_token_id], 2, char_tokenizer.eos_token_id, config)


def test_sampling_with_a_prior_follows_it_cached_or_not(char_tokenizer, model):
    """A prior that puts all its mass on one token draws every sample towards it; with or
    without the key/value caches (one per model) the draws are the same."""
    torch.manual_seed(3)
    config = GPT2Config(vocab_size=len(char_tokenizer), n_positions=64, n_embd=32, n_layer=1, n_head=2)
    prior = GPT2LMHeadModel(config).eval()
    favourite = char_tokenizer.convert_tokens_to_ids("7")
    with torch.no_grad():
        prior.lm_head.weight.zero_()
        prior.transformer.ln_f.bias.fill_(1.0)
        prior.lm_head.weight[favourite] = 20.0  # a huge logit for "7" at every step
    plain = generation.SamplingConfig(max_new_tokens=12, batch_size=4)
    mixed = generation.SamplingConfig(max_new_tokens=12, batch_size=4, prior_weight=0.9)
    args = (model, [char_tokenizer.bos_token_id], 4, char_tokenizer.eos_token_id)
    without = generation.generate(*args, plain, seed=3)
    with_prior = generation.generate(*args, mixed, seed=3, prior=prior)
    share = lambda samples: sum(t == favourite for s in samples for t in s) / max(1, sum(map(len, samples)))
    assert share(with_prior) > 0.9 > share(without)
    assert generation.generate(*args, mixed, seed=3, prior=prior, use_cache=False) == with_prior
