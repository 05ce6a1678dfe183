"""lib.lm.models: the minGPT's attention and cache, the padding-free loss, both families'
save/load round trip, and the public pre-trained GPT-2 base (tiny sizes, no network)."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lib.lm import models
from lib.lm.models import GPTConfig, KVCache, build_model, lm_loss, load_model, make_labels, save_model

VOCAB = {"vocab_size": 12, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SIZES = {"block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 16, "dropout": 0.0}


def word_tokenizer(words: list[str]):
    """A real Hugging Face fast tokenizer over whole words, with pad/bos/eos."""
    from tokenizers import Tokenizer, models as tmodels, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<s>", "</s>", "<unk>", *words])}
    tok = Tokenizer(tmodels.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>")


def batch(seed: int = 0, n: int = 3, length: int = 10):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 12, (n, length), generator=g)
    mask = torch.ones_like(ids)
    for row, keep in enumerate([length, length - 3, length - 6][:n]):
        ids[row, keep:] = 0
        mask[row, keep:] = 0
    positions = torch.arange(length).expand(n, length)
    return ids, mask, positions


@pytest.mark.parametrize("family", models.FAMILIES)
def test_loss_ignores_padding(family):
    model = build_model(family, SIZES, VOCAB, seed=0).eval()
    ids, mask, pos = batch()
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
    loss = lm_loss(logits, make_labels(ids, mask, 0))
    # manual: mean over every (row, t) whose target ids[row, t+1] is a real token
    terms = [-torch.log_softmax(logits[r, t], -1)[ids[r, t + 1]]
             for r in range(ids.size(0)) for t in range(ids.size(1) - 1) if mask[r, t + 1]]
    assert torch.allclose(loss, torch.stack(terms).mean(), atol=1e-6)
    # the family's own labels= path agrees
    own = model(input_ids=ids, attention_mask=mask, position_ids=pos, labels=make_labels(ids, mask, 0)).loss
    assert torch.allclose(own, loss, atol=1e-6)
    # more padding columns change nothing
    extra = 7
    ids2 = torch.cat([ids, torch.zeros(3, extra, dtype=torch.long)], 1)
    mask2 = torch.cat([mask, torch.zeros(3, extra, dtype=torch.long)], 1)
    pos2 = torch.arange(ids2.size(1)).expand_as(ids2)
    loss2 = lm_loss(model(input_ids=ids2, attention_mask=mask2, position_ids=pos2).logits,
                    make_labels(ids2, mask2, 0))
    assert torch.allclose(loss, loss2, atol=1e-6)


def test_labels_mask_padding_and_pad_token():
    ids = torch.tensor([[1, 5, 0, 0]])
    labels = make_labels(ids, torch.tensor([[1, 1, 1, 0]]), pad_token_id=0)
    assert labels.tolist() == [[1, 5, -100, -100]]
    empty = lm_loss(torch.zeros(1, 4, 12), torch.full((1, 4), -100))
    assert float(empty) == 0.0  # no NaN on an all-padding batch


def test_kv_cache_matches_full_forward():
    model = build_model("mingpt", SIZES, VOCAB, seed=1).eval()
    ids, mask, pos = batch(seed=2, n=2, length=30)  # past the cache's first capacity (16): it grows
    ids[:] = torch.randint(3, 12, ids.shape, generator=torch.Generator().manual_seed(3))
    full = model(input_ids=ids, position_ids=pos).logits
    # a prompt of 5 tokens, then one token at a time through the cache
    out = model(input_ids=ids[:, :5], position_ids=pos[:, :5], use_cache=True)
    pieces, past = [out.logits], out.cache
    for t in range(5, ids.size(1)):
        # transformers 5's keyword, and transformers 4's (the same cache under its old name)
        name = "cache" if t % 2 else "past_key_values"
        out = model(input_ids=ids[:, t:t + 1], position_ids=pos[:, t:t + 1], use_cache=True, **{name: past})
        pieces.append(out.logits)
        past = out.cache
    assert torch.allclose(torch.cat(pieces, 1), full, atol=1e-5)
    assert past[0][0].shape == (2, SIZES["n_head"], 30, SIZES["n_embd"] // SIZES["n_head"])
    assert isinstance(past, KVCache) and past.get_seq_length() == 30
    # the tuple-of-pairs layout is taken too (copied, the caller's tensors left alone)
    legacy = tuple((k[:, :, :5].clone(), v[:, :, :5].clone()) for k, v in (past[i] for i in range(len(past))))
    out = model(input_ids=ids[:, 5:], position_ids=pos[:, 5:], cache=legacy, use_cache=True)
    assert torch.allclose(out.logits, full[:, 5:], atol=1e-5) and legacy[0][0].shape[2] == 5


def test_gpt2_decode_computes_what_transformers_does():
    """GPT-2 sampling runs on its own weights (:func:`lib.lm.models.gpt2_decode`): a prefix, a
    cached token at a time, and several new tokens after a cache all give transformers'
    logits; a model in training mode (dropout) or with another attention is left to
    transformers."""
    from lib.lm import models

    model = build_model("gpt2", SIZES, VOCAB, seed=4).eval()
    ids, _, pos = batch(seed=5, n=3, length=30)  # past the cache's first capacity (16)
    ids[:] = torch.randint(3, 12, ids.shape, generator=torch.Generator().manual_seed(6))
    full = model(input_ids=ids, position_ids=pos).logits
    logits, cache = models.gpt2_decode(model, ids[:, :7], pos[:, :7])
    assert torch.allclose(logits, full[:, 6], atol=1e-5) and cache.get_seq_length() == 7
    for t in range(7, 20):
        logits, cache = models.gpt2_decode(model, ids[:, t:t + 1], pos[:, t:t + 1], cache)
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    logits, cache = models.gpt2_decode(model, ids[:, 20:], pos[:, 20:], cache)  # ten at once after a cache
    assert torch.allclose(logits, full[:, -1], atol=1e-5) and cache.get_seq_length() == 30
    assert models.gpt2_fast_decoding(model)
    assert not models.gpt2_fast_decoding(build_model("mingpt", SIZES, VOCAB).eval())
    assert not models.gpt2_fast_decoding(model.train())
    model.eval().config.scale_attn_by_inverse_layer_idx = True
    assert not models.gpt2_fast_decoding(model)


def test_causal_and_padding_masks():
    model = build_model("mingpt", SIZES, VOCAB, seed=0).eval()
    ids, mask, pos = batch(n=1, length=8)
    base = model(input_ids=ids, position_ids=pos).logits
    changed = ids.clone()
    changed[0, 6] = 3 if ids[0, 6] != 3 else 4
    after = model(input_ids=changed, position_ids=pos).logits
    assert torch.allclose(base[0, :6], after[0, :6])  # the future is not seen
    assert not torch.allclose(base[0, 6:], after[0, 6:])
    # a padded row gives the same logits on its real tokens as the unpadded row
    short = ids[:, :5]
    padded = torch.cat([short, torch.zeros(1, 3, dtype=torch.long)], 1)
    pmask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]])
    a = model(input_ids=short, position_ids=pos[:, :5]).logits
    b = model(input_ids=padded, attention_mask=pmask, position_ids=pos).logits[:, :5]
    assert torch.allclose(a, b, atol=1e-6)


def test_mingpt_uses_only_opacus_friendly_layers():
    model = build_model("mingpt", SIZES, VOCAB)
    allowed = (nn.Linear, nn.Embedding, nn.LayerNorm, nn.Dropout)
    leaves = [m for m in model.modules() if not list(m.children())]
    assert leaves and all(isinstance(m, allowed) for m in leaves)
    assert model.lm_head.weight is not model.wte.weight  # untied by default
    tied = build_model("mingpt", dict(SIZES, tie_weights=True), VOCAB)
    assert tied.lm_head.weight is tied.wte.weight
    with pytest.raises(ValueError, match="block_size"):
        model(input_ids=torch.ones(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="multiple"):
        GPTConfig(vocab_size=5, n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="family"):
        build_model("lstm", SIZES, VOCAB)


def test_gpt2_from_scratch_is_sized_and_untied():
    model = build_model("gpt2", SIZES, VOCAB)
    assert model.config.n_layer == 2 and model.config.n_embd == 16 and model.config.n_positions == 32
    assert model.config.vocab_size == 12 and model.config.pad_token_id == 0
    assert model.lm_head.weight is not model.transformer.wte.weight
    assert model.config._attn_implementation == "eager"


@pytest.mark.parametrize("family", models.FAMILIES)
@pytest.mark.parametrize("tied", [False, True])
def test_save_load_same_logits(tmp_path, family, tied):
    tok = word_tokenizer(["a", "b", "c", "d"])
    model = build_model(family, dict(SIZES, tie_weights=tied), tok, seed=4).eval()
    ids = torch.tensor([[1, 4, 5, 6, 7, 2]])
    before = model(input_ids=ids).logits
    out = save_model(model, tmp_path / "m", tokenizer=tok, metadata={"seed": 4, "data_sha256": "x"})
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and "config.json" in names and "metadata.json" in names
    assert not any(n.endswith((".bin", ".pt", ".pkl", ".pth")) for n in names)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["family"] == family and meta["seed"] == 4 and meta["parameters"] == models.num_parameters(model)
    assert "torch" in meta["versions"]
    loaded = load_model(out)
    assert models.family_of(loaded) == family
    assert torch.allclose(loaded(input_ids=ids).logits, before, atol=1e-6)
    assert models.load_tokenizer(out)("a b").input_ids == tok("a b").input_ids
    save_model(loaded, out)  # overwriting an existing model directory works
    assert torch.allclose(load_model(out)(input_ids=ids).logits, before, atol=1e-6)


def test_load_model_error_names_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_model(tmp_path)


def test_fine_tune_from_a_saved_base(tmp_path):
    """A GPT-2 trained on a small tokenizer and saved (as :func:`lib.runs.experiments.public_base`
    saves the public base) is the base of a model with a larger tokenizer."""
    from lib.lm.training import TrainConfig, train

    public = word_tokenizer(["a", "b", "c"])
    texts = ["<s> a b c a b c </s>", "<s> b c a b c a </s>", "<s> c a b c a b </s>", "<s> a b c </s>"]
    base_dir = tmp_path / "base"
    pretrained = build_model("gpt2", SIZES, public, seed=0)
    train(pretrained, [public(t)["input_ids"] for t in texts], None,
          TrainConfig(epochs=1, batch_size=2, progress=False))
    save_model(pretrained, base_dir, tokenizer=public, metadata={"role": "public pre-trained base"})
    assert models.read_metadata(base_dir)["role"] == "public pre-trained base"
    # fine-tune with a larger private tokenizer: embeddings are resized, the rest is kept
    private = word_tokenizer(["a", "b", "c", "d", "e"])
    base = load_model(base_dir)
    model = build_model("gpt2", SIZES, private, base_model=base_dir)
    assert model.get_input_embeddings().num_embeddings == len(private)
    assert torch.equal(model.transformer.h[0].attn.c_attn.weight, base.transformer.h[0].attn.c_attn.weight)
    assert model.config.pad_token_id == private.pad_token_id
    assert model(input_ids=torch.tensor([[1, 8, 2]])).logits.shape == (1, 3, len(private))
