"""Decoding written once against a model's `encode(inputs)` and `step(tokens, states, memory)`.

Greedy search, sampling and beam search each run inside one `ops.while_loop`; `CompiledSearch`
compiles that loop once for any batch size and length (about 4x faster on a CPU than a Python
loop per token).
"""

from seq2seq.search.beam import beam_search
from seq2seq.search.common import NEGATIVE, Hypotheses, Scoring, is_real, output_length_limits
from seq2seq.search.compiled import PROMPT_IDS, SOURCE_IDS, CompiledSearch, InputKind, image_inputs, search, search_translations
from seq2seq.search.greedy import greedy_search, sample_search

__all__ = ["NEGATIVE", "PROMPT_IDS", "SOURCE_IDS", "CompiledSearch", "Hypotheses", "InputKind", "Scoring", "beam_search",
           "greedy_search", "image_inputs", "is_real", "output_length_limits", "sample_search", "search",
           "search_translations"]
