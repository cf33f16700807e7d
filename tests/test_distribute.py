"""tf.distribute training: mirrored replicas on two logical CPUs, and two workers on loopback."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import reversal_config_text, write_reversal_task
from seq2seq.cli import main
from seq2seq.config import DistributeConfig
from seq2seq.training.distribute import cluster_role, make_strategy, own_run_directory
from seq2seq.errors import ConfigError
from seq2seq.models.loading import load_model_file

# Logical devices must be configured before TensorFlow's runtime starts, so mirrored training on
# two CPUs runs in a fresh process.
TWO_CPUS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from seq2seq.cli import main
sys.exit(main(sys.argv[1:]))
"""
MIRRORED = 'distribute: {strategy: mirrored, devices: ["/cpu:0", "/cpu:1"]}'


@pytest.fixture(scope="module")
def small_task(tmp_path_factory):
    return write_reversal_task(tmp_path_factory.mktemp("small"), sizes=(("train", 800), ("dev", 40), ("test", 40)))


def metrics(run_dir):
    with open(run_dir / "metrics.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run(arguments, **kwargs):
    done = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
def test_mirrored_replicas_on_two_cpus_train_like_one_device(small_task, tmp_path):
    """Same global batch of 32: two replicas of 16 average their gradients to what one device computes."""
    (tmp_path / "one.yaml").write_text(reversal_config_text(small_task, epochs=2))
    (tmp_path / "two.yaml").write_text(reversal_config_text(small_task, epochs=2, extra=MIRRORED))
    run(["-c", TWO_CPUS, "train", str(tmp_path / "one.yaml"), "--run-dir", str(tmp_path / "one")])
    two = run(["-c", TWO_CPUS, "train", str(tmp_path / "two.yaml"), "--run-dir", str(tmp_path / "two")])
    assert "2 replicas share each batch of 32" in two.stdout
    for alone, mirrored in zip(metrics(tmp_path / "one"), metrics(tmp_path / "two"), strict=True):
        for key in ("xent", "val_xent"):  # token cross-entropy: the same computation, to rounding
            assert float(mirrored[key]) == pytest.approx(float(alone[key]), rel=1e-5), key
        # Keras logs the loss weighted by each replica's share of sentences rather than of tokens.
        assert float(mirrored["loss"]) == pytest.approx(float(alone["loss"]), rel=1e-3)
    assert main(["translate", str(tmp_path / "two"), "a b c"]) == 0


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def train_two_workers(config, run_dirs, tmp_path, *extra):
    """Worker i trains into run_dirs[i]: apart, as on two machines without a shared file system."""
    cluster = [f"localhost:{port}" for port in free_ports(2)]
    workers, logs = [], [tmp_path / f"worker-{index}.log" for index in range(2)]
    try:
        for index, (run_dir, log) in enumerate(zip(run_dirs, logs)):
            environment = {**os.environ, "TF_CONFIG": json.dumps(
                {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}})}
            with open(log, "w") as output:
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "seq2seq.cli", "train", str(config), "--run-dir", str(run_dir), *extra],
                    env=environment, stdout=output, stderr=subprocess.STDOUT))
        for worker in workers:
            worker.wait(timeout=600)
    finally:
        for worker in workers:
            worker.kill()
    texts = [log.read_text() for log in logs]
    for worker, text in zip(workers, texts):
        assert worker.returncode == 0, text[-3000:]
    return texts


@pytest.mark.slow  # a minute or more; CI runs the slow tests in a second step
def test_two_workers_on_loopback_train_a_run_that_translates_evaluates_and_resumes(small_task, tmp_path, capsys):
    config = tmp_path / "workers.yaml"
    config.write_text(reversal_config_text(small_task, epochs=2, extra="distribute: {strategy: multi_worker}"))
    run_dirs = [tmp_path / "host1" / "run", tmp_path / "host2" / "run"]
    chief_log, _ = train_two_workers(config, run_dirs, tmp_path)
    assert "worker 0 of 2 processes, 2 replicas in all" in chief_log

    chief, copy = run_dirs[0], tmp_path / "host2" / ".run.worker-1"
    assert not run_dirs[1].exists(), "only the chief writes the run directory"
    for weights, copied in zip(load_model_file(chief / "model.keras", compile=False).get_weights(),
                               load_model_file(copy / "model.keras", compile=False).get_weights(), strict=True):
        np.testing.assert_array_equal(weights, copied)
    assert len(metrics(chief)) == 2
    assert main(["translate", str(chief), "a b c"]) == 0
    assert main(["evaluate", str(chief), "--split", "dev"]) == 0
    assert "BLEU" in capsys.readouterr().out

    train_two_workers(config, run_dirs, tmp_path, "--resume", "--set", "train.epochs=3")
    rows = metrics(chief)
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    learned = ("loss", "xent", "val_loss", "dev_bleu")
    assert [[row[key] for key in learned] for row in metrics(copy)] == [[row[key] for key in learned] for row in rows]
    assert float(rows[2]["loss"]) < float(rows[1]["loss"])


@pytest.mark.parametrize("text, message", [
    ('distribute: {devices: ["/gpu:0"]}', "'distribute.devices' applies to 'distribute.strategy: mirrored' only"),
    ("distribute: {strategy: multi_worker}\ntrain: {max_minutes: 5}", "'train.max_minutes' cannot be used"),
    ("distribute: {strategy: multi_worker}\ntrain: {checkpoint_every_minutes: 5}",
     "'train.checkpoint_every_minutes' cannot be used"),
    ("distribute: {strategy: many}", "'distribute.strategy' must be one of none, mirrored, multi_worker"),
])
def test_distribute_config_errors(tmp_path, text, message):
    from seq2seq.config import load_config

    (tmp_path / "bad.yaml").write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "bad.yaml")


def test_strategy_errors_name_what_is_missing(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="needs the TF_CONFIG environment variable"):
        make_strategy(DistributeConfig(strategy="multi_worker"))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match="TF_CONFIG is not valid"):
        make_strategy(DistributeConfig(strategy="multi_worker"))
    with pytest.raises(ConfigError, match="/gpu:3 not found; this machine has"):
        make_strategy(DistributeConfig(strategy="mirrored", devices=["/gpu:3"]))


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, ("worker", 0), True),
    ({"worker": ["a:1", "b:1"]}, ("worker", 1), False),
    ({"chief": ["a:1"], "worker": ["b:1"]}, ("chief", 0), True),
    ({"chief": ["a:1"], "worker": ["b:1"]}, ("worker", 0), False),
])
def test_one_process_of_a_cluster_writes_the_run_directory(cluster, task, chief, monkeypatch, tmp_path):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task[0], "index": task[1]}}))
    assert cluster_role(required=True).chief is chief
    own = own_run_directory(tmp_path / "run", "multi_worker")
    assert own == (tmp_path / "run" if chief else tmp_path / f".run.{task[0]}-{task[1]}")
    assert own_run_directory(tmp_path / "run", "mirrored") == tmp_path / "run"


@pytest.mark.slow  # a minute or more; CI runs the slow tests in a second step
@pytest.mark.parametrize("task", ["classification", "tagging"])
def test_every_task_trains_on_mirrored_replicas_through_the_same_loop(task, tmp_path):
    """The classifier and the tagger take the same two-replica path as translation, to the same losses."""
    from test_classification import TINY_CONFIG, cue_settings, write_cue_task
    from test_tagging import ner_config_text, write_ner_corpus

    if task == "classification":
        data = write_cue_task(tmp_path / "data", sizes=(("train", 256), ("dev", 64), ("test", 64)))
        config, settings = TINY_CONFIG, cue_settings(data, "train.epochs=1", "train.batch_size=32")
    else:
        data = write_ner_corpus(tmp_path / "data", sizes=(("train", 256), ("dev", 64), ("test", 64)))
        config, settings = tmp_path / "ner.yaml", []
        config.write_text(ner_config_text(data, epochs=1))
    settings += ["--set", "model.dropout=0"]  # replicas draw their own dropout masks
    mirrored = ["--set", "distribute.strategy=mirrored", "--set", 'distribute.devices=["/cpu:0", "/cpu:1"]']
    run(["-c", TWO_CPUS, "train", str(config), "--run-dir", str(tmp_path / "one"), *settings])
    two = run(["-c", TWO_CPUS, "train", str(config), "--run-dir", str(tmp_path / "two"), *settings, *mirrored])
    assert "2 replicas share each batch of 32" in two.stdout
    for alone, replicated in zip(metrics(tmp_path / "one"), metrics(tmp_path / "two"), strict=True):
        # Within 1 %, not to rounding: Keras averages the replicas' mean losses, and a batch split in two
        # halves of unequal length (tokens for the tagger) weighs its examples slightly differently.
        for key in ("loss", "val_loss"):
            assert float(replicated[key]) == pytest.approx(float(alone[key]), rel=1e-2), key
    verb = "classify" if task == "classification" else "tag"
    assert main([verb, str(tmp_path / "two"), "the cat of a dog"]) == 0
