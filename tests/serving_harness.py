"""A `seq2seq serve` app running on loopback for a test: the task tests call their own routes through it."""

import threading
import time

import httpx
import uvicorn

from seq2seq.serving.app import create_app
from seq2seq.tasks import task_named
from seq2seq.tasks.base import import_reference
from seq2seq.training.run_dir import RunDirectory


def served(run_dir, **settings):
    """A run loaded as `seq2seq serve` loads it: its task's `ServedPredictor`."""
    task = task_named(RunDirectory(run_dir).load_config().task)
    return import_reference(task.served)(task.load_predictor(run_dir, **settings))


def serve_runs(runs, limits=None):
    """A running `Service` for {name: run directory}."""
    return Service(create_app({name: served(run) for name, run in runs.items()}, *([limits] if limits else [])))


class Service:
    """A uvicorn server on 127.0.0.1 (a free port) in a thread, stopped the way Ctrl-C stops it."""

    def __init__(self, app):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        return self

    def __exit__(self, *failure):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=60)
