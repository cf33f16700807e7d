"""The machine's matrix-multiply ceiling: the fastest GFLOP/s TensorFlow reaches on square products.

    python -m benchmarks.matmul_ceiling

Training throughput means little without it: the same model runs at very different speeds on
different CPUs, but the fraction of this ceiling a training step reaches carries over. Each size is
timed as single, synchronised products (median of several), so nothing can be folded or overlapped.
"""

import json
import statistics
import time

SIZES = (1024, 2048, 4096)


def gflops(size, dtype, repeats=5):
    import tensorflow as tf

    left = tf.cast(tf.random.normal((size, size), seed=1), dtype)
    right = tf.cast(tf.random.normal((size, size), seed=2), dtype)
    product = tf.function(tf.matmul)
    product(left, right).numpy()  # warm-up: traces, and lets oneDNN pick its kernel
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        product(left, right).numpy()
        seconds.append(time.perf_counter() - started)
    return 2 * size ** 3 / statistics.median(seconds) / 1e9


def ceiling(dtype="float32", sizes=SIZES):
    """-> {"gflops": best over sizes, "by_size": {size: GFLOP/s}}."""
    by_size = {size: round(gflops(size, dtype), 1) for size in sizes}
    return {"gflops": max(by_size.values()), "by_size": by_size}


def main():
    print(json.dumps({dtype: ceiling(dtype) for dtype in ("float32", "bfloat16")}), flush=True)


if __name__ == "__main__":
    main()
