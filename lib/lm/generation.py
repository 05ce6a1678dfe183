"""Generating synthetic profiles: sampling, constrained decoding, and the synthetic VCF.

**Unconditional sampling.** A synthetic person starts from the sample-start token (and, if
asked, a population tag) — never from a real member's first variants, which is how the
dissertation prompted its models and which leaks those members into the "synthetic" cohort.
Sequences are sampled in batches with a key/value cache (each step feeds only the newest
token), with temperature, top-k and nucleus (top-p) filtering, from a seeded generator.

**Constrained decoding.** A language model over variant text can write things that are not
variants: positions off the panel, a REF allele the reference genome does not have at that
position, genotype ``3|1`` at a bi-allelic site, the same site twice, records out of order.
With ``constraint=PanelGrammar(...)`` every step masks the tokens that cannot continue a
valid profile, so every sample is valid by construction:

* each record is a panel site written exactly as the panel writes it (``22:POS:REF>ALT``),
  with a genotype possible at that site (alleles ``0..n_alts``, phased or not as the panel);
* records come in panel order (increasing position), each site at most once; in *dense*
  mode every site exactly once;
* sparse profiles never write ``0|0`` (absence means homozygous reference).

The grammar is a character-level trie of every valid record, and tokens are checked by
their text, so the same constraint serves every tokenizer — one token per record (the
variant tokenizer), sub-word pieces (BPE, GPT-2) or single characters. Each trie node knows
the range of site indices below it, so a record that would go back in position order is
cut off at its first character, and the decoder never walks into a dead end.

For sparse profiles and the variant tokenizer, :class:`SiteSetGrammar` drops the order
requirement: any site not yet written may come next, and the records are sorted into panel
order afterwards (its docstring says why; :func:`constrained_order` picks
it). Its masks are a few vectorised operations per step, not a walk through the trie.

The unconstrained mode stays available; :func:`validate_profile` measures how valid its
output is, record by record, so the two can be compared.

Only public information shapes the constraint: the panel's sites, their ALT counts and
the public people's phasing convention (:mod:`lib.genomes.panel`). A synthetic cohort's records go
back to genotypes with :func:`lib.genomes.profiletext.to_cohort` and into a VCF with
:func:`lib.genomes.vcf.write_vcf` (:func:`lib.runs.experiments.synthesize`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from . import models, tokenization
from ..genomes import profiletext, vcf
from ..genomes.cohort import Cohort

#: Bumped whenever a change to this module changes what a seed samples (artefacts made by an
#: older version are then not reused: :func:`lib.runs.experiments.synthesize` records it).
SAMPLER_VERSION = 6  # 2: inverse-CDF token draws; the variant tokenizer's implicit separator;
#                      3: the minGPT decodes one token with a fused attention kernel (KVCache);
#                      4: a constrained profile the length limit cut drops its half-written last record;
#                      5: GPT-2 decodes through lib.lm.models.gpt2_decode (same arithmetic, other rounding);
#                      6: gpt2_decode's tanh GELU in one call


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------

@dataclass
class SamplingConfig:
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    batch_size: int = 16
    #: λ of the public prior: each step's distribution is the private model's and the prior
    #: model's, mixed geometrically, ``(1 - λ) log p_model + λ log p_prior`` (:func:`mix_prior`);
    #: 0 (the default) samples the model alone. The prior is a model trained on public people
    #: only (:func:`lib.runs.experiments.public_base`), so mixing it in is post-processing.
    prior_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature={self.temperature} must be positive")
        if not 0 <= self.prior_weight < 1:
            raise ValueError(f"prior_weight={self.prior_weight} must lie in [0, 1): 1 would sample the prior alone")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k={self.top_k} must be at least 1")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p} must lie in (0, 1]")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be at least 1")


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Scale by temperature, then keep the ``top_k`` most likely tokens and the smallest set
    whose probability reaches ``top_p``; the rest get ``-inf``. Shape ``(batch, vocab)``."""
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p  # keep the token crossing top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def mix_prior(logits: torch.Tensor, prior_logits: torch.Tensor, weight: float) -> torch.Tensor:
    """The geometric mixture of two next-token distributions, as logits:
    ``(1 - weight) log_softmax(logits) + weight log_softmax(prior_logits)`` (a product of
    experts: a token both models find likely stays likely, a token one of them rules out is
    pushed down). Shape ``(batch, vocab)`` for both; ``weight`` 0 returns ``logits``."""
    if weight == 0:
        return logits
    if prior_logits.shape != logits.shape:
        raise ValueError(f"the prior's logits have shape {tuple(prior_logits.shape)}, the model's "
                         f"{tuple(logits.shape)}: the prior must share the model's tokenizer")
    return (1 - weight) * torch.log_softmax(logits, dim=-1) + weight * torch.log_softmax(prior_logits, dim=-1)


def constrained_probabilities(logits: torch.Tensor, allowed: torch.Tensor, eos_token_id: int,
                              config: SamplingConfig) -> torch.Tensor:
    """Next-token probabilities under the constraint, without inflating the end of a sample.

    Masking invalid tokens and renormalising would hand the mass the model put on invalid
    continuations (a site out of order, a site already written) to every allowed token in
    proportion — the end token included, so constrained samples would stop early and carry
    too few variants. Instead the end token keeps the probability the model gave it (after
    temperature and top-k/top-p, computed without the mask) and only the other allowed tokens
    share the rest; where the end is the only allowed token, or nothing else is allowed, it
    gets everything it may."""
    masked = filter_logits(logits.masked_fill(~allowed, float("-inf")), config.temperature,
                           config.top_k, config.top_p)
    probs = torch.softmax(masked, dim=-1)
    p_end = torch.softmax(filter_logits(logits, config.temperature, config.top_k, config.top_p), dim=-1)[:, eos_token_id]
    end_allowed = allowed[:, eos_token_id]
    others = probs.clone()
    others[:, eos_token_id] = 0.0
    other_mass = others.sum(dim=-1, keepdim=True)
    keep_end = end_allowed & (other_mass.squeeze(-1) > 0)
    p_end = torch.where(keep_end, p_end, end_allowed.float())  # end forced, or not allowed
    scaled = others / other_mass.clamp_min(1e-30) * (1.0 - p_end).unsqueeze(-1)
    scaled[:, eos_token_id] = p_end
    return torch.where(other_mass > 0, scaled, probs)


def sample_tokens(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One token per row of ``probs`` (``(batch, vocab)``, rows summing to about 1), by
    inverse-CDF sampling with one uniform draw per row from ``generator``. Equivalent to
    ``torch.multinomial(probs, 1)`` in distribution, several times cheaper per decoding step
    at this size, and never picks a zero-probability token (the uniform is scaled by the
    row's total, and ``searchsorted`` finds the first cumulative value above it)."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp_max(probs.shape[-1] - 1).squeeze(-1)


def _cache_name(model: torch.nn.Module) -> str:
    """The keyword a model takes its key/value cache by (and its output's field): ``cache``
    in transformers 5 (GPT-2) and :mod:`lib.lm.models`' GPT, ``past_key_values`` in older
    transformers."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _forward(model: torch.nn.Module, ids: torch.Tensor, positions: torch.Tensor, past: Any, name: str):
    """The last position's logits and the cache, for a prefix (``past`` None) or the
    newest tokens. GPT-2 runs through :func:`lib.lm.models.gpt2_decode` where it applies (its
    own weights, without transformers' per-call bookkeeping), cached or not alike."""
    if models.gpt2_fast_decoding(model):
        return models.gpt2_decode(model, ids, positions, past)
    out = model(input_ids=ids, position_ids=positions, use_cache=True, **{name: past})
    return out.logits[:, -1, :], getattr(out, name, None)


@torch.no_grad()
def generate(model: torch.nn.Module, prompt_ids: Sequence[int], n_samples: int, eos_token_id: int,
             config: SamplingConfig | None = None, constraint: "PanelGrammar | SiteSetGrammar | None" = None,
             seed: int = 0, use_cache: bool = True, progress: bool = False,
             prior: torch.nn.Module | None = None) -> list[list[int]]:
    """Sample ``n_samples`` continuations of ``prompt_ids`` (the sample-start token and
    optional population tag: never a real member's variants), each until ``eos_token_id``
    or ``max_new_tokens``. Returns the new token ids of each sample, ``eos`` excluded.
    ``prompt_ids`` may also be one prompt per sample, all of the same length (``n_samples``
    prompts: :func:`continue_prompts` groups prompts of any lengths).

    ``use_cache=False`` recomputes the whole prefix at every step (the benchmark's baseline).
    ``prior`` (a model on the same tokenizer) is mixed in with ``config.prior_weight``
    (:func:`mix_prior`); it is required when that weight is above 0 and unused otherwise.
    """
    config = config or SamplingConfig()
    if config.prior_weight > 0 and prior is None:
        raise ValueError(f"prior_weight={config.prior_weight} needs a prior model (prior=...)")
    prior = prior.eval() if config.prior_weight > 0 else None
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    results: list[list[int]] = []
    batches = range(0, n_samples, config.batch_size)
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="generating", unit=" batch", mininterval=1.0)
    prompt = torch.tensor(prompt_ids, dtype=torch.long)
    if prompt.dim() == 2 and len(prompt) != n_samples:
        raise ValueError(f"{len(prompt)} prompts for n_samples={n_samples}: give one prompt per sample")
    cache_name = _cache_name(model)
    prior_cache = _cache_name(prior) if prior is not None else None
    for start in batches:
        size = min(config.batch_size, n_samples - start)
        ids = (prompt[start:start + size] if prompt.dim() == 2 else prompt.repeat(size, 1)).to(device)
        states = [constraint.start() for _ in range(size)] if constraint else None
        finished = [False] * size
        new: list[list[int]] = [[] for _ in range(size)]
        past = prior_past = None
        positions = torch.arange(ids.shape[1], device=device).repeat(size, 1)
        step_ids, step_pos = ids, positions
        for _ in range(config.max_new_tokens):
            if use_cache:  # feed only the newest token; the cache holds the rest
                logits, past = _forward(model, step_ids, step_pos, past, cache_name)
            else:
                logits, _ = _forward(model, ids, positions, None, cache_name)
            logits = logits.float().cpu()
            if prior is not None:
                if use_cache:
                    prior_logits, prior_past = _forward(prior, step_ids, step_pos, prior_past, prior_cache)
                else:
                    prior_logits, _ = _forward(prior, ids, positions, None, prior_cache)
                logits = mix_prior(logits, prior_logits.float().cpu(), config.prior_weight)
            if constraint is not None:  # mask first: top-k and top-p then choose among valid tokens
                allowed = torch.stack([constraint.allowed(s) for s in states])
                if not allowed.any(dim=-1).all():
                    raise RuntimeError("the constraint left no token to choose (a bug: the grammar "
                                       "should never reach a dead end)")
                probs = constrained_probabilities(logits, allowed, eos_token_id, config)
            else:
                probs = torch.softmax(filter_logits(logits, config.temperature, config.top_k, config.top_p), dim=-1)
            chosen = sample_tokens(probs, generator).tolist()
            for i, token in enumerate(chosen):
                if finished[i]:
                    chosen[i] = eos_token_id  # a finished sequence only pads
                elif token == eos_token_id:
                    finished[i] = True
                else:
                    new[i].append(token)
                    if constraint is not None:
                        states[i] = constraint.advance(states[i], token)
            if all(finished):
                break
            step_ids = torch.tensor(chosen, dtype=torch.long, device=device).unsqueeze(-1)
            step_pos = step_pos[:, -1:] + 1
            if not use_cache:
                ids = torch.cat([ids, step_ids], dim=1)
                positions = torch.cat([positions, step_pos], dim=1)
        results.extend(new)
    return results


def continue_prompts(model: torch.nn.Module, prompts: Sequence[Sequence[int]], eos_token_id: int,
                     config: SamplingConfig | None = None, seed: int = 0) -> list[list[int]]:
    """One unconstrained continuation per prompt (prompts of any lengths, batched by
    length; the order of ``prompts`` kept): what a black-box attacker asks a model to
    write from the start of a candidate's profile (the hybrid attack). Seeded per group
    of prompts of one length."""
    out: list[list[int] | None] = [None] * len(prompts)
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        if len(p) < 1:
            raise ValueError(f"prompt {i} is empty: it needs at least the start token")
        by_length.setdefault(len(p), []).append(i)
    for length, where in sorted(by_length.items()):
        new = generate(model, [list(prompts[i]) for i in where], len(where), eos_token_id, config,
                       seed=seed + length)
        for i, ids in zip(where, new):
            out[i] = ids
    return [ids for ids in out]  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# The panel grammar
# --------------------------------------------------------------------------------------

class _Node:
    __slots__ = ("children", "hi", "sites", "site")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.hi = -1  # the largest site index among the records below
        self.sites: set[int] = set()  # every site index among the records below
        self.site = -1  # the site index of the record that ends here, or -1


@dataclass
class GrammarState:
    node: _Node | None  # inside a record (None: between records)
    literal: str = ""  # part of the separator or end text matched so far
    last_site: int = -1  # index of the last complete record
    done: bool = False


def token_pieces(tokenizer: Any) -> list[str]:
    """The text of every token id on its own (special tokens included, nothing cleaned up):
    what the grammars match tokens by."""
    return [tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False)
            for i in range(len(tokenizer))]


class PanelGrammar:
    """Valid sparse or dense profiles over a panel, as a token-level constraint.

    ``site_texts``: ``22:POS:REF>ALT`` per panel site in panel order (:func:`lib.genomes.profiletext.site_keys`);
    ``n_alts``: ALT alleles per site; ``separator``/``end``: the text the tokenizer's tokens
    put between records and after the last one (both decode from tokens). ``separator`` may
    be ``""`` where records are self-delimiting (the variant tokenizer: a record is a site
    token then a genotype token, :func:`lib.lm.tokenization.record_separator`); a complete
    record is then followed directly by the next one, which the grammar checks is unambiguous.
    """

    def __init__(self, tokenizer: Any, site_texts: Sequence[str], n_alts: Sequence[int],
                 separator: str, end: str, sparse: bool = True, phased: bool = True) -> None:
        if not end or (separator and (separator.startswith(end) or end.startswith(separator))):
            raise ValueError(f"separator {separator!r} and end {end!r}: the end must be non-empty "
                             "and neither may be a prefix of the other")
        self.sparse, self.separator, self.end = sparse, separator, end
        self.n_sites = len(site_texts)
        self.root = _Node()
        self.root.site = -1
        for index, (site, k) in enumerate(zip(site_texts, n_alts)):
            for gt in profiletext.possible_genotypes(int(k), phased=phased, sparse=sparse):
                self._insert(f"{site}_{gt}", index)
        if not separator:
            self._check_self_delimiting()
        self.vocab_size = len(tokenizer)
        self.pieces = token_pieces(tokenizer)
        self.eos_id = tokenizer.convert_tokens_to_ids(end) if end in tokenizer.get_vocab() else None
        self.special_ids = set(getattr(tokenizer, "all_special_ids", []))
        self.by_first: dict[str, list[int]] = {}
        for i, piece in enumerate(self.pieces):
            if piece:
                self.by_first.setdefault(piece[0], []).append(i)
        self._cache: dict[tuple, torch.Tensor] = {}

    def _insert(self, text: str, index: int) -> None:
        node = self.root
        for ch in text:
            node.hi = max(node.hi, index)
            node.sites.add(index)
            node = node.children.setdefault(ch, _Node())
        node.hi = max(node.hi, index)
        node.sites.add(index)
        node.site = index

    def _check_self_delimiting(self) -> None:
        """Without a separator, the character after a complete record must never be able to
        both extend it and start the next record (or the end text)."""
        starts = set(self.root.children) | {self.end[0]}
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.site >= 0 and starts & set(node.children):
                raise ValueError("records are not self-delimiting without a separator (a record is a "
                                 "prefix of another that continues with a record's first character); "
                                 "use a separator")
            stack.extend(node.children.values())

    # -- the automaton, one character at a time ------------------------------------------

    def start(self) -> GrammarState:
        return GrammarState(node=None)

    def _can_enter(self, node: _Node, last: int) -> bool:
        """Whether a record below ``node`` may follow the record of site ``last``."""
        return node.hi > last if self.sparse else (last + 1) in node.sites

    def _record_ok(self, site: int, last: int) -> bool:
        return site > last if self.sparse else site == last + 1

    def _may_end(self, last: int) -> bool:
        return True if self.sparse else last == self.n_sites - 1

    def _step(self, state: GrammarState, ch: str) -> GrammarState | None:
        if state.done:
            return None
        if state.node is not None:  # inside a record (or at the root, right after a separator)
            child = state.node.children.get(ch)
            if child is not None and self._can_enter(child, state.last_site):
                return GrammarState(child, "", state.last_site)
            if state.node.site >= 0 and self._record_ok(state.node.site, state.last_site):
                nxt = self._between(state.node.site, "", ch)  # the record is complete
                if nxt is None and not self.separator:  # self-delimiting records: the next one starts
                    return self._step(GrammarState(self.root, "", state.node.site), ch)
                return nxt
            return None
        if not state.literal and state.last_site < 0:  # the very start: a record, or the end
            child = self.root.children.get(ch)
            if child is not None and self._can_enter(child, -1):
                return GrammarState(child, "", -1)
        return self._between(state.last_site, state.literal, ch)

    def _between(self, last: int, literal: str, ch: str) -> GrammarState | None:
        """After a complete record (or at the start): the separator, then another record,
        or the end text."""
        candidate = literal + ch
        end_ok = self.end.startswith(candidate) and self._may_end(last)
        sep_ok = last >= 0 and self.separator.startswith(candidate) and self._can_enter(self.root, last)
        if end_ok and candidate == self.end:
            return GrammarState(None, "", last, done=True)
        if sep_ok and candidate == self.separator:
            return GrammarState(self.root, "", last)
        if end_ok or sep_ok:
            return GrammarState(None, candidate, last)
        return None

    def advance(self, state: GrammarState, token_id: int) -> GrammarState:
        for ch in self.pieces[token_id]:
            nxt = self._step(state, ch)
            if nxt is None:
                raise ValueError(f"token {token_id} ({self.pieces[token_id]!r}) is not allowed here")
            state = nxt
        return state

    def accepts(self, state: GrammarState, piece: str, special: bool = True) -> bool:
        """Whether ``piece`` can follow ``state``. An ordinary (non-special) piece may not
        spell part of a multi-character separator or end text: those are written by their
        own special tokens, never assembled from sub-word pieces such as ``<``, ``END``."""
        for ch in piece:
            state = self._step(state, ch)
            if state is None or (not special and state.literal):
                return False
        return True

    def allowed(self, state: GrammarState) -> torch.Tensor:
        """Boolean mask over the vocabulary: the tokens that keep the profile valid. The
        end-of-sample token is allowed exactly where the profile may end."""
        key = (id(state.node), state.literal, state.last_site, state.done)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        if state.done:  # the end text was spelled out by ordinary sub-word pieces: only the end token may follow
            if self.eos_id is not None:
                mask[self.eos_id] = True
            return mask
        for first, ids in self.by_first.items():
            if self._step(state, first) is None:
                continue
            for i in ids:
                if self.accepts(state, self.pieces[i], special=i in self.special_ids):
                    mask[i] = True
        if len(self._cache) < 200_000:
            self._cache[key] = mask
        return mask


@dataclass(frozen=True)
class SiteSetState:
    site: int | None          # the site whose genotype comes next (None: a site or the end comes next)
    used: torch.Tensor        # bool over the vocabulary: the site tokens already written


class SiteSetGrammar:
    """Valid sparse profiles whose records come in *any* site order, each site at most
    once; for a tokenizer that spells a record as one site token then one genotype token
    (the variant tokenizer). Write the records in panel order afterwards
    (:meth:`sort_records`).

    Why. :class:`PanelGrammar` also demands increasing positions, the order profiles are
    written in. A model that knows which sites a person carries better than in which order
    to write them -- every private model of the DP chapter, and the non-private ones to a
    lesser degree -- then has its profile cut short: once it has written a later site, the
    earlier sites it would still have written are forbidden, and the probability they held
    goes to the later sites and to the end token. Under this grammar a step may choose
    any site not yet written (or the end), then a genotype that site can have; the set of
    records drawn is the model's, and the sorted profile is as valid as under the ordered
    grammar. (The profiles differ in distribution from ordered decoding; neither is the
    model's unconstrained output, which also writes invalid records.)

    ``site_texts``: ``22:POS:REF>ALT`` per panel site (:func:`lib.genomes.profiletext.site_keys`); ``n_alts``:
    ALT alleles per site; ``end``: the end-of-sample token's text. Raises ``ValueError``
    when a panel site or the end has no token of its own, or a site has no genotype token
    (the tokenizer is then not record-aligned: use :class:`PanelGrammar`)."""

    def __init__(self, tokenizer: Any, site_texts: Sequence[str], n_alts: Sequence[int], end: str,
                 phased: bool = True) -> None:
        self.vocab_size = len(tokenizer)
        by_piece: dict[str, int] = {}
        for i, piece in enumerate(token_pieces(tokenizer)):
            by_piece.setdefault(piece, i)
        missing = [text for text in site_texts if text not in by_piece]
        if missing:
            raise ValueError(f"order-free decoding needs one token per panel site (the variant tokenizer); "
                             f"{len(missing)} of the panel's {len(site_texts)} sites have none, e.g. "
                             f"{missing[0]!r}")
        if end not in by_piece:
            raise ValueError(f"the end text {end!r} has no token of its own")
        self.index = {text: i for i, text in enumerate(site_texts)}
        self.site_ids = [by_piece[text] for text in site_texts]
        self.site_of = {token: i for i, token in enumerate(self.site_ids)}
        self.eos_id = by_piece[end]
        self.n_alts = [int(k) for k in n_alts]
        self.genotype_masks: dict[int, torch.Tensor] = {}
        for k in sorted(set(self.n_alts)):
            ids = [by_piece[f"_{gt}"] for gt in profiletext.possible_genotypes(k, phased=phased, sparse=True)
                   if f"_{gt}" in by_piece]
            if not ids:
                raise ValueError(f"no genotype token for a site with {k} ALT allele(s) (expected tokens "
                                 f"such as '_0|1')")
            mask = torch.zeros(self.vocab_size, dtype=torch.bool)
            mask[ids] = True
            self.genotype_masks[k] = mask
        self.start_mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        self.start_mask[self.site_ids] = True
        self.start_mask[self.eos_id] = True

    def start(self) -> SiteSetState:
        return SiteSetState(site=None, used=torch.zeros(self.vocab_size, dtype=torch.bool))

    def allowed(self, state: SiteSetState) -> torch.Tensor:
        """Boolean mask over the vocabulary: an unwritten site or the end token between
        records; a genotype of the site just written inside one."""
        if state.site is None:
            return self.start_mask & ~state.used
        return self.genotype_masks[self.n_alts[state.site]]

    def advance(self, state: SiteSetState, token_id: int) -> SiteSetState:
        if state.site is None:  # a site not yet written (the end token ends generation, not a state)
            if token_id not in self.site_of or bool(state.used[token_id]):
                raise ValueError(f"token {token_id} is not allowed here")
            return SiteSetState(site=self.site_of[token_id], used=state.used)
        if not bool(self.genotype_masks[self.n_alts[state.site]][token_id]):
            raise ValueError(f"token {token_id} is not allowed here")
        used = state.used.clone()
        used[self.site_ids[state.site]] = True
        return SiteSetState(site=None, used=used)

    def sort_records(self, records: Sequence[str]) -> list[str]:
        """The records in panel order (their site text is everything before the last ``_``)."""
        return sorted(records, key=lambda record: self.index[record.rsplit("_", 1)[0]])


class RecordSetGrammar(SiteSetGrammar):
    """:class:`SiteSetGrammar` for a tokenizer with one token per record
    (:func:`lib.lm.tokenization.record_tokenizer`): a step may choose the record token of any
    site not yet written (with a genotype that site can have, the tokenizer's vocabulary
    holds no other) or the end token; the records are sorted into panel order afterwards
    (:meth:`sort_records`). Every state is "between records", so the parent's
    :meth:`~SiteSetGrammar.start`, :meth:`~SiteSetGrammar.allowed` and
    :meth:`~SiteSetGrammar.sort_records` serve as they are. Raises ``ValueError`` when a
    panel site has no record token."""

    def __init__(self, tokenizer: Any, site_texts: Sequence[str], n_alts: Sequence[int], end: str,
                 phased: bool = True) -> None:  # its own tables: the parent's do not apply
        self.vocab_size = len(tokenizer)
        self.index = {text: i for i, text in enumerate(site_texts)}
        allowed_genotypes = {k: set(profiletext.possible_genotypes(k, phased=phased, sparse=True))
                             for k in set(int(k) for k in n_alts)}
        site_of_token = torch.full((self.vocab_size,), -1, dtype=torch.long)
        eos = None
        for i, piece in enumerate(token_pieces(tokenizer)):
            if piece == end:
                eos = i if eos is None else eos
            site, _, genotype = piece.rpartition("_")
            if site in self.index and genotype in allowed_genotypes[int(n_alts[self.index[site]])]:
                site_of_token[i] = self.index[site]
        if eos is None:
            raise ValueError(f"the end text {end!r} has no token of its own")
        missing = sorted(set(range(len(site_texts))) - set(site_of_token[site_of_token >= 0].tolist()))
        if missing:
            raise ValueError(f"one-token-per-record decoding needs a record token for every panel site; "
                             f"{len(missing)} sites have none, e.g. {site_texts[missing[0]]!r}")
        self.eos_id = eos
        self.site_of_token = site_of_token
        self.start_mask = site_of_token >= 0
        self.start_mask[eos] = True

    def advance(self, state: SiteSetState, token_id: int) -> SiteSetState:
        if not bool(self.allowed(state)[token_id]) or token_id == self.eos_id:
            raise ValueError(f"token {token_id} is not allowed here")
        return SiteSetState(site=None, used=state.used | (self.site_of_token == self.site_of_token[token_id]))


# --------------------------------------------------------------------------------------
# Validity, and the synthetic cohort
# --------------------------------------------------------------------------------------

def validate_profile(records: Sequence[str], panel: Cohort, sparse: bool = True) -> dict[str, int]:
    """Count each record as valid or by its first fault: ``malformed`` (not the record
    pattern), ``off_panel`` (no panel site at that position), ``wrong_alleles`` (REF/ALT
    differ from the panel's), ``bad_genotype`` (an allele the site does not have),
    ``out_of_order``, ``duplicate``; plus ``valid`` and ``records``."""
    index = {key: i for i, key in enumerate(profiletext.site_keys(panel))}
    by_pos: dict[int, list[int]] = {}
    for i, pos in enumerate(panel.sites["pos"]):
        by_pos.setdefault(int(pos), []).append(i)
    chrom = vcf.normalise_chromosome(panel.contig.name)
    counts = dict(records=0, valid=0, malformed=0, off_panel=0, wrong_alleles=0, bad_genotype=0,
                  out_of_order=0, duplicate=0)
    seen: set[int] = set()
    last = -1
    for record in records:
        counts["records"] += 1
        m = profiletext.RECORD.match(record)
        if m is None or vcf.normalise_chromosome(m["chrom"]) != chrom:
            counts["malformed"] += 1
            continue
        site = index.get(f"{chrom}:{m['pos']}:{m['ref']}>{m['alts']}")
        if site is None:
            counts["off_panel" if int(m["pos"]) not in by_pos else "wrong_alleles"] += 1
            continue
        n_alts = len(panel.sites["alts"].iloc[site])
        alleles = [m["a"], m["b"]]
        if any(a != "." and int(a) > n_alts for a in alleles) or (sparse and alleles == ["0", "0"]):
            counts["bad_genotype"] += 1
            continue
        if site in seen:
            counts["duplicate"] += 1
            continue
        if site < last:
            counts["out_of_order"] += 1
            continue
        seen.add(site)
        last = site
        counts["valid"] += 1
    return counts


def constrained_order(tokenizer: Any, sparse: bool = True) -> str:
    """The site order constrained decoding imposes with ``tokenizer``: ``"any"`` (each
    site at most once, the records sorted afterwards) where the tokenizer's tokens line up
    with records (a site token and a genotype token, or one token per record) and profiles
    are sparse; ``"sorted"`` (increasing positions, as profiles are written) otherwise."""
    return "any" if sparse and tokenization.record_unit(tokenizer) != "text" else "sorted"


def panel_grammar(tokenizer: Any, panel: Cohort, phased: bool, sparse: bool = True,
                  order: str | None = None) -> "PanelGrammar | SiteSetGrammar | RecordSetGrammar":
    """The grammar of valid profiles over the public ``panel`` (its sites and ALT counts)
    for ``tokenizer``, with phased (``|``) or unphased genotypes (the public people's
    convention, :func:`lib.genomes.panel.phased_convention`). ``order``: ``"any"``
    (:class:`SiteSetGrammar`, or :class:`RecordSetGrammar` for one token per record;
    sparse profiles only), ``"sorted"`` (:class:`PanelGrammar`), or None for
    :func:`constrained_order`."""
    order = order or constrained_order(tokenizer, sparse)
    n_alts = panel.sites["alts"].map(len).tolist()
    if order == "any":
        if not sparse:
            raise ValueError("order='any' is for sparse profiles (a dense profile lists every site in order)")
        grammar = RecordSetGrammar if tokenization.record_unit(tokenizer) == "record" else SiteSetGrammar
        return grammar(tokenizer, profiletext.site_keys(panel), n_alts, end=tokenization.EOS, phased=phased)
    if order != "sorted":
        raise ValueError(f"order={order!r}: choose 'any' or 'sorted'")
    return PanelGrammar(tokenizer, profiletext.site_keys(panel), n_alts, separator=tokenization.record_separator(tokenizer),
                        end=tokenization.EOS, sparse=sparse, phased=phased)


def ids_to_records(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """The records of generated ids (the text after ``<START_SAMPLE>``): a population tag
    in front is dropped, the rest is split at ``<MUT_SEP>``. Whatever is not a record (a
    stray special token, a cut-off record) stays in, for :func:`validate_profile` to count."""
    text = tokenization.decode(tokenizer, ids)
    if text.endswith(tokenization.EOS):
        text = text[:-len(tokenization.EOS)]
    for tag in tokenization.POPULATION_TOKENS.values():
        if text.startswith(tag):
            text = text[len(tag):]
            break
    return [r for r in text.split(tokenization.SEP) if r]


def drop_cut_record(records: Sequence[str], panel: Cohort) -> list[str]:
    """The records of a constrained profile that the length limit cut short: its last
    record, which the limit may have stopped half-way (a site written, its genotype not),
    is dropped when it is not a valid record; the others are valid by construction."""
    records = list(records)
    if records and validate_profile(records[-1:], panel)["valid"] == 0:
        records.pop()
    return records


def validity_summary(profiles: Sequence[Sequence[str]], panel: Cohort, finished: Sequence[bool] | None = None) -> dict:
    """Record counts by fault (:func:`validate_profile`) summed over the profiles, plus
    ``valid_rate`` (valid records / records), ``valid_samples`` (profiles whose every
    record is valid and that ended with the end token), ``unfinished`` and ``n_samples``."""
    totals: dict[str, Any] = {}
    valid_samples = 0
    finished = list(finished) if finished is not None else [True] * len(profiles)
    for profile, done in zip(profiles, finished):
        counts = validate_profile(profile, panel)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        valid_samples += int(done and counts["valid"] == counts["records"])
    totals.setdefault("records", 0)
    totals.setdefault("valid", 0)
    totals.update(n_samples=len(profiles), valid_samples=valid_samples,
                  unfinished=len(profiles) - sum(map(bool, finished)),
                  valid_rate=totals["valid"] / totals["records"] if totals["records"] else 1.0)
    return totals
