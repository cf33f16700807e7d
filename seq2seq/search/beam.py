"""Batched beam search: every input's k beams advance together, one `model.step` per token.

Each step expands the k alive hypotheses of every input by every token and keeps the k best
(B, k * V) candidates by log-probability. A candidate that ends with EOS leaves the beam for
that input's pool of finished hypotheses, ranked by the GNMT score
    log P(y | x) / length_penalty(|y|) + coverage_penalty(x, y),
where |y| counts the EOS. An input is done when no alive hypothesis can still beat its n-th best
finished one: with both penalties at least zero, an alive hypothesis can at best keep its
log-probability and reach the input's length limit, with full coverage. So the result is the one
an unbounded loop would return, only sooner; the loop ends when every input is done.
"""

import keras
from keras import ops

from seq2seq.search.common import (NEGATIVE, Hypotheses, coverage_penalty, is_real, length_penalty,
                                   log_probabilities)
from seq2seq.tokenizer import BOS_ID, EOS_ID


def beam_search(model, inputs, limits, attention_mask, capacity, beam_size, n_best=1, length_penalty_alpha=0.0,
                coverage_penalty_beta=0.0, with_attention=True):
    """-> Hypotheses with N = n_best; slots beyond the hypotheses that exist score NEGATIVE."""
    k = beam_size
    states, memory = model.encode(inputs)
    batch, memory_length = ops.shape(attention_mask)[0], ops.shape(attention_mask)[1]
    max_steps = ops.max(limits)
    states, memory = keras.tree.map_structure(lambda tensor: ops.repeat(tensor, k, axis=0), (states, memory))
    mask = ops.expand_dims(attention_mask, 1)
    best_possible_penalty = length_penalty(limits, length_penalty_alpha)

    def empty_hypotheses(first_score):
        scores = ops.full((batch, k), NEGATIVE)
        if first_score is not None:
            scores = ops.slice_update(scores, (0, 0), ops.full((batch, 1), first_score))
        pool = {"scores": scores, "tokens": ops.zeros((batch, k, capacity), dtype="int32")}
        if with_attention:
            pool["attention"] = ops.zeros((batch, k, capacity, memory_length))
        return pool

    alive = {**empty_hypotheses(first_score=0.0), "coverage": ops.zeros((batch, k, memory_length))}
    finished = empty_hypotheses(first_score=None)
    previous = ops.full((batch * k,), BOS_ID, dtype="int32")
    done = ops.zeros((batch,), dtype="bool")

    def not_done(step, previous, done, states, alive, finished):
        return ops.logical_and(step < max_steps, ops.logical_not(ops.all(done)))

    def advance(step, previous, done, states, alive, finished):
        logits, states, weights = model.step(previous, states, memory)
        log_probs = ops.reshape(log_probabilities(logits), (batch, k, -1))
        vocabulary_size = ops.shape(log_probs)[-1]
        at_limit = step + 1 >= limits
        only_eos = ops.logical_and(ops.reshape(at_limit, (-1, 1, 1)), ops.arange(vocabulary_size) != EOS_ID)
        log_probs = ops.where(only_eos, NEGATIVE, log_probs)
        candidates = ops.reshape(ops.expand_dims(alive["scores"], 2) + log_probs, (batch, -1))
        scores, index = ops.top_k(candidates, k)
        parent, token = index // vocabulary_size, ops.cast(index % vocabulary_size, "int32")

        weights = ops.take_along_axis(ops.reshape(ops.cast(weights, "float32"), (batch, k, -1)),
                                      ops.expand_dims(parent, 2), axis=1)
        grown = {"scores": scores, "coverage": _select(alive["coverage"], parent) + weights,
                 "tokens": ops.slice_update(_select(alive["tokens"], parent), (0, 0, step),
                                            ops.expand_dims(token, 2))}
        if with_attention:
            grown["attention"] = ops.slice_update(_select(alive["attention"], parent), (0, 0, step, 0),
                                                  ops.expand_dims(weights, 2))

        ended = ops.logical_and(ops.logical_and(token == EOS_ID, is_real(scores)),
                                ops.expand_dims(ops.logical_not(done), 1))
        final_scores = (scores / length_penalty(step + 1, length_penalty_alpha)
                        + coverage_penalty(grown["coverage"], mask, coverage_penalty_beta))
        finished = _keep_best(finished, {**grown, "scores": ops.where(ended, final_scores, NEGATIVE)}, k)
        alive = {**grown, "scores": ops.where(token == EOS_ID, NEGATIVE, scores)}

        best_alive = ops.max(alive["scores"], axis=1)
        cannot_improve = best_alive / best_possible_penalty < finished["scores"][:, n_best - 1]
        done = ops.logical_or(done, ops.logical_or(at_limit, ops.logical_or(
            cannot_improve, ops.logical_not(is_real(best_alive)))))

        rows = ops.reshape(ops.expand_dims(ops.arange(batch) * k, 1) + parent, (-1,))
        states = keras.tree.map_structure(lambda tensor: ops.take(tensor, rows, axis=0), states)
        return step + 1, ops.reshape(token, (-1,)), done, states, alive, finished

    *_, finished = ops.while_loop(not_done, advance, (0, previous, done, states, alive, finished))
    return Hypotheses(finished["tokens"][:, :n_best], finished["scores"][:, :n_best],
                      finished["attention"][:, :n_best] if with_attention else None)


def _select(tensor, parent):
    """Rows of (B, k, ...) `tensor` picked per input by `parent` (B, k)."""
    index = ops.reshape(parent, (*ops.shape(parent), *[1] * (len(tensor.shape) - 2)))
    return ops.take_along_axis(tensor, index, axis=1)


def _keep_best(finished, new, k):
    """Merge newly finished hypotheses into the pool and keep the k best, best first."""
    merged = {key: ops.concatenate([finished[key], new[key]], axis=1) for key in finished}
    _, order = ops.top_k(merged["scores"], k)
    return {key: _select(value, order) for key, value in merged.items()}
