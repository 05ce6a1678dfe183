"""The two model families: a small GPT written here (minGPT-style) and GPT-2.

Both are causal language models over a tokenizer's ids, called the same way
(``model(input_ids=..., position_ids=..., attention_mask=..., cache=...,
use_cache=...)``) and returning an object with ``.logits``, ``.cache`` and ``.loss``
(transformers 5 renamed ``past_key_values`` to ``cache``; the minGPT takes either name),
so that training (:mod:`lib.lm.training`), private training (Opacus) and generation treat
them alike.

Why a GPT of our own. Opacus computes one gradient per person (DP-SGD clips each one) by
hooking the layers it knows: ``nn.Linear``, ``nn.Embedding``, ``nn.LayerNorm``. The model
below uses those and nothing else -- causal attention is written out with matrix
products and a mask, not a fused kernel or ``nn.MultiheadAttention`` (only decoding one
token with the key/value cache, never trained through, calls the fused kernel) -- and its positions
are an *input* (``position_ids``, one row per sequence): a position embedding indexed by
a buffer inside the module would be seen by Opacus as a batch of one. Its weights are
untied by default (``tie_weights=False``): Opacus' ghost clipping rejects a matrix shared
by two layers, and the dissertation's private minGPT was untied too.

GPT-2 comes from ``transformers.GPT2LMHeadModel``, either trained from scratch from a
``GPT2Config`` sized by the profile or fine-tuned from a pre-trained base (a hub id or a
local directory). There is no network at run time, so the default base is one we
pre-train ourselves on *public* profiles only (:func:`lib.runs.experiments.public_base`, used by the
models chapter on the samples outside the private training pool): the base then carries
no private information that differential privacy would not account for.

Padding is never learnt. :func:`make_labels` marks every padding position -100
(``attention_mask`` 0 or the pad token) and :func:`lm_loss` averages the next-token loss
over the remaining targets only; the first token of a sequence has no predecessor and is
never a target. The dissertation counted padding in the loss (its models learnt to
predict padding and its losses depended on the batch's longest sequence).

Saving follows the Hugging Face layout for both families: weights in safetensors (never
pickle), ``config.json``, the tokenizer (``save_pretrained``) and a ``metadata.json``
(family, parameter count, seed, data checksums, library versions).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F
from transformers.modeling_outputs import CausalLMOutputWithPast

from ..core import rundir

FAMILIES = ("mingpt", "gpt2")
# the output's key/value-cache field: "cache" since transformers 5 (its old name,
# past_key_values, still works there but logs a deprecation warning)
_CACHE_FIELD = "cache" if "cache" in {f.name for f in fields(CausalLMOutputWithPast)} else "past_key_values"
IGNORE_INDEX = -100  # label of a position that is not a target (PyTorch's default)


# --------------------------------------------------------------------------------------
# Labels and loss: padding never counts
# --------------------------------------------------------------------------------------

def make_labels(input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                pad_token_id: int | None = None) -> torch.Tensor:
    """Targets for next-token prediction: ``input_ids`` with padding set to -100.

    A position is padding where ``attention_mask`` is 0 or the token is ``pad_token_id``.
    Labels are *not* shifted; :func:`lm_loss` shifts them (position t predicts t+1)."""
    labels = input_ids.clone()
    if attention_mask is not None:
        labels[attention_mask == 0] = IGNORE_INDEX
    if pad_token_id is not None:
        labels[input_ids == pad_token_id] = IGNORE_INDEX
    return labels


def lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of predicting ``labels[:, 1:]`` from ``logits[:, :-1]``, over the
    targets that are not -100 (an all-padding or empty batch gives 0, not NaN)."""
    shift_logits = logits[:, :-1, :].reshape(-1, logits.size(-1))
    shift_labels = labels[:, 1:].reshape(-1)
    total = F.cross_entropy(shift_logits.float(), shift_labels, ignore_index=IGNORE_INDEX,
                            reduction="sum")
    count = (shift_labels != IGNORE_INDEX).sum().clamp(min=1)
    return total / count


def default_position_ids(input_ids: torch.Tensor, past_length: int = 0) -> torch.Tensor:
    """Positions ``past_length, past_length + 1, ...`` for every row (sequences left-aligned)."""
    batch, length = input_ids.shape
    positions = torch.arange(past_length, past_length + length, device=input_ids.device)
    return positions.unsqueeze(0).expand(batch, length)


# --------------------------------------------------------------------------------------
# The minGPT family
# --------------------------------------------------------------------------------------

@dataclass
class GPTConfig:
    """Sizes of the GPT. ``block_size`` is the longest sequence (positions 0..block_size-1).

    ``tie_weights`` shares the token embedding with the output layer; it is off by
    default because Opacus' ghost clipping rejects a weight used by two layers.
    ``positions``: ``"learned"`` (a trained table, as GPT-2's) or ``"sinusoidal"`` (the
    fixed encoding of Vaswani et al. 2017: no parameter, so nothing for DP-SGD to noise, and
    every position carries its information from the first step)."""
    vocab_size: int
    block_size: int = 256
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    dropout: float = 0.0
    pad_token_id: int | None = None
    tie_weights: bool = False
    positions: str = "learned"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be a multiple of n_head={self.n_head}")
        if self.positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions={self.positions!r}: choose 'learned' or 'sinusoidal'")


def sinusoidal_positions(block_size: int, n_embd: int) -> torch.Tensor:
    """The fixed position encoding: ``sin(p / 10000^(2i/d))`` on even, ``cos`` on odd features."""
    position = torch.arange(block_size, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, n_embd, 2, dtype=torch.float32) * (-math.log(10_000.0) / n_embd))
    table = torch.zeros(block_size, n_embd)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: n_embd // 2])
    return table


class KVCache:
    """The keys and values of the tokens a :class:`GPT` has seen, per layer, for decoding one
    token at a time. Each layer's keys and values live in a buffer ``(B, H, capacity, D)``
    that doubles when full, so appending a token copies only that token (concatenating to
    the previous tensors, as a plain tuple cache does, copies the whole prefix at every step:
    quadratic in the length, and most of the time of a 2,000-token generation). Like
    transformers' ``DynamicCache`` it is updated *in place* by the forward pass it is given
    to (and returned as the output's ``cache``). ``cache[i]`` is layer ``i``'s ``(keys,
    values)`` up to the current length (views, not copies); :meth:`from_legacy` takes the
    tuple-of-pairs layout."""

    def __init__(self) -> None:
        self._buffers: list[list[torch.Tensor]] = []
        self._lengths: list[int] = []

    @classmethod
    def from_legacy(cls, pairs) -> "KVCache":
        cache = cls()
        for i, (keys, values) in enumerate(pairs):
            cache.append(i, keys, values)
        return cache

    def __len__(self) -> int:
        return len(self._buffers)

    def __getitem__(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = self._lengths[layer]
        keys, values = self._buffers[layer]
        return keys[:, :, :n], values[:, :, :n]

    def get_seq_length(self, layer: int = 0) -> int:
        return self._lengths[layer] if self._lengths else 0

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add ``keys``/``values`` ``(B, H, T, D)`` to ``layer``; returns all of its keys and
        values so far."""
        if layer == len(self._buffers):
            capacity = max(16, keys.size(2))
            shape = (keys.size(0), keys.size(1), capacity, keys.size(3))
            self._buffers.append([keys.new_empty(shape), values.new_empty(shape)])
            self._lengths.append(0)
        n, added = self._lengths[layer], keys.size(2)
        buffers = self._buffers[layer]
        if n + added > buffers[0].size(2):  # full: double (amortised O(1) per token)
            capacity = max(2 * buffers[0].size(2), n + added)
            for j, old in enumerate(buffers):
                grown = old.new_empty(old.size(0), old.size(1), capacity, old.size(3))
                grown[:, :, :n] = old[:, :, :n]
                buffers[j] = grown
        buffers[0][:, :, n:n + added] = keys
        buffers[1][:, :, n:n + added] = values
        self._lengths[layer] = n + added
        return self[layer]


class CausalSelfAttention(nn.Module):
    """Multi-head attention written out: each position attends to itself, to earlier
    positions and to the cached keys/values of earlier calls, never to padding."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.query = nn.Linear(config.n_embd, config.n_embd)
        self.key = nn.Linear(config.n_embd, config.n_embd)
        self.value = nn.Linear(config.n_embd, config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, H, T, D)
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_head, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None,
                cache: tuple[KVCache, int] | None):
        batch, length, width = x.shape
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        if cache is not None:  # keys/values of the tokens already seen come first
            k, v = cache[0].append(cache[1], k, v)
        if length == 1 and key_mask is None and not self.training:
            # decoding one token: it sees every cached key, so no mask and no dropout; the
            # fused kernel does the same arithmetic in one call (training keeps the explicit
            # form below, which per-sample gradients and the deterministic checks were made on)
            out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, length, width)
            return self.resid_dropout(self.proj(out))
        past_length = k.size(2) - length
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, T, past+T)
        # new token i (absolute index past_length + i) may see keys j <= past_length + i
        allowed = torch.ones(length, k.size(2), dtype=torch.bool, device=x.device)
        allowed = torch.tril(allowed, diagonal=past_length).view(1, 1, length, k.size(2))
        if key_mask is not None:  # (B, past+T): 0 marks padding keys
            allowed = allowed & key_mask.bool().view(batch, 1, 1, k.size(2))
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        weights = self.attn_dropout(F.softmax(scores, dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(batch, length, width)
        return self.resid_dropout(self.proj(out))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.fc_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.mlp_dropout = nn.Dropout(config.dropout)

    def forward(self, x, key_mask, cache):
        x = x + self.attn(self.ln_1(x), key_mask, cache)
        return x + self.mlp_dropout(self.fc_proj(F.gelu(self.fc(self.ln_2(x)))))


class GPT(nn.Module):
    """A GPT language model (token + position embeddings, blocks, final norm, output layer)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positions == "learned":
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
        else:  # not a parameter, not saved: computed from the configuration
            self.register_buffer("fixed_positions", sinusoidal_positions(config.block_size, config.n_embd),
                                 persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for name, param in self.named_parameters():  # GPT-2's scaled residual projections
            if name.endswith("attn.proj.weight") or name.endswith("fc_proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, cache=None,
                use_cache: bool = False, labels: torch.Tensor | None = None,
                past_key_values=None, **_: Any) -> CausalLMOutputWithPast:
        """Logits for every position. ``attention_mask`` covers the cached tokens and the new
        ones (``(B, past + T)``) or only the new ones (the cached are then taken as real);
        ``labels`` (unshifted, -100 = ignore) adds ``.loss``; ``use_cache`` returns the
        keys/values (a :class:`KVCache`, ``.cache``) to pass back as ``cache`` with the next
        tokens; it is updated in place. A cache in the tuple-of-pairs layout (or under
        ``past_key_values``, transformers 4's name) is taken too, and copied."""
        if cache is not None and past_key_values is not None:
            raise ValueError("give the key/value cache as cache or as past_key_values, not both")
        cache = cache if cache is not None else past_key_values
        if cache is not None and not isinstance(cache, KVCache):
            cache = KVCache.from_legacy(cache)
        if cache is None and use_cache:
            cache = KVCache()
        past_length = cache.get_seq_length() if cache is not None else 0
        batch, length = input_ids.shape
        if position_ids is None:
            position_ids = default_position_ids(input_ids, past_length)
        if past_length + length > self.config.block_size:
            raise ValueError(f"sequence of {past_length + length} tokens exceeds "
                             f"block_size={self.config.block_size}")
        if attention_mask is not None and attention_mask.size(1) == length and past_length:
            attention_mask = torch.cat([attention_mask.new_ones(batch, past_length), attention_mask], dim=1)
        where = self.wpe(position_ids) if self.config.positions == "learned" else self.fixed_positions[position_ids]
        x = self.drop(self.wte(input_ids) + where)
        for i, block in enumerate(self.blocks):
            x = block(x, attention_mask, (cache, i) if cache is not None else None)
        logits = self.lm_head(self.ln_f(x))
        loss = lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutputWithPast(loss=loss, logits=logits, **{_CACHE_FIELD: cache if use_cache else None})


# --------------------------------------------------------------------------------------
# The GPT-2 family
# --------------------------------------------------------------------------------------

def gpt2_config(sizes: dict[str, Any], vocab_size: int, pad_token_id: int | None = None,
                bos_token_id: int | None = None, eos_token_id: int | None = None):
    """A ``GPT2Config`` sized like a minGPT (same keys), with eager attention (matrix
    products Opacus can follow) and untied output weights (as the minGPT)."""
    from transformers import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=int(sizes["block_size"]),
                      n_embd=int(sizes["n_embd"]), n_layer=int(sizes["n_layer"]),
                      n_head=int(sizes["n_head"]), resid_pdrop=float(sizes.get("dropout", 0.0)),
                      embd_pdrop=float(sizes.get("dropout", 0.0)),
                      attn_pdrop=float(sizes.get("dropout", 0.0)),
                      pad_token_id=pad_token_id, bos_token_id=bos_token_id,
                      eos_token_id=eos_token_id, tie_word_embeddings=bool(sizes.get("tie_weights", False)),
                      attn_implementation="eager")


def _load_gpt2(path_or_id: str | os.PathLike, local_files_only: bool = True):
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(str(path_or_id), local_files_only=local_files_only,
                                           attn_implementation="eager", use_safetensors=True)


# --------------------------------------------------------------------------------------
# GPT-2 under expanded weights: Conv1D <-> nn.Linear
# --------------------------------------------------------------------------------------

class LinearFromConv1D(nn.Linear):
    """An ``nn.Linear`` that stands in for a ``transformers`` ``Conv1D`` during private
    training (:func:`conv1d_to_linear`): the same function, ``y = a W^T + b`` with ``W``
    the Conv1D weight transposed. Its own class only so that :func:`linear_to_conv1d`
    finds exactly the layers to turn back."""


def _conv1d_class():
    from transformers.pytorch_utils import Conv1D

    return Conv1D


def _replace(model: nn.Module, kind: type, make) -> dict[nn.Parameter, nn.Parameter]:
    """Replace every submodule of type ``kind`` by ``make(old)``; old -> new parameters."""
    mapping: dict[nn.Parameter, nn.Parameter] = {}
    targets = [(name, module) for name, module in model.named_modules() if type(module) is kind]
    for name, old in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        new = make(old)
        mapping[old.weight] = new.weight
        if old.bias is not None:
            mapping[old.bias] = new.bias
        setattr(parent, child, new)
    return mapping


def _transposed_copy(new: nn.Module, old: nn.Module) -> nn.Module:
    """Give ``new`` the weight of ``old`` transposed and its bias, with their
    ``requires_grad``, ``old``'s device, dtype and training mode; returns ``new``."""
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(old.weight.t())
        if old.bias is not None:
            new.bias.copy_(old.bias)
    new.weight.requires_grad_(old.weight.requires_grad)
    if old.bias is not None:
        new.bias.requires_grad_(old.bias.requires_grad)
    return new.train(old.training)


def conv1d_to_linear(model: nn.Module) -> dict[nn.Parameter, nn.Parameter]:
    """Replace, in place, every ``transformers`` ``Conv1D`` of ``model`` (GPT-2's attention
    and MLP projections) by a :class:`LinearFromConv1D` computing the same function, so
    that the model runs under Opacus' expanded weights (``"ew"``), which know
    ``F.linear`` but not the ``addmm`` Conv1D calls. The new layers' parameters are
    fresh ``nn.Parameter`` objects (the weight transposed and made contiguous, the bias
    copied, ``requires_grad`` kept, same device and dtype); returns the mapping old
    parameter -> new parameter (an optimizer built on the old ones must be re-pointed:
    :func:`lib.dp.privacy.make_private` does). Undo with :func:`linear_to_conv1d`."""
    return _replace(model, _conv1d_class(), lambda old: _transposed_copy(
        LinearFromConv1D(old.weight.shape[0], old.weight.shape[1], bias=old.bias is not None), old))


def linear_to_conv1d(model: nn.Module) -> nn.Module:
    """Turn every :class:`LinearFromConv1D` of ``model`` back into a ``Conv1D`` holding its
    (trained) weights, in place; returns ``model``. A GPT-2 is then the standard
    ``transformers`` model again (``save_pretrained`` writes the usual layout)."""
    conv1d = _conv1d_class()
    _replace(model, LinearFromConv1D, lambda old: _transposed_copy(conv1d(old.out_features, old.in_features), old))
    return model


def has_conv1d(model: nn.Module) -> bool:
    """Whether ``model`` holds a ``transformers`` ``Conv1D``."""
    conv1d = _conv1d_class()
    return any(type(module) is conv1d for module in model.modules())


def has_linearized(model: nn.Module) -> bool:
    """Whether ``model`` holds a :class:`LinearFromConv1D` (made by :func:`conv1d_to_linear`)."""
    return any(isinstance(module, LinearFromConv1D) for module in model.modules())


# --------------------------------------------------------------------------------------
# One interface for both
# --------------------------------------------------------------------------------------

def _vocab(tokenizer_or_vocab: Any) -> dict[str, int | None]:
    """vocab_size and special ids from a tokenizer, or from an int / a dict of them."""
    if isinstance(tokenizer_or_vocab, int):
        return {"vocab_size": tokenizer_or_vocab, "pad_token_id": None,
                "bos_token_id": None, "eos_token_id": None}
    if isinstance(tokenizer_or_vocab, dict):
        return {"vocab_size": int(tokenizer_or_vocab["vocab_size"]),
                "pad_token_id": tokenizer_or_vocab.get("pad_token_id"),
                "bos_token_id": tokenizer_or_vocab.get("bos_token_id"),
                "eos_token_id": tokenizer_or_vocab.get("eos_token_id")}
    tok = tokenizer_or_vocab
    return {"vocab_size": len(tok), "pad_token_id": tok.pad_token_id,
            "bos_token_id": getattr(tok, "bos_token_id", None),
            "eos_token_id": getattr(tok, "eos_token_id", None)}


def build_model(family: str, sizes: dict[str, Any] | GPTConfig, tokenizer_or_vocab: Any,
                base_model: str | os.PathLike | None = None, local_files_only: bool = True,
                seed: int | None = None) -> nn.Module:
    """A new model of ``family`` (``"mingpt"`` or ``"gpt2"``).

    ``sizes``: ``block_size``, ``n_layer``, ``n_head``, ``n_embd`` and optionally
    ``dropout`` and ``tie_weights`` (a :class:`GPTConfig` also works for the minGPT);
    ``tokenizer_or_vocab``: a tokenizer, a vocabulary size, or a dict with ``vocab_size``
    and ``pad_token_id``/``bos_token_id``/``eos_token_id``. ``base_model`` is fine-tuned
    instead of a new model: for GPT-2 a local directory, or a hub id already in the cache
    (nothing is downloaded unless ``local_files_only=False``), its token embeddings resized
    to the vocabulary; for the minGPT a directory :func:`save_model` wrote (same
    vocabulary). ``seed`` seeds the initial weights."""
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is unknown; choose one of {FAMILIES}")
    vocab = _vocab(tokenizer_or_vocab)
    if seed is not None:
        torch.manual_seed(seed)
    if family == "mingpt" and base_model is not None:
        model = load_model(base_model)
        if not isinstance(model, GPT) or model.config.vocab_size != vocab["vocab_size"]:
            raise ValueError(f"{base_model}: not a minGPT over this tokenizer's {vocab['vocab_size']} ids")
        return model.train()
    if family == "mingpt":
        if isinstance(sizes, GPTConfig):
            config = sizes
        else:
            names = {f.name for f in fields(GPTConfig)}
            config = GPTConfig(**{k: v for k, v in sizes.items() if k in names and k != "vocab_size"},
                               vocab_size=vocab["vocab_size"])
        if config.pad_token_id is None:
            config.pad_token_id = vocab["pad_token_id"]
        return GPT(config)
    if isinstance(sizes, GPTConfig):
        sizes = asdict(sizes)
    if base_model is not None:
        model = _load_gpt2(base_model, local_files_only=local_files_only)
        if model.get_input_embeddings().num_embeddings != vocab["vocab_size"]:
            model.resize_token_embeddings(vocab["vocab_size"])
        for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
            if vocab[key] is not None:
                setattr(model.config, key, vocab[key])
        return model
    from transformers import GPT2LMHeadModel

    config = gpt2_config(sizes, vocab["vocab_size"], vocab["pad_token_id"],
                         vocab["bos_token_id"], vocab["eos_token_id"])
    return GPT2LMHeadModel(config)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside its wrappers: Opacus' per-sample-gradient module (``._module``) and
    the distributed wrappers (Opacus' ``DifferentiallyPrivateDistributedDataParallel``,
    torch's ``DistributedDataParallel``: ``.module``), however they are nested."""
    from torch.nn.parallel import DistributedDataParallel

    while True:
        if hasattr(model, "_module") and isinstance(model._module, nn.Module):
            model = model._module
        elif (isinstance(model, DistributedDataParallel)
              or type(model).__name__ == "DifferentiallyPrivateDistributedDataParallel"):
            model = model.module
        else:
            return model


def family_of(model: nn.Module) -> str:
    """``"mingpt"`` or ``"gpt2"`` (also through Opacus' and the distributed wrappers)."""
    return "mingpt" if isinstance(unwrap(model), GPT) else "gpt2"


def gpt2_fast_decoding(model: nn.Module) -> bool:
    """Whether :func:`gpt2_decode` computes what ``model`` (a GPT-2) does: in eval mode,
    with the standard attention (scaled by 1/sqrt(head size), not by layer, not upcast)."""
    config = getattr(model, "config", None)
    return (family_of(model) == "gpt2" and hasattr(model, "transformer") and not model.training
            and config.scale_attn_weights
            and not config.scale_attn_by_inverse_layer_idx and not config.reorder_and_upcast_attn
            and getattr(config, "add_cross_attention", False) is False)


@torch.no_grad()
def gpt2_decode(model: nn.Module, input_ids: torch.Tensor, position_ids: torch.Tensor,
                cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
    """GPT-2's forward pass for sampling, on its own weights: the next-token logits of the
    last position ``(B, V)`` and the :class:`KVCache` holding every position's keys and
    values (updated in place, or new when ``cache`` is None). No padding, no dropout
    (:func:`gpt2_fast_decoding` says when it applies); the same arithmetic as
    ``GPT2LMHeadModel`` without its per-call bookkeeping (mask building, cache objects,
    the output head over every position), which at this model size costs more than the
    arithmetic of a one-token step."""
    body = model.transformer
    cache = cache if cache is not None else KVCache()
    batch, length = input_ids.shape
    width, n_head = model.config.n_embd, model.config.n_head
    past = cache.get_seq_length()
    tanh_gelu = model.config.activation_function in ("gelu_new", "gelu_pytorch_tanh")
    x = body.wte(input_ids) + body.wpe(position_ids)
    for i, block in enumerate(body.h):
        q, k, v = block.attn.c_attn(block.ln_1(x)).split(width, dim=2)
        q, k, v = (t.view(batch, length, n_head, width // n_head).transpose(1, 2) for t in (q, k, v))
        k, v = cache.append(i, k, v)
        if length == 1 or past == 0:  # one new token sees everything; a first call is plainly causal
            out = F.scaled_dot_product_attention(q, k, v, is_causal=length > 1)
        else:
            allowed = torch.tril(torch.ones(length, past + length, dtype=torch.bool, device=x.device), diagonal=past)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        x = x + block.attn.c_proj(out.transpose(1, 2).reshape(batch, length, width))
        if tanh_gelu:  # transformers' "gelu_new" is the tanh approximation: one fused call here
            x = x + block.mlp.c_proj(F.gelu(block.mlp.c_fc(block.ln_2(x)), approximate="tanh"))
        else:
            x = x + block.mlp(block.ln_2(x))
    return model.lm_head(body.ln_f(x[:, -1, :])), cache


def block_size(model: nn.Module) -> int:
    """The longest sequence ``model`` takes: the minGPT's ``block_size``, GPT-2's ``n_positions``."""
    config = unwrap(model).config
    return int(getattr(config, "block_size", None) or getattr(config, "n_positions"))


def num_parameters(model: nn.Module) -> int:
    """Distinct trainable and frozen parameters (a tied matrix counts once)."""
    model = unwrap(model)
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def pad_token_id_of(model: nn.Module) -> int | None:
    return unwrap(model).config.pad_token_id


def save_model(model: nn.Module, directory: str | os.PathLike, tokenizer: Any = None,
               metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (either family) to ``directory``: safetensors weights,
    ``config.json``, the tokenizer if given and ``metadata.json`` (``metadata`` plus
    family, parameter count and library versions). Files are written to a temporary
    directory beside it and moved into place, so a crash leaves the old model intact."""
    import shutil
    import tempfile

    from safetensors.torch import save_model as save_safetensors

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    model = unwrap(model)  # Opacus' and the distributed wrappers
    family = family_of(model)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        if family == "gpt2":
            if has_linearized(model):  # trained privately under expanded weights: the standard layout
                import copy

                model = linear_to_conv1d(copy.deepcopy(model))
            model.save_pretrained(tmp, safe_serialization=True)
        else:
            (tmp / "config.json").write_text(
                json.dumps(dict(asdict(model.config), family="mingpt"), indent=2, sort_keys=True) + "\n")
            save_safetensors(model, str(tmp / "model.safetensors"))  # handles tied weights
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
        meta = dict(metadata or {})
        meta.update(family=family, parameters=num_parameters(model), versions=rundir.package_versions())
        rundir.write_json(tmp / "metadata.json", meta)
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def read_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / "metadata.json"
    return json.loads(path.read_text()) if path.exists() else {}


def load_model(directory: str | os.PathLike) -> nn.Module:
    """The model saved by :func:`save_model` in ``directory`` (weights from safetensors only)."""
    from safetensors.torch import load_model as load_safetensors

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{directory}: no config.json (not a saved model directory)")
    config = json.loads(config_path.read_text())
    if config.get("family") == "mingpt":
        names = {f.name for f in fields(GPTConfig)}
        model = GPT(GPTConfig(**{k: v for k, v in config.items() if k in names}))
        load_safetensors(model, str(directory / "model.safetensors"))
        return model.eval()
    return _load_gpt2(directory, local_files_only=True).eval()


def load_tokenizer(directory: str | os.PathLike):
    """The tokenizer saved beside a model (``save_model(..., tokenizer=...)``)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(directory), local_files_only=True)


def sizes_from_profile(settings: dict[str, Any], family: str = "mingpt", block_size: int | None = None) -> dict[str, Any]:
    """The model sizes of a profile (:mod:`lib.core.profiles`): ``model_*`` keys, with the
    ``gpt2_*`` ones overriding them for GPT-2 where a profile sets them (``full``; any
    profile's ``gpt2_tie_weights``).
    ``model_block_size`` is a number of positions, or ``"public"``: then ``block_size``
    must be given (:func:`lib.runs.artefacts.public_block_size`, a limit from the public people's
    sequences); a profile with a fixed context ignores ``block_size``."""
    sizes = {key: settings[f"model_{key}"] for key in ("block_size", "n_layer", "n_head", "n_embd", "dropout")}
    sizes["tie_weights"] = bool(settings.get("model_tie_weights", False))
    if family == "mingpt":
        sizes["positions"] = settings.get("model_positions", "learned")
    if family == "gpt2":
        sizes.update({key: settings[f"gpt2_{key}"] for key in ("n_layer", "n_head", "n_embd", "tie_weights")
                      if f"gpt2_{key}" in settings})
    if sizes["block_size"] == "public":
        if block_size is not None:
            sizes["block_size"] = int(block_size)
            return sizes
        raise ValueError("the profile sizes the model from the public people's sequences "
                         "(model_block_size='public'): pass block_size (lib.runs.artefacts.public_block_size)")
    return sizes


def family_sizes(settings: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Each family's (layers, width) in the profile (a ``<family>_n_*`` key over ``model_n_*``):
    what the dissertation's size claims are tested on."""
    return {family: (int(settings.get(f"{family}_n_layer", settings.get("model_n_layer"))),
                     int(settings.get(f"{family}_n_embd", settings.get("model_n_embd")))) for family in FAMILIES}
