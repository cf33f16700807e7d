"""tf.distribute strategies for training, and which process of a cluster writes the run directory."""

import json
import os

import tensorflow as tf

from seq2seq.errors import ConfigError


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
    cluster = _cluster_from_environment()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    log(f"multi-worker training: {cluster['task']['type']} {cluster['task']['index']} of "
        f"{sum(len(hosts) for hosts in cluster['cluster'].values())} processes, "
        f"{strategy.num_replicas_in_sync} replicas in all")
    return strategy


def is_chief(strategy) -> bool:
    """Whether this process writes the run directory: the one chief, or worker 0 in a cluster without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def worker_run_directory(run_dir, strategy):
    """Where a process other than the chief writes its copy of the run.

    Every worker saves the same checkpoints (saving must not diverge between workers), and resumes
    from its own copy, which works whether or not the machines share a file system.
    """
    resolver = strategy.cluster_resolver
    return run_dir.parent / f".{run_dir.name}.{resolver.task_type}-{resolver.task_id}"


def _canonical(name):
    """'/cpu:1' or '/device:CPU:1' -> '/device:CPU:1', the form TensorFlow lists devices in."""
    kind, _, index = name.strip("/").removeprefix("device:").partition(":")
    return f"/device:{kind.upper()}:{index or 0}"


def _cluster_from_environment():
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ConfigError("distribute.strategy: multi_worker needs the TF_CONFIG environment variable, e.g. "
                          '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                          '"index": 0}}')
    try:
        cluster = json.loads(text)
        cluster["cluster"], cluster["task"]["type"], cluster["task"]["index"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"TF_CONFIG is not valid: expected JSON with 'cluster' and 'task': {{'type', 'index'}}, "
                          f"got {text!r}") from None
    return cluster
