"""`seq2seq train`: a task's data and model -> model.fit with checkpoints, dev scores and early stopping, resumable.

The loop is the same for every task: the registry (`seq2seq.tasks`) gives the config's task, whose
`TaskTraining` (`seq2seq.tasks.base`) supplies the data, the model, its loss and its dev score.
"""

import sys
from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

from seq2seq import fault_injection
from seq2seq.durable_files import write_atomically
from seq2seq.errors import Seq2SeqError, TrainingInterrupted
from seq2seq.models.loading import load_model_file
from seq2seq.precision import AUTO, resolve_precision
from seq2seq.tasks import task_named
from seq2seq.keras_internals import swap_with_moving_averages
from seq2seq.training.callbacks import (AveragedWeightsForScoring, DevScore, EpochClock, EpochOffset, EpochSeeds,
                                        NonFiniteLossGuard, RunCheckpoint, TimeBudget, TrainingPosition,
                                        TrainingWeightsBack)
from seq2seq.training.distribute import make_strategy, own_run_directory, resumed_run_directory
from seq2seq.training.fine_tuning import check_initial_run, copy_vocabulary, initial_model
from seq2seq.training.mid_epoch import MidEpochCheckpoint, MidEpochResume
from seq2seq.training.progress import ProgressLog
from seq2seq.training.run_dir import RunDirectory
from seq2seq.training.run_lock import run_lock
from seq2seq.training.schedules import WarmupDecay
from seq2seq.training.tensorboard import tensorboard_callbacks

# Workers of a cluster split each batch between them rather than reading the (single) data file.
SHARD_BY_BATCH = tf.data.Options()
SHARD_BY_BATCH.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA


def train(config, run_dir, resume=False, log=print) -> RunDirectory:
    """Train the model a config describes into `run_dir`.

    With `resume`, continue from the run's last checkpoint (an epoch's, or a mid-epoch one). `config`
    is then the run's saved config with any `train:` or `decode:` changes the user made (more epochs,
    another learning rate); changes to the data, tokenizer or model cannot apply to a trained model
    and are refused. With `train.init_from`, a new run starts from that run's model (fine-tuning).
    Ctrl-C raises `TrainingInterrupted`, which says what a resume would start from.
    """
    if config is None:  # resuming with the run's own config
        saved = RunDirectory(resumed_run_directory(run_dir))
        saved.read_state()  # says clearly when there is nothing to resume
        config = saved.load_config()
    strategy = make_strategy(config.distribute, log)
    run = RunDirectory(own_run_directory(run_dir, config.distribute.strategy))
    if resume:
        run.require(run.state_file, "no checkpoint to resume from; train without --resume")
    elif run.path.exists() and not run.path.is_dir():
        raise Seq2SeqError(f"{run.path}: is a file, not a run directory")
    else:
        run.path.mkdir(parents=True, exist_ok=True)
    fault_injection.at("start")
    with run_lock(run.path, "seq2seq train", log):
        return _train(run, config, resume, strategy, log)


def _train(run, config, resume, strategy, log):
    config, state = _open_run(run, config, resume, log)
    keras.utils.set_random_seed(config.seed)

    definition = task_named(config.task)
    task = definition.training(config, run, resume or bool(config.train.init_from), log)  # vocabulary in the run
    with strategy.scope():
        model = _model(run, config, state, task)
    replicas = strategy.num_replicas_in_sync
    if config.train.precision == "mixed_bfloat16" and config.train.jit_compile:
        log("note: train.jit_compile with mixed_bfloat16 is about 2x slower than without it on CPUs "
            "(XLA's bfloat16 matrix products); consider --set train.jit_compile=false")
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    log(f"model: {model.count_params():,} parameters"
        + (f" ({trainable:,} trainable)" if config.train.freeze else "")
        + (f"; {replicas} replicas share each batch of {config.train.batch_size}" if replicas > 1 else ""))
    if _already_finished(config, state, log):
        return run

    first_epoch = state["epoch"] if state else 0
    mid_epoch = state.get("mid_epoch") if state else None
    if mid_epoch and mid_epoch["steps_per_epoch"] != task.steps_per_epoch:
        raise Seq2SeqError(f"{run.state_file}: the mid-epoch checkpoint was saved with {mid_epoch['steps_per_epoch']} "
                           f"steps per epoch, and the data now gives {task.steps_per_epoch}; it cannot resume exactly")
    offset = EpochOffset(first_epoch, mid_epoch["step"]) if mid_epoch else EpochOffset()
    monitored = definition.dev_metrics[config.train.early_stopping.metric]
    callbacks = _callbacks(config, run, state, task, model, monitored, offset, log)
    try:
        _fit(model, task, config, first_epoch, offset, callbacks)
    except KeyboardInterrupt:
        raise _interrupted(run) from None
    final_state = run.read_state()
    log(f"best {config.train.early_stopping.metric} {final_state['best']:.4f} at epoch "
        f"{final_state['best_epoch']}; model saved to {run.model_file}")
    return run


def _fit(model, task, config, first_epoch, offset, callbacks):
    """`model.fit` from `first_epoch` to the last; a resumed epoch's remaining steps first, in a fit of their own
    (Keras gives every epoch of one fit the same number of steps)."""
    verbose = 1 if sys.stdout.isatty() else 0  # elsewhere `ProgressLog` writes lines
    settings = dict(callbacks=callbacks, shuffle=False, verbose=verbose)
    epoch = first_epoch
    if offset.steps:
        train_batches, dev_batches = _datasets(task, model, epoch)
        model.fit(train_batches.skip(offset.steps), epochs=epoch + 1, initial_epoch=epoch,
                  steps_per_epoch=task.steps_per_epoch - offset.steps, validation_data=dev_batches, **settings)
        if model.stop_training:  # early stopping, or the time budget
            return
        epoch += 1
    if epoch < config.train.epochs:
        train_batches, dev_batches = _datasets(task, model, epoch)
        model.fit(train_batches, epochs=config.train.epochs, initial_epoch=epoch,
                  steps_per_epoch=task.steps_per_epoch, validation_data=dev_batches, **settings)


def _datasets(task, model, first_epoch):
    return (batches.with_options(SHARD_BY_BATCH) for batches in task.datasets(model, first_epoch))


def _interrupted(run):
    """Ctrl-C: what the run has kept, in one line."""
    if not run.state_file.exists():
        return TrainingInterrupted("no checkpoint had been saved yet (the first comes at the end of epoch 1, or "
                                   "after train.checkpoint_every_minutes), so there is nothing to resume", resumable=False)
    state = run.read_state()
    return TrainingInterrupted(f"the last checkpoint, {run.resume_checkpoint(state)}, holds the run as of "
                               f"{run.resume_point(state)}", resumable=True)


def _open_run(run, config, resume, log):
    """-> (the config in force, the saved training state or None for a new run)."""
    if resume:
        state = run.read_state()
        saved = run.load_config()
        config = _keep_saved_precision(config or saved, saved)
        _refuse_incompatible_changes(saved, config, run, state)
        run.remove_partial_files()
        run.truncate_metrics(state["epoch"])
        log(f"resuming {run.path} from {run.resume_point(state)}")
    else:
        if run.state_file.exists():
            raise Seq2SeqError(f"{run.path} already holds a training run: pass --resume to continue it "
                               "or choose another --run-dir")
        _remove_unfinished_first_epoch(run, log)
        state = None
        initial = check_initial_run(config) if config.train.init_from else None
        run.create()
        precision, why = resolve_precision(config.train.precision)
        config = replace(config, train=replace(config.train, precision=precision))
        log(f"precision: {precision} ({why})")
        if initial:
            copy_vocabulary(initial, run)
            log(f"fine-tuning {initial.model_file} with its vocabulary" + (
                f"; frozen: {', '.join(config.train.freeze)}" if config.train.freeze else ""))
    write_atomically(run.config_file, config.to_yaml().encode())  # other workers may be reading it
    return config, state


def _remove_unfinished_first_epoch(run, log):
    """What a run killed before its first `state.json` left: files of ours that no state vouches for.

    Without them a new run starts clean, instead of refusing (as if the run were resumable) or appending
    to the killed run's `metrics.csv`.
    """
    leftovers = [path for path in (run.model_file, run.metrics_file, *run.epoch_checkpoints(),
                                   *run.mid_epoch_checkpoints()) if path.exists()]
    if leftovers and not run.config_file.exists():  # every run of ours writes its config first
        raise Seq2SeqError(f"{run.path} holds {leftovers[0].name}, which no seq2seq run left there; "
                           "choose another --run-dir")
    if leftovers and not _only_a_first_epoch(run):  # e.g. a finished run whose checkpoints/ was pruned
        raise Seq2SeqError(f"{run.path} already holds a trained model but no checkpoint to resume: "
                           "choose another --run-dir")
    run.remove_partial_files()
    for path in leftovers:
        path.unlink()
    if leftovers:
        log(f"{run.path}: removed {', '.join(path.name for path in leftovers)}, left by a run that was stopped "
            "before its first checkpoint")


def _only_a_first_epoch(run):
    """Whether the run's files are at most those of epoch 1 (whose checkpoint is saved before model.keras)."""
    return (all(path == run.checkpoint(1) for path in run.epoch_checkpoints())
            and all(path.name.startswith("mid-epoch-001-") for path in run.mid_epoch_checkpoints())
            and (not run.model_file.exists() or run.checkpoint(1).exists())
            and (not run.metrics_file.exists() or len(run.metrics_file.read_bytes().splitlines()) <= 2))


def _keep_saved_precision(config, saved):
    """`precision: auto` on resume means the run's own precision: its layers were made with it."""
    if config.train.precision != AUTO:
        return config
    return replace(config, train=replace(config.train, precision=saved.train.precision))


def _model(run, config, state, task):
    """A new model, or the checkpoint named in the state recompiled with the current `train:` settings."""
    if state is None:
        if config.train.init_from:
            model = initial_model(RunDirectory(config.train.init_from), task.model_class, config.train.precision)
        else:
            model = task.new_model()
        model.freeze(config.train.freeze)
        compile_for_training(model, config.train, task.steps_per_epoch, *task.loss_and_metrics(config.train))
        return model
    checkpoint = run.resume_checkpoint(state)
    model = load_model_file(checkpoint)
    if not isinstance(model, task.model_class):
        raise Seq2SeqError(f"{checkpoint}: holds a {type(model).__name__}, but the run's config says "
                           f"task: {config.task}")
    trained_optimizer = model.optimizer  # the checkpoint's model comes frozen where it was (SequenceModel)
    compile_for_training(model, config.train, task.steps_per_epoch, *task.loss_and_metrics(config.train))
    _carry_optimizer_state(trained_optimizer, model)
    if config.train.weight_averaging:  # the checkpoint holds the averages as weights (AveragedWeightsForScoring)
        swap_with_moving_averages(model)
    return model


def _already_finished(config, state, log):
    if state is None:
        return False
    if state["wait"] >= config.train.early_stopping.patience:
        log(f"training had stopped early after epoch {state['epoch']}: {config.train.early_stopping.metric} "
            "stopped improving; raise train.early_stopping.patience with --set to train further")
        return True
    if state["epoch"] >= config.train.epochs:
        log(f"training had already finished all {config.train.epochs} epochs; "
            "add --set train.epochs=N to train further")
        return True
    return False


def compile_for_training(model, train_config, steps_per_epoch, loss, metrics):
    """Compile with the `train:` optimizer, schedule and clipping, and the task's loss and metrics."""
    schedule = WarmupDecay(train_config.learning_rate, train_config.warmup_steps, train_config.decay,
                           total_steps=steps_per_epoch * train_config.epochs)
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[train_config.optimizer]
    averaging = dict(use_ema=True, ema_momentum=train_config.weight_averaging) if train_config.weight_averaging else {}
    model.compile(
        optimizer=optimizer(schedule, global_clipnorm=train_config.clip_norm, **averaging),
        loss=loss,
        metrics=metrics,
        jit_compile=train_config.jit_compile,
    )


def _carry_optimizer_state(trained_optimizer, model):
    """Copy Adam's step count and moments into the freshly compiled optimizer.

    Recompiling applies the current `train:` settings (schedule, clipping, label smoothing, XLA),
    while the moments keep the resumed run on the path the interrupted one was on.
    """
    model.optimizer.build(model.trainable_variables)
    for new, old in zip(model.optimizer.variables, trained_optimizer.variables):
        new.assign(old)


# What decides an epoch's batches: a resume within an epoch skips the steps done, so they must not change.
BATCH_KEYS = ("batch_size", "buckets", "shuffle_buffer", "bptt_length", "bptt_carry_state")


def _refuse_incompatible_changes(saved, config, run, state):
    for section in ("data", "tokenizer", "model"):
        if getattr(saved, section) != getattr(config, section):
            raise Seq2SeqError(f"--resume cannot change the '{section}' settings of {run.config_file}: "
                               "the trained model depends on them; start a new run instead")
    if saved.train.precision != config.train.precision:
        raise Seq2SeqError("--resume cannot change train.precision: the model's layers were made with "
                           f"{saved.train.precision}")
    if saved.seed != config.seed:
        raise Seq2SeqError("--resume cannot change the seed: the resumed epochs would differ")
    for key in ("init_from", "freeze"):
        if getattr(saved.train, key) != getattr(config.train, key):
            raise Seq2SeqError(f"--resume cannot change train.{key}: the run's model was made with "
                               f"{getattr(saved.train, key)!r}")
    changed = [key for key in BATCH_KEYS if getattr(saved.train, key) != getattr(config.train, key)]
    if state.get("mid_epoch") and changed:
        raise Seq2SeqError(f"--resume from the mid-epoch checkpoint cannot change train.{changed[0]}: the rest of "
                           f"epoch {state['epoch'] + 1} is that epoch's batches; resume unchanged and change it "
                           "once the epoch has ended")
    if saved.train.early_stopping.metric != config.train.early_stopping.metric:
        raise Seq2SeqError(f"--resume cannot change train.early_stopping.metric: the best value so far in "
                           f"{run.state_file} is a {saved.train.early_stopping.metric}")
    if saved.train.weight_averaging != config.train.weight_averaging:
        raise Seq2SeqError("--resume cannot change train.weight_averaging: the checkpoints hold weights averaged "
                           f"with {saved.train.weight_averaging}")


def _callbacks(config, run, state, task, model, monitored, offset, log):
    """In the order they must run at each epoch end: scores into the logs, then what reads them."""
    train = config.train
    averaging = bool(train.weight_averaging)
    callbacks = [TrainingPosition(offset)]
    callbacks += [AveragedWeightsForScoring()] if averaging else []
    callbacks += [NonFiniteLossGuard(run, offset), EpochSeeds(config.seed)]
    if offset.steps:
        callbacks.append(MidEpochResume(offset.epoch, state["mid_epoch"]))
    callbacks += [EpochClock(*task.epoch_size, offset), DevScore(task.dev_scorer(model), log)]
    if not sys.stdout.isatty():
        callbacks.append(ProgressLog(*task.epoch_size, task.steps_per_epoch, train.epochs, train.log_every_steps,
                                     offset, log))
    if train.tensorboard:
        callbacks += tensorboard_callbacks(run, getattr(task, "pictures", None))
    checkpoint = RunCheckpoint(run, train.early_stopping.metric, monitored, train.early_stopping.patience,
                               keep=train.keep_checkpoints, state=state, log=log)
    callbacks.append(checkpoint)
    if train.checkpoint_every_minutes:
        callbacks.append(MidEpochCheckpoint(run, train.checkpoint_every_minutes, lambda: checkpoint.state, offset,
                                            averaging, log))
    if train.max_minutes:
        callbacks.append(TimeBudget(train.max_minutes, log))
    if averaging:
        callbacks.append(TrainingWeightsBack())
    return callbacks
