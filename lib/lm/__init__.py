"""The language models: tokenizers (and what a vocabulary discloses), the two model families, the
one training loop, sampling.

Modules:

- :mod:`lib.lm.tokenization` -- character, BPE, variant (two tokens a record), record (one) and
  GPT-2 tokenizers (Hugging Face);
- :mod:`lib.lm.vocab_privacy` -- what a tokenizer's vocabulary discloses about the people it saw;
- :mod:`lib.lm.models` -- the minGPT-style GPT and GPT-2: building, saving, loading; GPT-2's
  ``Conv1D`` as ``nn.Linear`` for Opacus;
- :mod:`lib.lm.training` -- the one training loop (private or not; checkpoints, early stopping);
- :mod:`lib.lm.generation` -- sampling with a key/value cache, constrained decoding, validity;
"""
