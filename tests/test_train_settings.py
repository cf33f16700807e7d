"""What `train:` settings do to a run, on tiny runs of the reversal task: early stopping on either kind of
dev metric, the time budget and the resume after it, and whole-step XLA."""

import numpy as np
import pytest

from conftest import padded_source, reversal_config_text, tiny_model
from seq2seq.config import TrainConfig, load_config
from seq2seq.models.loading import load_model_file
from seq2seq.training.callbacks import DevScore
from seq2seq.training.loop import compile_for_training, train
from seq2seq.training.losses import token_loss_and_metrics
from seq2seq.training.run_dir import RunDirectory
from seq2seq.tokens import BOS_ID, PAD_ID
from test_training import read_metrics


def tiny_run_config(tmp_path, data, epochs, settings=()):
    """The reversal run on `tiny_reversal_data`, in one length bucket: one shape of batch to trace."""
    path = tmp_path / "tiny.yaml"
    path.write_text(reversal_config_text(data, epochs=epochs))
    return load_config(path, ["train.buckets=1", *settings])


# The dev metric of epochs 1..8: new bests at epochs 1, 2 and 4 (3 is worse, which patience forgives), then two
# epochs without one. In the direction each metric improves: up for BLEU, down for a loss.
RISING = [10.0, 20.0, 15.0, 25.0, 24.0, 23.0, 30.0, 40.0]
SCRIPTS = {"dev_bleu": ("dev_bleu", RISING), "dev_loss": ("val_xent", [1 / value for value in RISING])}


@pytest.mark.parametrize("metric", [pytest.param("dev_bleu"),  # the same mechanism: one in the default suite
                                    pytest.param("dev_loss", marks=pytest.mark.slow)])
def test_early_stopping_fires_after_patience_epochs_without_a_new_best(tmp_path, tiny_reversal_data, monkeypatch, metric):
    """The dev scorer is replaced by a script of values (in the log key each metric is read from: BLEU from
    the dev decode, dev_loss from Keras' per-token validation cross-entropy), so that the run must stop
    after epoch 6 with the best at epoch 4 and 2 epochs waited. Stopping at 3 means the metric was read in
    the wrong direction; at 5, the wait was not reset by the new best of epoch 4; at 8, it never fired."""
    log_key, values = SCRIPTS[metric]

    def scripted_score(self, epoch, logs=None):
        logs[log_key] = values[epoch]

    monkeypatch.setattr(DevScore, "on_epoch_end", scripted_score)
    config = tiny_run_config(tmp_path, tiny_reversal_data, epochs=8, settings=[
        "train.batch_size=64", f"train.early_stopping.metric={metric}", "train.early_stopping.patience=2"])
    lines = []
    train(config, tmp_path / "run", log=lines.append)

    run = RunDirectory(tmp_path / "run")
    assert [int(row["epoch"]) for row in read_metrics(run.path)] == [1, 2, 3, 4, 5, 6]
    state = run.read_state()
    assert (state["epoch"], state["best_epoch"], state["wait"], state["best"]) == (6, 4, 2, values[3])
    assert f"early stopping: {metric} has not improved for 2 epochs" in lines
    assert run.model_file.read_bytes() == run.checkpoint(4).read_bytes(), "model.keras must be the best epoch's"

    resumed = []
    train(None, run.path, resume=True, log=resumed.append)
    assert any(line.startswith("training had stopped early after epoch 6") for line in resumed)
    assert len(read_metrics(run.path)) == 6


@pytest.mark.slow  # two runs' tracing: about 20 s on 2 cores; CI runs the slow tests in a second step
def test_the_time_budget_ends_the_first_epoch_early_and_a_resume_starts_the_next(tmp_path, tiny_reversal_data):
    """A budget that is spent before the first step ends: epoch 1 stops after that step, is recorded as
    incomplete, and its checkpoint is the one a resume starts from, with epoch 2 (all 4 of its steps), not
    with the rest of epoch 1. The optimizer's step counter says how many steps each checkpoint has seen."""
    config = tiny_run_config(tmp_path, tiny_reversal_data, epochs=2, settings=["train.batch_size=16",
                                                                          "train.max_minutes=1e-9"])
    lines = []
    train(config, tmp_path / "run", log=lines.append)
    run = RunDirectory(tmp_path / "run")
    assert "time budget reached: ending this epoch early and stopping" in lines
    assert "epoch 1 ended early; a resumed run starts with epoch 2" in lines
    assert [(row["epoch"], row["complete_epoch"]) for row in read_metrics(run.path)] == [("1", "0")]
    assert (run.read_state()["epoch"], run.read_state()["checkpoint"]) == (1, "epoch-001.keras")
    assert int(load_model_file(run.checkpoint(1)).optimizer.iterations) == 1

    resumed = []
    train(run.load_config(["train.max_minutes=null"]), run.path, resume=True, log=resumed.append)
    assert f"resuming {run.path} from the end of epoch 1" in resumed
    assert [(row["epoch"], row["complete_epoch"]) for row in read_metrics(run.path)] == [("1", "0"), ("2", "1")]
    assert int(load_model_file(run.checkpoint(2)).optimizer.iterations) == 1 + 4


@pytest.mark.slow  # XLA compiles the train step: about 15 s on 2 cores; CI runs the slow tests in a second step
def test_whole_step_xla_training_takes_the_steps_training_without_it_takes():
    """`train.jit_compile` has Keras compile the whole train step (forward pass, loss, gradients and the Adam
    update) with XLA. Three steps must give the losses and weights of the same steps run as a TensorFlow
    graph, to float32 rounding (XLA fuses and reorders operations)."""
    source = padded_source()
    target = np.random.default_rng(5).integers(3, 12, size=(len(source), 6)).astype("int32")
    target[1, 4:] = PAD_ID
    target_in = np.concatenate([np.full((len(source), 1), BOS_ID, "int32"), target[:, :-1]], axis=1)
    trained = {}
    for jit_compile in (False, True):
        model = tiny_model()
        train_config = TrainConfig(jit_compile=jit_compile, learning_rate=0.01, warmup_steps=1)
        compile_for_training(model, train_config, 10, *token_loss_and_metrics(train_config))
        assert model.jit_compile is jit_compile  # Keras would silently turn XLA off for a model it cannot compile
        losses = [model.train_on_batch((source, target_in), target, return_dict=True)["loss"] for _ in range(3)]
        trained[jit_compile] = losses, model.get_weights()
    (graph_losses, graph_weights), (xla_losses, xla_weights) = trained[False], trained[True]
    assert graph_losses[2] < graph_losses[0], "the steps must have trained the model for the comparison to count"
    np.testing.assert_allclose(xla_losses, graph_losses, rtol=1e-5)
    for xla, graph in zip(xla_weights, graph_weights, strict=True):
        np.testing.assert_allclose(xla, graph, rtol=1e-4, atol=1e-5)
