"""The vocabulary shortlist: for each source piece, the target pieces a translation of it is likely to use.

Decoding spends most of a step on the output layer, which scores every target piece. Marian's lexical
shortlist (Junczys-Dowmunt et al. 2018) scores only the pieces likely for the batch's sources: the
most frequent target pieces, and each source piece's best translations under a word-translation
table. We learn that table with IBM Model 1 (Brown et al. 1993), by expectation maximisation over the
training pairs' pieces, as Marian's shortlists come from fast_align's lexical table. On the Bible corpus
(8,000 pieces a side, dev split, batches of 64, with the 100 most frequent pieces;
`benchmarks/shortlist_coverage.py`) Model 1's top 10 per piece hold 94.4 % of the references' pieces in
1,672 pieces per batch; ranking by co-occurrence counts holds 90.6 % with its top 50 (1,188 pieces), and
the Dice coefficient needs 3,353 pieces for 94.8 %.

The table is dense, (source pieces + 1) x target pieces in float32, twice over while it is estimated
(256 MB each at 8,000 pieces a side), so training refuses to build one past `MAX_TABLE_CELLS`. It is
estimated on at most `MAX_PAIRS` training pairs (a sample fixed by the seed): a few iterations over
tens of thousands of pairs already rank each piece's translations. The whole build took 14–15 s for
the Bible's 29,529 pairs (about 0.1 ms per pair and iteration) on a 2-core AVX2 AMD EPYC.

The run keeps, per source piece, its `STORED_CANDIDATES` best target pieces, best first, and every target
piece by falling frequency (`shortlist.npz`); `decode.shortlist_per_piece` and `decode.shortlist_frequent`
choose how many of each a search uses (`seq2seq.search.shortlist`).
"""

import random
import zipfile
from pathlib import Path

import numpy as np

from seq2seq.durable_files import replace_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.tokens import EOS_ID

STORED_CANDIDATES = 100
MAX_PAIRS = 50_000
MAX_TABLE_CELLS = 8192 * 8193
ITERATIONS = 5
SPECIAL_PIECES = EOS_ID + 1  # PAD, UNK, BOS, EOS: never a translation of a source piece


def build_shortlist(sources, targets, source_vocab_size, target_vocab_size, seed=0):
    """(candidates (source vocab, STORED_CANDIDATES) int32, by_frequency (target vocab,) int32) from
    training pairs of piece ids (lists of ints; a source's closing EOS is left out, as Model 1's empty
    source already stands for "aligned to nothing").

    A source piece never seen in the pairs (UNK, BOS, a rare piece outside the sample) gets the most
    frequent target pieces as its candidates.
    """
    if (source_vocab_size + 1) * target_vocab_size > MAX_TABLE_CELLS:
        raise Seq2SeqError(f"a shortlist for {source_vocab_size:,} x {target_vocab_size:,} pieces needs a "
                           f"{(source_vocab_size + 1) * target_vocab_size * 8 / 1e9:.1f} GB table; "
                           "it is built for vocabularies up to 8,192 pieces a side")
    sources = [source[:-1] if len(source) and source[-1] == EOS_ID else source for source in sources]
    pairs = [(source, target) for source, target in zip(sources, targets) if len(source) and len(target)]
    if len(pairs) > MAX_PAIRS:
        pairs = random.Random(seed).sample(pairs, MAX_PAIRS)
    counted = [(*np.unique(np.append(source, source_vocab_size), return_counts=True),
                *np.unique(target, return_counts=True)) for source, target in pairs]
    frequency = np.bincount(np.concatenate([np.asarray(target, np.int64) for target in targets]),
                            minlength=target_vocab_size)
    frequency[:SPECIAL_PIECES] = -1
    by_frequency = np.argsort(-frequency, kind="stable").astype(np.int32)
    stored = min(STORED_CANDIDATES, target_vocab_size - SPECIAL_PIECES)
    table = translation_table(counted, source_vocab_size, target_vocab_size)[:-1]  # less the empty source
    candidates = best_per_row(table, stored)
    candidates[~table.any(axis=1)] = by_frequency[:stored]  # rows of pieces never seen
    return candidates, by_frequency


def best_per_row(table, count, rows_at_once=512):
    """The `count` best target pieces of each source piece's row of `table`, best first, never a special piece.

    Sorted a few hundred rows at a time: sorting the whole table would hold an int64 copy of it. A
    stable sort ranks ties by id, the same on every machine.
    """
    best = np.empty((len(table), count), np.int32)
    for start in range(0, len(table), rows_at_once):
        rows = table[start:start + rows_at_once].copy()
        rows[:, :SPECIAL_PIECES] = -1.0
        best[start:start + rows_at_once] = np.argsort(-rows, axis=1, kind="stable")[:, :count]
    return best


def translation_table(counted, source_vocab_size, target_vocab_size):
    """IBM Model 1's p(target piece | source piece), row `source_vocab_size` for the empty source.

    `counted` holds per pair (source pieces, their counts, target pieces, their counts), each piece
    once: a piece that occurs twice in a sentence gets twice the share of the alignment, as two
    positions of it would.
    """
    table = np.full((source_vocab_size + 1, target_vocab_size), 1.0 / target_vocab_size, np.float32)
    for _ in range(ITERATIONS):
        expected = np.zeros_like(table)
        for source, source_counts, target, target_counts in counted:
            weighted = table[np.ix_(source, target)] * source_counts[:, None]
            expected[np.ix_(source, target)] += weighted / weighted.sum(axis=0) * target_counts
        totals = expected.sum(axis=1, keepdims=True)
        table = np.divide(expected, totals, out=expected, where=totals > 0)  # in place: rows never seen stay 0
        del expected
    return table


def save_shortlist(path: Path, candidates, by_frequency) -> None:
    replace_atomically(path, lambda partial: np.savez(partial, candidates=candidates, by_frequency=by_frequency))


def load_shortlist(path: Path, source_vocab_size, target_vocab_size):
    """-> (candidates, by_frequency) as `build_shortlist` returns them, checked against the vocabularies."""
    try:
        stored = np.load(path, allow_pickle=False)  # a .npy file gives an array, not an archive
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with stored:
            candidates, by_frequency = stored["candidates"], stored["by_frequency"]
    except FileNotFoundError:
        raise Seq2SeqError(f"{path}: no shortlist (runs trained before shortlists existed have none; `seq2seq "
                           f"train {path.parent}/config.yaml --run-dir {path.parent} --resume` writes one for "
                           "vocabularies up to 8,192 pieces a side)") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise Seq2SeqError(f"{path}: not a shortlist written by seq2seq ({error})") from None
    if (candidates.ndim != 2 or candidates.shape[0] != source_vocab_size or by_frequency.shape != (target_vocab_size,)
            or not np.issubdtype(candidates.dtype, np.integer) or not np.issubdtype(by_frequency.dtype, np.integer)
            or candidates.min(initial=0) < 0 or candidates.max(initial=0) >= target_vocab_size
            or by_frequency.min(initial=0) < 0 or by_frequency.max(initial=0) >= target_vocab_size):
        raise Seq2SeqError(f"{path}: does not match this run's {source_vocab_size:,} source and "
                           f"{target_vocab_size:,} target pieces")
    return candidates.astype(np.int32), by_frequency.astype(np.int32)
