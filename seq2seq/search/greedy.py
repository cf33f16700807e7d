"""Token-by-token search: greedy (the most likely token) and sampling (a random one).

Both run the model's `step` inside one `ops.while_loop` and differ only in how they choose the
next token.
"""

import tensorflow as tf
from keras import ops

from seq2seq.search.common import NEGATIVE, Hypotheses, log_probabilities
from seq2seq.tokenizer import BOS_ID, EOS_ID, PAD_ID


def greedy_search(model, inputs, limits, attention_mask, capacity, with_attention=True):
    """One hypothesis per input, scored by its log-probability."""
    def most_likely(log_probs, step):
        return ops.cast(ops.argmax(log_probs, axis=-1), "int32")

    return _token_by_token(model, inputs, limits, attention_mask, capacity, most_likely, with_attention)


def sample_search(model, inputs, limits, attention_mask, capacity, samples, temperature=1.0, top_k=0, seed=0,
                  with_attention=True):
    """`samples` random outputs per input, best log-probability first.

    Each token is drawn from the softmax at `temperature` over the `top_k` most likely tokens (0: all).
    The draws are stateless: the same seed and batch give the same samples.
    """
    def draw(log_probs, step):
        logits = log_probs / temperature
        if 0 < top_k < logits.shape[-1]:
            kth_best = ops.top_k(logits, top_k)[0][:, -1:]
            logits = ops.where(logits < kth_best, NEGATIVE, logits)
        return tf.cast(tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]))[:, 0], tf.int32)

    def repeat(tensor):
        return ops.repeat(tensor, samples, axis=0)

    drawn = _token_by_token(model, repeat(inputs), repeat(limits), repeat(attention_mask), capacity, draw,
                            with_attention)
    return _best_first(drawn, samples)


def _token_by_token(model, inputs, limits, attention_mask, capacity, choose, with_attention):
    """Run `choose(log_probs, step) -> tokens` until every output has ended; -> Hypotheses with N = 1."""
    states, memory = model.encode(inputs)
    batch, memory_length = ops.shape(attention_mask)[0], ops.shape(attention_mask)[1]
    max_steps = ops.max(limits)
    found = {"tokens": ops.zeros((batch, capacity), dtype="int32"), "scores": ops.zeros((batch,))}
    if with_attention:
        found["attention"] = ops.zeros((batch, capacity, memory_length))
    previous = ops.full((batch,), BOS_ID, dtype="int32")
    finished = ops.zeros((batch,), dtype="bool")

    def not_done(step, previous, finished, states, found):
        return ops.logical_and(step < max_steps, ops.logical_not(ops.all(finished)))

    def advance(step, previous, finished, states, found):
        logits, states, weights = model.step(previous, states, memory)
        log_probs = log_probabilities(logits)
        chosen = ops.where(step + 1 >= limits, EOS_ID, choose(log_probs, step))
        chosen = ops.where(finished, PAD_ID, chosen)
        chosen_log_prob = ops.take_along_axis(log_probs, ops.expand_dims(chosen, 1), axis=1)[:, 0]
        found = {**found, "scores": found["scores"] + ops.where(finished, 0.0, chosen_log_prob),
                 "tokens": ops.slice_update(found["tokens"], (0, step), ops.expand_dims(chosen, 1))}
        if with_attention:
            weights = ops.where(ops.expand_dims(finished, 1), 0.0, ops.cast(weights, "float32"))
            found["attention"] = ops.slice_update(found["attention"], (0, step, 0), ops.expand_dims(weights, 1))
        finished = ops.logical_or(finished, chosen == EOS_ID)
        return step + 1, chosen, finished, states, found

    *_, found = ops.while_loop(not_done, advance, (0, previous, finished, states, found))
    return Hypotheses(ops.expand_dims(found["tokens"], 1), ops.expand_dims(found["scores"], 1),
                      ops.expand_dims(found["attention"], 1) if with_attention else None)


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
