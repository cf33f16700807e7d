"""Batched beam search: every input's k beams advance together, one `model.step` per token.

Each step expands the alive hypotheses of every input by every token and keeps the k best of the
(B, k * V) candidates by log-probability. A candidate that ends with EOS leaves the beam for that
input's pool of finished hypotheses, ranked by their `Scoring.final` score; its slot is refilled
from the other hypotheses' expansions at the next step (as in OpenNMT-py), which makes beam size 1
exactly greedy search. An input is done when no alive hypothesis can still beat its n-th best
finished one (`Scoring.best_reachable`), so the result is the one an unbounded loop would return,
only sooner; the loop ends when every input is done.
"""

from typing import NamedTuple

import keras
import tensorflow as tf
from keras import ops

from seq2seq.search.common import NEGATIVE, Hypotheses, Scoring, first_tokens, is_real, log_probabilities
from seq2seq.search.live_rows import shrink, shrinking_batch, whole_batch
from seq2seq.search.placeholder_quota import constrain, spend
from seq2seq.search.shortlist import restricted_step
from seq2seq.tokens import EOS_ID


def beam_search(model, inputs, limits, attention_mask, capacity, beam_size, n_best=1, scoring=Scoring(),
                with_attention=True, vocabulary=None, shrink_batch=True, placeholders=None):
    """-> Hypotheses with N = n_best; slots beyond the hypotheses that exist score NEGATIVE. With
    `vocabulary` (a batch's shortlist), hypotheses grow only by those target pieces; with a
    `PlaceholderQuota` as `placeholders`, they hold their source's placeholder symbols (`placeholder_quota`,
    each hypothesis with its own owed counts); with `shrink_batch`,
    the inputs that are done leave the batch (`live_rows`), their finished hypotheses saved into the whole
    batch's `results` as they leave.
    """
    k = beam_size
    states, memory = model.encode(inputs)
    step_model, to_ids = restricted_step(model, vocabulary)
    batch, memory_length = ops.shape(attention_mask)[0], ops.shape(attention_mask)[1]
    max_steps = ops.max(limits)

    def empty_hypotheses(first_score):
        scores = ops.full((batch, k), NEGATIVE)
        if first_score is not None:
            scores = ops.slice_update(scores, (0, 0), ops.full((batch, 1), first_score))
        return {"scores": scores, "tokens": ops.zeros((batch, k, capacity), dtype="int32")}

    # Each input's pool of finished hypotheses; the whole batch's `results` receive the pools of the inputs
    # searched whenever some of them leave the batch, and at the end.
    results = empty_hypotheses(first_score=None)
    if with_attention:
        # Where each finished hypothesis left the beam (step, slot), to trace its attention back.
        results.update(step=ops.full((batch, k), -1, dtype="int32"), slot=ops.zeros((batch, k), dtype="int32"))
    history = AttentionHistory.empty() if with_attention else ()
    # What the batch holds per input still searched (`rows` says which), and per hypothesis of those.
    per_input = {"rows": tf.range(batch), "done": ops.zeros((batch,), dtype="bool"), "limits": limits,
                 "mask": ops.expand_dims(attention_mask, 1), "finished": results,
                 "alive": {**empty_hypotheses(first_score=0.0), "coverage": ops.zeros((batch, k, memory_length))}}
    if placeholders is not None:
        owed, symbol_columns = placeholders.start(inputs, vocabulary)
        per_input["alive"]["owed"] = ops.repeat(ops.expand_dims(owed, 1), k, axis=1)
    per_hypothesis = keras.tree.map_structure(
        lambda tensor: ops.repeat(tensor, k, axis=0),
        {"previous": first_tokens(model, inputs, batch), "states": states, "memory": memory})

    def save_finished(results, per_input):
        return keras.tree.map_structure(
            lambda whole, part: tf.tensor_scatter_nd_update(whole, ops.expand_dims(per_input["rows"], 1), part),
            results, per_input["finished"])

    def not_done(step, per_input, per_hypothesis, results, history):
        return ops.logical_and(step < max_steps, ops.logical_not(ops.all(per_input["done"])))

    def advance(step, per_input, per_hypothesis, results, history):
        rows, done, limits, alive = per_input["rows"], per_input["done"], per_input["limits"], per_input["alive"]
        searched = ops.shape(rows)[0]
        logits, states, weights = step_model(per_hypothesis["previous"], per_hypothesis["states"],
                                             per_hypothesis["memory"])
        log_probs = ops.reshape(log_probabilities(logits), (searched, k, -1))
        vocabulary_size = ops.shape(log_probs)[-1]
        at_limit = step + 1 >= limits
        only_eos = ops.logical_and(ops.reshape(at_limit, (-1, 1, 1)), ops.arange(vocabulary_size) != EOS_ID)
        log_probs = ops.where(only_eos, NEGATIVE, log_probs)
        if placeholders is not None:
            log_probs = constrain(log_probs, alive["owed"], symbol_columns, ops.expand_dims(at_limit, 1))
        candidates = ops.reshape(ops.expand_dims(alive["scores"], 2) + log_probs, (searched, -1))
        scores, index = ops.top_k(candidates, k)
        parent, token = index // vocabulary_size, ops.cast(index % vocabulary_size, "int32")

        weights = ops.take_along_axis(ops.reshape(ops.cast(weights, "float32"), (searched, k, memory_length)),
                                      ops.expand_dims(parent, 2), axis=1)
        grown = {"scores": scores, "coverage": _select(alive["coverage"], parent) + weights,
                 "tokens": ops.slice_update(_select(alive["tokens"], parent), (0, 0, step),
                                            ops.expand_dims(to_ids(token), 2))}
        if placeholders is not None:
            grown["owed"] = spend(_select(alive["owed"], parent), token, symbol_columns)
        leaving = {"scores": None}
        if with_attention:
            history = history.record(step, rows, parent, weights, batch)
            leaving.update(step=ops.full((searched, k), step, dtype="int32"),
                           slot=ops.repeat(ops.expand_dims(ops.arange(k, dtype="int32"), 0), searched, axis=0))

        ended = ops.logical_and(ops.logical_and(token == EOS_ID, is_real(scores)),
                                ops.expand_dims(ops.logical_not(done), 1))
        final_scores = scoring.final(scores, step + 1, grown["coverage"], per_input["mask"])
        leaving["scores"] = ops.where(ended, final_scores, NEGATIVE)
        finished = _keep_best(per_input["finished"], {**grown, **leaving}, k)
        alive = {**grown, "scores": ops.where(token == EOS_ID, NEGATIVE, scores)}

        best_alive = ops.max(alive["scores"], axis=1)
        cannot_improve = scoring.best_reachable(best_alive, limits) < finished["scores"][:, n_best - 1]
        done = ops.logical_or(done, ops.logical_or(at_limit, ops.logical_or(
            cannot_improve, ops.logical_not(is_real(best_alive)))))

        hypotheses = ops.reshape(ops.expand_dims(ops.arange(searched) * k, 1) + parent, (-1,))
        per_input = {**per_input, "done": done, "alive": alive, "finished": finished}
        per_hypothesis = {**per_hypothesis, "previous": ops.reshape(to_ids(token), (-1,)),
                          "states": keras.tree.map_structure(lambda tensor: ops.take(tensor, hypotheses, axis=0),
                                                             states)}
        if shrink_batch:
            per_input, per_hypothesis, results = shrink(ops.logical_not(done), per_input, per_hypothesis, k,
                                                        results, save=save_finished)
        return step + 1, per_input, per_hypothesis, results, history

    loop_vars = (0, per_input, per_hypothesis, results, history)
    _, per_input, _, results, history = tf.while_loop(
        not_done, advance, loop_vars,
        shape_invariants=shrinking_batch(loop_vars, (False, shrink_batch, shrink_batch, False, False)))
    finished = save_finished(results, per_input)
    attention = None
    if with_attention:
        attention = history.trace(finished["step"][:, :n_best], finished["slot"][:, :n_best], capacity)
    return Hypotheses(finished["tokens"][:, :n_best], finished["scores"][:, :n_best], attention)


class AttentionHistory(NamedTuple):
    """Each step's beam back-pointers and attention weights, written once and never copied.

    Copying every hypothesis's attention rows along with it at each step would cost
    O(beam × length × source length) per step; tracing the back-pointers once at the end does not.
    """

    parents: tf.TensorArray  # per step (B, k): the slot each new hypothesis grew from
    weights: tf.TensorArray  # per step (B, k, S): the attention of the token it added

    @classmethod
    def empty(cls):
        return cls(*(tf.TensorArray(dtype, size=0, dynamic_size=True) for dtype in (tf.int32, tf.float32)))

    def record(self, step, rows, parent, weights, batch):
        """Write the step's `parent` (B', k) and `weights` (B', k, S) of the inputs `rows` (B',) still
        searched into rows of the whole batch's (`batch`); an input no longer searched is never traced there."""
        return AttentionHistory(self.parents.write(step, whole_batch(parent, rows, batch)),
                                self.weights.write(step, whole_batch(weights, rows, batch)))

    def trace(self, last_step, last_slot, capacity):
        """Attention (B, N, capacity, S) of the hypotheses that ended at `last_step` in `last_slot` (B, N)."""
        parents, weights = self.parents.stack(), self.weights.stack()
        steps = ops.shape(parents)[0]
        rows = tf.TensorArray(tf.float32, size=steps)

        def back(step, slot, rows):
            reached = ops.expand_dims(step <= last_step, 2)
            row = ops.where(reached, _select(weights[step], slot), 0.0)
            slot = ops.where(reached[:, :, 0], ops.take_along_axis(parents[step], slot, axis=1), slot)
            return step - 1, slot, rows.write(step, row)

        _, _, rows = tf.while_loop(lambda step, *_: step >= 0, back, (steps - 1, last_slot, rows))
        traced = ops.transpose(rows.stack(), (1, 2, 0, 3))
        return ops.pad(traced, [[0, 0], [0, 0], [0, capacity - steps], [0, 0]])


def _select(tensor, parent):
    """Rows of (B, k, ...) `tensor` picked per input by `parent` (B, k)."""
    index = ops.reshape(parent, (*ops.shape(parent), *[1] * (len(tensor.shape) - 2)))
    return ops.take_along_axis(tensor, index, axis=1)


def _keep_best(finished, new, k):
    """Merge newly finished hypotheses into the pool and keep the k best, best first."""
    merged = {key: ops.concatenate([finished[key], new[key]], axis=1) for key in finished}
    _, order = ops.top_k(merged["scores"], k)
    return {key: _select(value, order) for key, value in merged.items()}
