"""tf.distribute training: mirrored replicas on two logical CPUs, and two workers on loopback."""

import csv
import json
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import tensorflow as tf

from conftest import reversal_config_text, write_reversal_task
from seq2seq.cli import main
from seq2seq.config import DistributeConfig
from seq2seq.distribute import is_chief, make_strategy
from seq2seq.errors import ConfigError

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


def test_mirrored_replicas_on_two_cpus_train_like_one_device(small_task, tmp_path):
    """Same global batch of 32: two replicas of 16 average their gradients to what one device computes."""
    (tmp_path / "one.yaml").write_text(reversal_config_text(small_task, epochs=2))
    (tmp_path / "two.yaml").write_text(reversal_config_text(small_task, epochs=2, extra=MIRRORED))
    run(["-c", TWO_CPUS, "train", str(tmp_path / "one.yaml"), "--run-dir", str(tmp_path / "one")])
    two = run(["-c", TWO_CPUS, "train", str(tmp_path / "two.yaml"), "--run-dir", str(tmp_path / "two")])
    assert "2 replicas share each batch of 32" in two.stdout
    for alone, mirrored in zip(metrics(tmp_path / "one"), metrics(tmp_path / "two"), strict=True):
        for key in ("loss", "xent", "val_xent"):
            assert float(mirrored[key]) == pytest.approx(float(alone[key]), rel=1e-3), key
    assert main(["translate", str(tmp_path / "two"), "a b c"]) == 0


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def train_two_workers(config, run_dir, *extra):
    cluster = [f"localhost:{port}" for port in free_ports(2)]
    workers = []
    for index in range(2):
        environment = {**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "seq2seq.cli", "train", str(config), "--run-dir", str(run_dir), *extra],
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    return outputs


def test_two_workers_on_loopback_train_a_run_that_translates_evaluates_and_resumes(small_task, tmp_path, capsys):
    config = tmp_path / "workers.yaml"
    config.write_text(reversal_config_text(small_task, epochs=2, extra="distribute: {strategy: multi_worker}"))
    chief_log, _ = train_two_workers(config, tmp_path / "run")
    assert "worker 0 of 2 processes, 2 replicas in all" in chief_log

    chief, other = tmp_path / "run", tmp_path / ".run.worker-1"
    assert [row["loss"] for row in metrics(chief)] == [row["loss"] for row in metrics(other)]
    assert len(metrics(chief)) == 2 and (chief / "model.keras").is_file()
    assert main(["translate", str(chief), "a b c"]) == 0
    assert main(["evaluate", str(chief), "--split", "dev"]) == 0
    assert "BLEU" in capsys.readouterr().out

    train_two_workers(config, tmp_path / "run", "--resume", "--set", "train.epochs=3")
    rows = metrics(chief)
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert float(rows[2]["loss"]) < float(rows[1]["loss"])


@pytest.mark.parametrize("text, message", [
    ('distribute: {devices: ["/gpu:0"]}', "'distribute.devices' applies to 'distribute.strategy: mirrored' only"),
    ("distribute: {strategy: multi_worker}\ntrain: {max_minutes: 5}", "'train.max_minutes' cannot be used"),
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
def test_one_process_of_a_cluster_writes_the_run_directory(cluster, task, chief):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task[0], task_id=task[1])
    assert is_chief(SimpleNamespace(cluster_resolver=resolver)) is chief
    assert is_chief(tf.distribute.get_strategy())
