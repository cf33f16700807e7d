"""Finished outputs leave the search's batch, so later steps run the model only on rows still growing.

A batch's outputs end at different steps, and without this every step runs the decoder on every row
until the longest output ends. Leaving is not free: every tensor that follows the rows (the decoder's
states, the encoder's memory, the beams) is gathered anew. So rows leave in groups, once at most
`SHRINK_AT` of the batch's current rows still grow: a batch of B rows is gathered at most
log(B) / log(1 / SHRINK_AT) times, and the model's step never runs on more than 1 / SHRINK_AT times the
rows still growing. What a step finds is still written into whole-batch tensors (greedy search's tokens,
scores and attention, beam search's attention history), a copy per step that is small next to the step.

Rows compute independently, so the outputs are those of the search that keeps every row: the same
tokens, the scores equal up to float rounding (a product over fewer rows may sum in another order).
The loops that shrink are `tf.while_loop`s told that the batch dimension of what they carry may change
(`shrinking_batch`); Keras' `ops.while_loop` has no such argument.
"""

import tensorflow as tf

SHRINK_AT = 0.75


def shrink(growing, per_input, per_hypothesis=(), beam_size=1, results=(), save=None):
    """-> (per_input, per_hypothesis, results) keeping only the inputs where `growing` (B',) holds, once at
    most `SHRINK_AT` of them do (and at least one); unchanged otherwise.

    Tensors in `per_input` have one row per input (B', ...), those in `per_hypothesis` `beam_size`
    consecutive rows per input (B' * beam_size, ...). Before rows leave, `save(results, per_input)` ->
    results copies what the current rows found into the whole batch's `results`, so that is done only
    then (and once after the loop), not at every step.
    """
    current = tf.shape(growing)[0]
    count = tf.reduce_sum(tf.cast(growing, tf.int32))
    worth_it = tf.logical_and(count > 0, tf.cast(count, tf.float32) <= SHRINK_AT * tf.cast(current, tf.float32))

    def gather():
        kept = tf.cast(tf.where(growing)[:, 0], tf.int32)
        kept_hypotheses = tf.reshape(tf.expand_dims(kept * beam_size, 1) + tf.range(beam_size), [-1])
        return (tf.nest.map_structure(lambda tensor: tf.gather(tensor, kept), per_input),
                tf.nest.map_structure(lambda tensor: tf.gather(tensor, kept_hypotheses), per_hypothesis),
                results if save is None else save(results, per_input))

    return tf.cond(worth_it, gather, lambda: (per_input, per_hypothesis, results))


def shrinking_batch(loop_vars, shrinking):
    """`tf.while_loop` shape invariants for `loop_vars`: the first dimension of every tensor in the parts
    whose `shrinking` entry is true may change between steps; everything else keeps its shape."""
    def invariant(part, shrinks):
        def loose(value):  # a tensor, or an array the loop turns into one
            if not shrinks or isinstance(value, tf.TensorArray):
                return None
            return tf.TensorShape([None]).concatenate(tf.TensorShape(value.shape)[1:])
        return tf.nest.map_structure(loose, part)

    return tuple(invariant(part, shrinks) for part, shrinks in zip(loop_vars, shrinking))


def whole_batch(part, rows, batch):
    """`part` (B', ...), the inputs `rows` (B',) of a batch of `batch`, in that batch's rows; zeros in the others.

    A gather rather than `tf.scatter_nd`, which refuses an empty result (attention over zero memory
    positions, as a language model's).
    """
    searched = tf.shape(rows)[0]
    place = tf.tensor_scatter_nd_update(tf.fill([batch], searched), tf.expand_dims(rows, 1), tf.range(searched))
    return tf.gather(tf.concat([part, tf.zeros_like(part[:1])], 0), place)
