"""tf.distribute strategies for training, and which directory each process of a cluster writes.

A process's role comes from `TF_CONFIG` alone, so it is known before TensorFlow starts and before
any file is read: a worker resuming on its own machine finds its own copy of the run.
"""

import json
import os
from pathlib import Path
from typing import NamedTuple

import tensorflow as tf

from seq2seq.errors import ConfigError


class Role(NamedTuple):
    """This process's place in a cluster, as `TF_CONFIG` gives it."""

    task_type: str
    index: int
    processes: int
    chief: bool  # writes the run directory: the `chief`, or worker 0 in a cluster without one


def make_strategy(distribute_config, log=print):
    """The strategy `distribute.strategy` names; create it before any other TensorFlow work.

    Collective operations between workers must be configured before TensorFlow's runtime starts,
    so a multi-worker strategy made after the first tensor fails.
    """
    kind = distribute_config.strategy
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        devices = distribute_config.devices or None
        known = {device.name for device in tf.config.list_logical_devices()}
        missing = [name for name in devices or [] if _canonical(name) not in known]
        if missing:
            raise ConfigError(f"distribute.devices: {', '.join(missing)} not found; this machine has "
                              f"{', '.join(sorted(known))}")
        return tf.distribute.MirroredStrategy(devices)
    role = cluster_role(required=True)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    log(f"multi-worker training: {role.task_type} {role.index} of {role.processes} processes, "
        f"{strategy.num_replicas_in_sync} replicas in all")
    return strategy


def own_run_directory(run_dir, strategy_name) -> Path:
    """The directory this process writes: `run_dir` itself, or for a worker other than the chief an
    identical copy beside it, `.<name>.<task>-<index>`.

    Every worker saves the same checkpoints (saving must not diverge between workers) and resumes
    from its own copy, which works whether or not the machines share a file system.
    """
    run_dir = Path(run_dir)
    if strategy_name != "multi_worker":
        return run_dir
    role = cluster_role(required=True)
    return run_dir if role.chief else _worker_copy(run_dir, role)


def resumed_run_directory(run_dir) -> Path:
    """Where a resumed run's config and checkpoints are, before the config says how it is distributed."""
    run_dir = Path(run_dir)
    role = cluster_role(required=False)
    if role is None or role.chief:
        return run_dir
    copy = _worker_copy(run_dir, role)
    return copy if copy.is_dir() else run_dir


def _worker_copy(run_dir, role):
    return run_dir.parent / f".{run_dir.name}.{role.task_type}-{role.index}"


def cluster_role(required) -> Role:
    """This process's role from `TF_CONFIG`; None without it, unless `required`."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        if not required:
            return None
        raise ConfigError("distribute.strategy: multi_worker needs the TF_CONFIG environment variable, e.g. "
                          '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                          '"index": 0}}')
    try:
        settings = json.loads(text)
        cluster, task_type, index = settings["cluster"], settings["task"]["type"], int(settings["task"]["index"])
        processes = sum(len(hosts) for hosts in cluster.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"TF_CONFIG is not valid: expected JSON with 'cluster' and 'task': {{'type', 'index'}}, "
                          f"got {text!r}") from None
    chief = task_type == "chief" or ("chief" not in cluster and task_type == "worker" and index == 0)
    return Role(task_type, index, processes, chief)


def _canonical(name):
    """'/cpu:1' or '/device:CPU:1' -> '/device:CPU:1', the form TensorFlow lists devices in."""
    kind, _, index = name.strip("/").removeprefix("device:").partition(":")
    return f"/device:{kind.upper()}:{index or 0}"
