"""How much of the references a vocabulary shortlist holds, and how large it is per batch.

    python -m benchmarks.shortlist_coverage RUN [--split dev] [--per-piece 10 20 50] [--frequent 100]
        [--rankers model1 counts dice]

For each ranking of a source piece's target pieces and each size, the split's sources are batched as
`Translator` batches them (sorted by length, `decode.batch_size`), and each batch's shortlist is the
union of its source pieces' candidates and the most frequent target pieces. Printed: the mean size of
that union and the share of the references' target pieces it holds (an output can only be as good as
the pieces it may use). `model1` is the run's own `shortlist.npz`; `counts` ranks by how many training
pairs hold both pieces and `dice` by the Dice coefficient of those counts, for comparison.
"""

import argparse
import json
from pathlib import Path

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--per-piece", nargs="+", type=int, default=[10, 20, 50])
    parser.add_argument("--frequent", nargs="+", type=int, default=[100])
    parser.add_argument("--rankers", nargs="+", default=["model1"], choices=["model1", "counts", "dice"])
    args = parser.parse_args()

    from seq2seq.data.corpus import load_split
    from seq2seq.data.lexical_shortlist import best_per_row, load_shortlist
    from seq2seq.data.tokenizer import load_tokenizers
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(args.run_dir)
    config = run.load_config()
    source_tokenizer, target_tokenizer = load_tokenizers(run.path)
    sizes = source_tokenizer.vocab_size, target_tokenizer.vocab_size
    model1, by_frequency = load_shortlist(run.shortlist_file, *sizes)
    split = load_split(config.data, args.split)
    pairs = sorted(zip(source_tokenizer.encode(split.sources), target_tokenizer.encode(split.targets)),
                   key=lambda pair: len(pair[0]))
    batches = [pairs[start:start + config.decode.batch_size] for start in range(0, len(pairs), config.decode.batch_size)]
    rankings = {"model1": model1}
    if {"counts", "dice"} & set(args.rankers):
        train = load_split(config.data, "train")
        counts = co_occurrence(source_tokenizer.encode(train.sources), target_tokenizer.encode(train.targets), *sizes)
        rankings |= {name: best_per_row(table, model1.shape[1]) for name, table in counts.items()}
    for ranker in args.rankers:
        for per_piece in args.per_piece:
            for frequent in args.frequent:
                print(json.dumps({"ranker": ranker, "per_piece": per_piece, "frequent": frequent,
                                  **coverage(batches, rankings[ranker][:, :per_piece], by_frequency[:frequent])}))


def coverage(batches, candidates, frequent):
    held, total, union_sizes = 0, 0, []
    for batch in batches:
        union = np.union1d(frequent, candidates[[piece for source, _ in batch for piece in source]].ravel())
        union_sizes.append(len(union) + 4)  # PAD, UNK, BOS and EOS are in every shortlist
        targets = np.array([piece for _, target in batch for piece in target])
        held += int(np.isin(targets, union).sum())
        total += len(targets)
    return {"mean_pieces_per_batch": round(float(np.mean(union_sizes))), "reference_pieces_held": round(held / total, 4)}


def co_occurrence(sources, targets, source_vocab_size, target_vocab_size):
    """{"counts": pairs holding both pieces, "dice": 2 * both / (pairs with the source + pairs with the target)}."""
    both = np.zeros((source_vocab_size, target_vocab_size), np.float32)
    with_source, with_target = np.zeros(source_vocab_size), np.zeros(target_vocab_size)
    for source, target in zip(sources, targets):
        source, target = np.unique(source), np.unique(target)
        both[np.ix_(source, target)] += 1
        with_source[source] += 1
        with_target[target] += 1
    return {"counts": both, "dice": 2 * both / np.maximum(with_source[:, None] + with_target[None, :], 1)}


if __name__ == "__main__":
    main()
