"""Training throughput of one model setting: real target tokens/s after warm-up, and peak memory.

    python -m benchmarks.training_speed --tokenizers RUN_DIR --cell lstm --precision mixed_bfloat16 --xla

The batches are real bible verse pairs, encoded with a run's tokenizers, from one length window
around the corpus median and padded to the window's top (64 pairs of at most 40 pieces by default).
One window means one compiled shape, so warming up is one XLA compile rather than one per length
bucket; the epoch-time benchmark in `benchmarks.run` covers the full bucketed pipeline. Steps run
through Keras' own compiled train function, exactly as `model.fit` runs them. Tokens/s counts real
target pieces (EOS included, padding not); the FLOPs are those of the real tokens, so padding counts
as waste. Run each setting in its own process: peak RSS is per process, and XLA caches are too.
"""

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.flops import TRAINING_PASSES, forward_flops

REFERENCE_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "spa_eng.yaml"
SIZES = {
    "reference": [],
    # Twice as wide everywhere: about 3.5x the FLOPs per token.
    "large": ["model.embedding_dim=512", "model.encoder_units=512", "model.decoder_units=1024",
              "model.attention_units=1024"],
}


def window_batches(pairs, batch_size, lowest, highest, count, seed=0):
    """`count` batches of pairs whose longer side (BOS/EOS included) is in [lowest, highest],
    padded to `highest`: ((source, target_in), target_out) numpy arrays, plus real-token counts."""
    from seq2seq.tokens import BOS_ID, EOS_ID

    lengths = np.maximum([len(s) for s in pairs.sources], [len(t) + 1 for t in pairs.targets])
    chosen = np.flatnonzero((lengths >= lowest) & (lengths <= highest))
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        rows = rng.choice(chosen, size=batch_size, replace=False)
        source = np.zeros((batch_size, highest), np.int32)
        target_in = np.zeros((batch_size, highest), np.int32)
        target_out = np.zeros((batch_size, highest), np.int32)
        for row, index in enumerate(rows):
            src, tgt = pairs.sources[index], pairs.targets[index]
            source[row, :len(src)] = src
            target_in[row, :len(tgt) + 1] = [BOS_ID, *tgt]
            target_out[row, :len(tgt) + 1] = [*tgt, EOS_ID]
        source_tokens = int((source != 0).sum())
        target_tokens = int((target_out != 0).sum())
        pairs_attended = int(((source != 0).sum(1) * (target_out != 0).sum(1)).sum())
        batches.append(((source, target_in), target_out, (source_tokens, target_tokens, pairs_attended)))
    return batches


def measure(config, tokenizer_dir, steps, repeats, window):
    """-> dict of tokens/s (median over `repeats` timed runs of `steps` steps), FLOP rate, peak RSS."""
    import keras

    from seq2seq.data.corpus import load_split
    from seq2seq.data.pipeline import encode_pairs
    from seq2seq.tasks.translation.model import TranslationModel
    from seq2seq.data.tokenizer import load_tokenizers
    from seq2seq.training.loop import compile_for_training
    from seq2seq.training.losses import token_loss_and_metrics

    keras.utils.set_random_seed(config.seed)
    source_tokenizer, target_tokenizer = load_tokenizers(tokenizer_dir)
    train = load_split(config.data, "train")
    pairs = encode_pairs(train.sources[:8000], train.targets[:8000], source_tokenizer, target_tokenizer)
    batches = window_batches(pairs, config.train.batch_size, *window, count=8)
    model = TranslationModel.from_settings(config.model, source_tokenizer.vocab_size, target_tokenizer.vocab_size,
                                           config.train.precision)
    compile_for_training(model, config.train, 1000, *token_loss_and_metrics(config.train))

    started = time.perf_counter()
    for inputs, targets, _ in batches[:2]:  # traces and compiles the one shape
        model.train_on_batch(inputs, targets)
    warmup_seconds = time.perf_counter() - started
    rates, flop_rates = [], []
    flops = forward_flops(config.model, target_tokenizer.vocab_size)
    for _ in range(repeats):
        tokens = work = 0
        started = time.perf_counter()
        for step in range(steps):
            inputs, targets, counts = batches[step % len(batches)]
            logs = model.train_on_batch(inputs, targets, return_dict=True)
            tokens += counts[1]
            work += TRAINING_PASSES * flops.of_batch(*counts)
        seconds = time.perf_counter() - started
        rates.append(tokens / seconds)
        flop_rates.append(work / seconds / 1e9)
    if not np.isfinite(logs["loss"]):
        raise RuntimeError(f"training diverged while benchmarking: loss {logs['loss']}")
    return {
        "target_tokens_per_second": round(statistics.median(rates), 1),
        "all_target_tokens_per_second": [round(rate, 1) for rate in rates],
        "gflops": round(statistics.median(flop_rates), 1),
        "training_mflop_per_target_token": round(work / tokens / 1e6, 2),
        "warmup_seconds": round(warmup_seconds, 1),
        "seconds_per_step": round(seconds / steps, 4),
        "parameters": model.count_params(),
        "batch_shape": list(batches[0][0][0].shape),
        "real_target_tokens_per_batch": round(statistics.mean(b[2][1] for b in batches), 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "final_loss": round(float(logs["loss"]), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizers", type=Path, required=True, help="run directory holding source/target.model")
    parser.add_argument("--size", choices=sorted(SIZES), default="reference")
    parser.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    parser.add_argument("--xla", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--window", type=int, nargs=2, default=[31, 40], metavar=("SHORTEST", "LONGEST"))
    parser.add_argument("--set", nargs="*", default=[], help="further config overrides, key=value")
    args = parser.parse_args()

    from seq2seq.config import load_config

    overrides = [*SIZES[args.size], f"model.cell={args.cell}", f"train.precision={args.precision}",
                 f"train.jit_compile={str(args.xla).lower()}", *args.set]
    config = load_config(REFERENCE_CONFIG, overrides)
    result = {"size": args.size, "cell": args.cell, "precision": args.precision, "xla": args.xla,
              "window": args.window, "overrides": args.set,
              **measure(config, args.tokenizers, args.steps, args.repeats, args.window)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
