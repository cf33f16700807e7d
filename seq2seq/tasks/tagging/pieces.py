"""From words to the subword pieces a tagger reads, and back: each word is labelled at its FIRST piece.

A tagger labels words, but its model reads SentencePiece pieces, so that any word, even one never seen
in training, has an input. Each word is tokenized on its own, so no piece spans two words; the word's
label goes on its first piece, and its other pieces get label id 0 (`seq2seq.data.labels.NO_LABEL`),
which the loss skips exactly as it skips padding. A word's predicted label is the one predicted at its
first piece, so every word gets exactly one label however many pieces it has.

Why the first piece: a bidirectional encoder's state there has read the whole sentence, the rest of
the word included (the backward direction arrives from the word's end), so nothing is lost by
deciding there; and training gives one decision per word, as scoring counts them. A unidirectional
encoder decides on the word's first piece and what came before it: choose `bidirectional: true`.
(A whole-word vocabulary would need an unknown-word id for every word outside it.)
"""

from dataclasses import dataclass
from itertools import accumulate

from seq2seq.data.pipeline import EncodedPairs
from seq2seq.tokens import PAD_ID, UNK_ID

UNLABELLED = PAD_ID  # the label id of padding and of a word's later pieces: the loss skips both


@dataclass
class PiecedSentences:
    """ids[i] are sentence i's piece ids; word_starts[i][j] is the position of word j's first piece in them."""

    ids: list
    word_starts: list


def to_pieces(tokenizer, sentences) -> PiecedSentences:
    """Sentences given as lists of words -> their pieces, each word tokenized on its own.

    A word that tokenizes to nothing (SentencePiece's normalisation removed all of it) is one unknown
    piece, so that it still has a first piece to be labelled at.
    """
    words = [word for sentence in sentences for word in sentence]
    word_ids = iter([ids or [UNK_ID] for ids in tokenizer.encode(words)])
    pieced = PiecedSentences([], [])
    for sentence in sentences:
        pieces = [next(word_ids) for _ in sentence]
        pieced.ids.append([piece for word in pieces for piece in word])
        pieced.word_starts.append(list(accumulate((len(word) for word in pieces), initial=0))[:-1])
    return pieced


def tagged_pieces(pieced: PiecedSentences, label_ids, max_pieces=None) -> EncodedPairs:
    """(piece ids, label id at each word's first piece and `UNLABELLED` elsewhere) per sentence.

    `label_ids[i]` holds one label id per word of sentence i. Sentences of more than `max_pieces`
    pieces are left out and counted in `dropped_too_long`.
    """
    sources, targets = [], []
    for ids, starts, labels in zip(pieced.ids, pieced.word_starts, label_ids):
        if max_pieces and len(ids) > max_pieces:
            continue
        per_piece = [UNLABELLED] * len(ids)
        for start, label in zip(starts, labels):
            per_piece[start] = label
        sources.append(ids)
        targets.append(per_piece)
    return EncodedPairs(sources, targets, len(pieced.ids) - len(sources))
