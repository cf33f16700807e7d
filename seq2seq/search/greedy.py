"""Token-by-token search: greedy (the most likely token) and sampling (a random one).

Both run the model's `step` inside one `ops.while_loop` and differ only in how they choose the
next token.
"""

import tensorflow as tf
from keras import ops

from seq2seq.search.common import NEGATIVE, Hypotheses, Scoring, first_tokens, log_probabilities
from seq2seq.search.live_rows import shrink, shrinking_batch, whole_batch
from seq2seq.search.placeholder_quota import constrain, spend
from seq2seq.search.shortlist import restricted_step
from seq2seq.tokens import EOS_ID, PAD_ID


def greedy_search(model, inputs, limits, attention_mask, capacity, scoring=Scoring(), with_attention=True,
                  vocabulary=None, shrink_batch=True, placeholders=None):
    """One hypothesis per input: the most likely token at each step. `scoring` only scores it.

    Every search chooses among the target pieces `vocabulary` (a batch's shortlist) where it is given;
    with a `PlaceholderQuota` as `placeholders`, each output holds its source's placeholder symbols
    (`placeholder_quota`); with `shrink_batch`, finished outputs leave the batch (`live_rows`).
    """
    def most_likely(log_probs, step):
        return ops.cast(ops.argmax(log_probs, axis=-1), "int32")

    return _token_by_token(model, inputs, limits, attention_mask, capacity, most_likely, scoring, with_attention,
                           vocabulary, shrink_batch, placeholders)


def sample_search(model, inputs, limits, attention_mask, capacity, samples, temperature=1.0, top_k=0, seed=0,
                  scoring=Scoring(), with_attention=True, vocabulary=None, placeholders=None):
    """`samples` random outputs per input, best `scoring` score first.

    Each token is drawn from the softmax at `temperature` over the `top_k` most likely tokens (0: all).
    The draws are stateless: the same seed and batch give the same samples. One seed serves a whole
    batch, so a sentence's samples also depend on which sentences share its batch, and on their
    places in it: that is why finished samples never leave the batch here, as they may in greedy search.
    """
    def draw(log_probs, step):
        logits = log_probs / temperature
        if top_k > 0:  # a shortlist's vocabulary can be smaller than top_k, and its size is known only per batch
            k = tf.minimum(min(top_k, 2**31 - 1), tf.shape(logits)[-1])  # top_k may exceed int32
            kth_best = tf.math.top_k(logits, k).values[:, -1:]
            logits = ops.where(logits < kth_best, NEGATIVE, logits)
        return tf.cast(tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]))[:, 0], tf.int32)

    def repeat(tensor):
        return ops.repeat(tensor, samples, axis=0)

    drawn = _token_by_token(model, repeat(inputs), repeat(limits), repeat(attention_mask), capacity, draw,
                            scoring, with_attention, vocabulary, shrink_batch=False, placeholders=placeholders)
    return _best_first(drawn, samples)


def _token_by_token(model, inputs, limits, attention_mask, capacity, choose, scoring, with_attention, vocabulary,
                    shrink_batch, placeholders):
    """Run `choose(log_probs, step) -> tokens` until every output has ended; -> Hypotheses with N = 1.

    With `shrink_batch`, finished outputs leave the batch (`live_rows`); `rows` are then the inputs the
    batch still holds, and what the step finds is written to their rows of `found`.
    """
    states, memory = model.encode(inputs)
    step_model, to_ids = restricted_step(model, vocabulary)
    batch, memory_length = ops.shape(attention_mask)[0], ops.shape(attention_mask)[1]
    max_steps = ops.max(limits)
    found = {"tokens": ops.zeros((batch, capacity), dtype="int32"), "scores": ops.zeros((batch,)),
             "coverage": ops.zeros((batch, memory_length))}
    if with_attention:  # one (B, S) row per step, written once rather than copied into a buffer each step
        found["attention"] = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    live = {"rows": tf.range(batch), "previous": first_tokens(model, inputs, batch),
            "finished": ops.zeros((batch,), dtype="bool"), "limits": limits, "states": states, "memory": memory}
    if placeholders is not None:
        live["owed"], symbol_columns = placeholders.start(inputs, vocabulary)

    def not_done(step, live, found):
        return ops.logical_and(step < max_steps, ops.logical_not(ops.all(live["finished"])))

    def advance(step, live, found):
        finished, rows = live["finished"], ops.expand_dims(live["rows"], 1)
        logits, states, weights = step_model(live["previous"], live["states"], live["memory"])
        log_probs = log_probabilities(logits)
        at_limit = step + 1 >= live["limits"]
        if placeholders is not None:
            log_probs = constrain(log_probs, live["owed"], symbol_columns, at_limit)
        chosen = ops.where(at_limit, EOS_ID, choose(log_probs, step))
        chosen = ops.where(finished, PAD_ID, chosen)
        chosen_log_prob = ops.take_along_axis(log_probs, ops.expand_dims(chosen, 1), axis=1)[:, 0]
        weights = whole_batch(ops.where(ops.expand_dims(finished, 1), 0.0, ops.cast(weights, "float32")),
                              live["rows"], batch)
        at_step = ops.concatenate([rows, ops.full_like(rows, step)], axis=1)
        found = {**found, "scores": tf.tensor_scatter_nd_add(found["scores"], rows,
                                                             ops.where(finished, 0.0, chosen_log_prob)),
                 "tokens": tf.tensor_scatter_nd_update(found["tokens"], at_step, to_ids(chosen)),
                 "coverage": found["coverage"] + weights}
        if with_attention:
            found["attention"] = found["attention"].write(step, weights)
        live = {**live, "previous": to_ids(chosen), "finished": ops.logical_or(finished, chosen == EOS_ID),
                "states": states}
        if placeholders is not None:
            live["owed"] = spend(live["owed"], chosen, symbol_columns)
        if shrink_batch:
            live, _, _ = shrink(ops.logical_not(live["finished"]), live)
        return step + 1, live, found

    loop_vars = (0, live, found)
    steps, _, found = tf.while_loop(not_done, advance, loop_vars,
                                    shape_invariants=shrinking_batch(loop_vars, (False, shrink_batch, False)))
    attention = None
    if with_attention:
        attention = ops.pad(ops.transpose(found["attention"].stack(), (1, 0, 2)), [[0, 0], [0, capacity - steps], [0, 0]])
        attention = ops.expand_dims(attention, 1)
    lengths = ops.sum(ops.cast(found["tokens"] != PAD_ID, "int32"), axis=1)  # up to and with EOS
    scores = scoring.final(found["scores"], lengths, found["coverage"], attention_mask)
    return Hypotheses(ops.expand_dims(found["tokens"], 1), ops.expand_dims(scores, 1), attention)


def _best_first(drawn, samples):
    """(B * samples, 1, ...) draws -> (B, samples, ...), sorted by score within each input."""
    scores = ops.reshape(drawn.scores, (-1, samples))
    order = ops.argsort(-scores, axis=1)

    def regroup(tensor):
        grouped = ops.reshape(tensor, (-1, samples, *ops.shape(tensor)[2:]))
        index = ops.reshape(order, (*ops.shape(order), *[1] * (len(ops.shape(grouped)) - 2)))
        return ops.take_along_axis(grouped, index, axis=1)

    attention = None if drawn.attention is None else regroup(drawn.attention)
    return Hypotheses(regroup(drawn.tokens), regroup(drawn.scores), attention)
