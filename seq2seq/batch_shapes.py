"""Batches padded to a few shapes, so a long-running process sees few distinct input shapes.

TensorFlow keeps state for every input shape a function runs on, even one traced once for any shape:
decoding random batches of 1-32 test sentences, a process's resident memory grew by about 100 MB over
13,000 sentences and was still growing, while a repeated shape stayed flat (BENCHMARKS.md, the service
under load). Rows rounded up to 1, 2, 4, 8 and then a multiple of 8, and lengths to a multiple of 8,
leave a few dozen shapes, which a service meets in its first minutes. The extra rows copy the first
one, so a search over them ends when that row's does and never takes more steps; the models are
padding-invariant (tested), so the extra columns change no result.
"""

import numpy as np

MULTIPLE = 8


def bucketed(count: int) -> int:
    """1, 2, 4, 8, then the next multiple of 8."""
    if count <= MULTIPLE:
        return 1 << max(0, count - 1).bit_length()
    return -(-count // MULTIPLE) * MULTIPLE


def padded_ids(id_lists) -> np.ndarray:
    """Id lists -> int32 (bucketed rows, a multiple of 8 columns), zero-padded, extra rows the first's copies."""
    id_lists = list(id_lists)
    id_lists += [id_lists[0]] * (bucketed(len(id_lists)) - len(id_lists))
    rows = np.zeros((len(id_lists), -(-max(map(len, id_lists)) // MULTIPLE) * MULTIPLE), np.int32)
    for row, ids in enumerate(id_lists):
        rows[row, :len(ids)] = ids
    return rows


def padded_rows(array: np.ndarray) -> np.ndarray:
    """(N, ...) inputs of one shape (images, features) -> (bucketed N, ...), extra rows the first's copies."""
    extra = bucketed(len(array)) - len(array)
    return np.concatenate([array, np.repeat(array[:1], extra, axis=0)]) if extra else array
