"""Peer benchmark: OpenNMT-py 3.5.1 on torch 2.13.0 (CPU), same data, vocabulary and model size as a run of ours.

    python -m benchmarks.opennmt_peer setup                          # once: the OpenNMT-py virtualenv
    python -m benchmarks.opennmt_peer prepare --run-dir RUN
    python -m benchmarks.opennmt_peer speed [--steps 300 | --quick]  # training target tokens/s, peak RSS
    python -m benchmarks.opennmt_peer budget [--minutes 15]          # train for a budget, beam-5 test BLEU
    python -m benchmarks.opennmt_peer all --run-dir RUN [--minutes 15] [--quick]

Everything runs from the project's Python; OpenNMT-py runs in its own virtualenv (`--venv`, default
`<seq2seq cache dir>/opennmt-venv`) through its `onmt_*` executables. Results are merged into `--output`
(default benchmarks/results/opennmt.json) with the installed versions and the exact commands run.
`run_peer()` does prepare, speed and budget in one call for benchmarks/run.py.

Installing (`setup`): OpenNMT-py 3.5.1 pins `torch<2.3,>=2.1`, which rules out torch 2.13.0, so the
only override is that pin: OpenNMT-py is installed with `--no-deps` and then its other requirements
exactly as its metadata states them (`ONMT_REQUIREMENTS`). PyPI has no CPU-only torch: its
torch-2.13.0 wheel (527 MB) requires the CUDA 13 stack (cuda-toolkit, nvidia-cudnn-cu13, -nccl-,
-cusparselt-, -nvshmem-, triton: several GB), and with `--no-deps` it cannot even be imported
(`libcudnn.so.9: cannot open shared object file`). `setup` therefore asks pip for
`torch==2.13.0+cpu` first (192 MB, no nvidia packages), which pip finds when its configuration
points at a wheelhouse or index holding it (this machine's pip has find-links /opt/wheels), and
falls back to PyPI's `torch==2.13.0` with its CUDA dependencies (never used here) otherwise.
torch >= 2.6 loads checkpoints with `weights_only=True`, which refuses OpenNMT-py 3.5.1's pickled
options; the runs set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (the checkpoints are our own).

How our settings map to OpenNMT-py's (`onmt_config`), and what cannot match:
- Vocabulary: the run's source.model/target.model pieces, written directly as OpenNMT vocab files
  (every piece but SentencePiece's <pad>/<unk>/<s>/</s>, for which OpenNMT adds its own 4 specials):
  8,000 entries per side, the same as ours, including pieces unseen in training.
- Training pairs: our split reader and length filter (pieces + EOS <= 100 on each side, since our
  source carries an EOS too), so both train on the same pairs; OpenNMT's source has no EOS.
- bi-GRU encoder (`brnn`, hidden 2 x 256 per layer), 1-layer GRU decoder of 512 with input
  feeding and `mlp` (Bahdanau) attention of 512 units: 13,454,144 parameters, float32 (OpenNMT has
  no bfloat16 CPU option; configs/spa_eng_15min.yaml computes in mixed_bfloat16). A 2-layer encoder
  feeding a 1-layer decoder runs without an error: OpenNMT's StackedGRU decoder starts from the
  *bottom* encoder layer's final state (ours starts from the top one). `bridge: true` adds a
  learned ReLU layer on those states, the nearest thing to our tanh bridge. OpenNMT's `mlp`
  attention output has no tanh (ours has one).
- Adam lr 0.002 with 300 linear warm-up steps then inverse-sqrt decay is exactly `noam` decay with
  `learning_rate = 0.002 * sqrt(hidden_size * warmup)`; loss normalised per target token like ours
  (so the norm-5 clip applies to the same scale). Initialisation is OpenNMT's default (uniform 0.1).
- Batches of 64 sentences sorted by length within a bucket of one epoch (`bucket_size`: OpenNMT's
  default of 262,144 examples would read this corpus 9 times, ~20 s, before the first batch).
- No validation during training (ours scores dev BLEU each epoch): the budget is all training,
  counted from the trainer's launch (start-up and the first corpus pass included).
- Decoding: beam 5, batch 64, GNMT length penalty (`wu`, alpha 1.0 as in configs/spa_eng.yaml),
  length limit 1.5 x padded source length + 5 (OpenNMT's fixed offset; ours is + 10).

Reading the figures: OpenNMT logs `xent` as the label-smoothed loss (torch's CrossEntropyLoss with
label_smoothing), higher than the plain cross-entropy our toolkit reports. Target tokens are
counted as ours: real target pieces plus EOS, no padding (OpenNMT's `n_words` is the same count).
With this mapping OpenNMT logged xent 3.9 (ppl 50) at step 600, near the ~3.7 expected of it.
Torch's 2 OpenMP threads slow down badly when another process holds a core: time on a quiet machine.
"""

import argparse
import json
import math
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ONMT_VERSION = "3.5.1"
TORCH_VERSION = "2.13.0"
# OpenNMT-py 3.5.1's install_requires minus `torch<2.3,>=2.1`; its modules import most of them at start-up.
ONMT_REQUIREMENTS = ["configargparse", "ctranslate2<5,>=4", "tensorboard>=2.3", "flask", "waitress",
                     "pyonmttok<2,>=1.37", "pyyaml", "sacrebleu", "rapidfuzz", "pyahocorasick",
                     "fasttext-wheel", "spacy", "six"]
SETUP_RECORD = "seq2seq-setup.json"  # in the virtualenv: how it was installed, copied into the results
DEFAULT_WORK_DIR = Path("benchmarks/results/opennmt")
DEFAULT_OUTPUT = Path("benchmarks/results/opennmt.json")
SPEED_STEPS, QUICK_SPEED_STEPS, SPEED_WARMUP = 300, 100, 50
QUICK_MINUTES = 2
# OpenNMT cannot be told to save on a signal: the budget keeps the last checkpoint before the
# deadline, so up to SAVE_EVERY steps (~30 s here) are lost; each save (~160 MB) costs well under 1 s.
SAVE_EVERY = 25
LENGTH_PENALTY = 1.0  # configs/spa_eng.yaml's beam-5 setting (older run dirs may record the default 0)
STEP_LINE = re.compile(r"Step (?P<step>\d+)(?:/\s*\d+)?; acc:\s*(?P<acc>[\d.]+); ppl:\s*(?P<ppl>[\d.]+); "
                       r"xent:\s*(?P<xent>[\d.]+); lr:\s*(?P<lr>[\d.e+-]+); sents:\s*(?P<sents>\d+); "
                       r"bsz:\s*(?P<src_bsz>\d+)/\s*(?P<tgt_bsz>\d+)/\s*(?P<sent_bsz>\d+); "
                       r"\s*(?P<src_tok_s>\d+)/\s*(?P<tgt_tok_s>\d+) tok/s;")
SAVING_LINE = re.compile(r"Saving checkpoint (?P<path>.+_step_(?P<step>\d+)\.pt)")
TRANSLATION_TIME_LINE = re.compile(r"Total translation time \(s\): (?P<seconds>[\d.]+)")


# ---------------------------------------------------------------- the virtualenv

def default_venv_dir() -> Path:
    """Beside the corpora, in the project's cache dir: it is large (~1.5 GB) and reusable."""
    from seq2seq.paths import default_cache_dir

    return default_cache_dir() / "opennmt-venv"


def venv_executable(venv, name) -> str:
    path = Path(venv) / "bin" / name
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python -m benchmarks.opennmt_peer setup` first")
    return str(path)


def setup_venv(venv_dir=None, python=sys.executable) -> dict:
    """Create the virtualenv and install OpenNMT-py 3.5.1 on torch 2.13.0, CPU build if pip can find it."""
    venv_dir = Path(venv_dir or default_venv_dir())
    commands = []

    def run(command, check=True):
        commands.append(shlex.join(command))
        print("+", commands[-1], flush=True)
        return subprocess.run(command, check=check).returncode

    if not (venv_dir / "bin" / "python").exists():
        run([python, "-m", "venv", str(venv_dir)])
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if run([*pip, f"torch=={TORCH_VERSION}+cpu"], check=False) != 0:
        print(f"torch=={TORCH_VERSION}+cpu not found; installing PyPI's torch=={TORCH_VERSION} and its CUDA "
              "dependencies", flush=True)
        run([*pip, f"torch=={TORCH_VERSION}"])
    run([*pip, "--no-deps", f"OpenNMT-py=={ONMT_VERSION}"])
    run([*pip, *ONMT_REQUIREMENTS])  # pip then warns of the torch<2.3 conflict: expected
    result = {"venv": str(venv_dir), "versions": installed_versions(venv_dir), "commands": commands}
    (venv_dir / SETUP_RECORD).write_text(json.dumps(result, indent=2) + "\n")
    return result


def installed_versions(venv) -> dict:
    """What the virtualenv really holds, for the results file."""
    code = "import json, torch, onmt; print(json.dumps({'torch': torch.__version__, 'OpenNMT-py': onmt.__version__}))"
    output = subprocess.run([venv_executable(venv, "python"), "-W", "ignore", "-c", code], check=True,
                            capture_output=True, text=True, env=onmt_environment(1)).stdout
    return json.loads(output.strip().splitlines()[-1])


def onmt_environment(threads) -> dict:
    """Thread counts for torch's CPU kernels, and checkpoint loading that accepts OpenNMT's pickles."""
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"})
    return env


# ---------------------------------------------------------------- running OpenNMT-py

class LoggedProcess:
    """A child process whose output lines are time-stamped as they arrive and copied to a log file.

    Stamps taken here are finer than OpenNMT's whole-second log times. The child is reaped with
    wait4 (never Popen.wait/poll) to get its own peak RSS (its children's included).
    """

    def __init__(self, command, log_file, env):
        self.command = [str(part) for part in command]
        self.lines = []  # (perf_counter time, line)
        self.result = None
        self.started = time.perf_counter()
        self._log = open(log_file, "w", encoding="utf-8")
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=env, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()  # never leave a trainer running behind an error or Ctrl-C

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.perf_counter(), line.rstrip("\n")))
            self._log.write(line)
            self._log.flush()

    def poll(self, block=False):
        """Reap the child if it has ended (or wait for it, if `block`); -> the result dict or None."""
        if self.result is None:
            pid, status, usage = os.wait4(self.process.pid, 0 if block else os.WNOHANG)
            if pid:
                self.process.returncode = os.waitstatus_to_exitcode(status)
                self._reader.join(timeout=10)
                self._log.close()
                self.result = {"returncode": self.process.returncode,
                               "wall_seconds": round(time.perf_counter() - self.started, 1),
                               "peak_rss_mb": round(usage.ru_maxrss / 1024)}
        return self.result

    def stop(self, grace_seconds=10):
        """SIGTERM, then SIGKILL if it lingers (only this child, by its pid)."""
        if self.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.perf_counter() + grace_seconds
            while self.poll() is None and time.perf_counter() < deadline:
                time.sleep(0.2)
            if self.result is None:
                self.process.kill()
        return self.poll(block=True)

    def wait(self, allow_stop=False) -> dict:
        """Wait for the child; raise with its last lines if it failed."""
        result = self.poll(block=True)
        stopped = allow_stop and result["returncode"] in (-signal.SIGTERM, -signal.SIGKILL)
        if result["returncode"] != 0 and not stopped:
            tail = "\n".join(line for _, line in self.lines[-20:])
            raise RuntimeError(f"{shlex.join(self.command)} exited with {result['returncode']}:\n{tail}")
        return result


def step_reports(lines) -> list:
    """OpenNMT's `Step N; ...` log lines as dicts, each with the time its line arrived."""
    reports = []
    for stamp, line in lines:
        match = STEP_LINE.search(line)
        if match:
            report = {key: float(value) for key, value in match.groupdict().items()}
            report["step"] = int(report["step"])
            report["time"] = stamp
            reports.append(report)
    return reports


def train_command(venv, work_dir, model_prefix, steps, save_every, report_every) -> list:
    """onmt_train on the prepared config; the flags override only what differs between runs."""
    return [venv_executable(venv, "onmt_train"), "-config", Path(work_dir) / "train.yaml",
            "-save_model", model_prefix, "-train_steps", steps, "-save_checkpoint_steps", save_every,
            "-report_every", report_every]


# ---------------------------------------------------------------- prepare

def prepare(run_dir, work_dir=DEFAULT_WORK_DIR) -> dict:
    """Encode the run's training pairs and test sources into piece files, write vocab files and train.yaml."""
    from seq2seq.data.corpus import load_split
    from seq2seq.data.pipeline import encode_pairs
    from seq2seq.data.readers import SkipCounter
    from seq2seq.training.run_dir import RunDirectory
    from seq2seq.data.tokenizer import load_tokenizers

    import yaml

    run_dir, work_dir = Path(run_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    config = RunDirectory(run_dir).load_config()
    source_tokenizer, target_tokenizer = load_tokenizers(run_dir)
    skips = SkipCounter()
    train, test = load_split(config.data, "train", skips), load_split(config.data, "test", skips)
    if config.data.max_train_pairs:
        train.sources, train.targets = (side[:config.data.max_train_pairs] for side in (train.sources, train.targets))
    pairs = encode_pairs(train.sources, train.targets, source_tokenizer, target_tokenizer,
                         config.data.max_source_length, config.data.max_target_length)
    # encode_pairs appends EOS to sources, as our models read them; OpenNMT adds none.
    _write_pieces(work_dir / "train.src", source_tokenizer, (ids[:-1] for ids in pairs.sources))
    _write_pieces(work_dir / "train.tgt", target_tokenizer, pairs.targets)
    _write_pieces(work_dir / "test.src", source_tokenizer, source_tokenizer.encode(test.sources))
    (work_dir / "test.ref").write_text("".join(f"{line}\n" for line in test.targets), encoding="utf-8")
    vocab_sizes = {side: _write_vocab(work_dir / f"vocab.{side}", tokenizer.model_file)
                   for side, tokenizer in (("src", source_tokenizer), ("tgt", target_tokenizer))}
    onmt = onmt_config(config, work_dir, vocab_sizes, len(pairs))
    (work_dir / "train.yaml").write_text(yaml.safe_dump(onmt, sort_keys=False), encoding="utf-8")
    target_tokens = sum(len(ids) + 1 for ids in pairs.targets)  # + EOS, as our toolkit counts them
    info = {"run_dir": str(run_dir.resolve()), "work_dir": str(work_dir.resolve()),
            "source_model": str(source_tokenizer.model_file), "target_model": str(target_tokenizer.model_file),
            "train_pairs": len(pairs), "dropped_too_long": pairs.dropped_too_long, "skipped_rows": skips.total,
            "test_sentences": len(test.sources), "target_tokens_per_sentence": round(target_tokens / len(pairs), 3),
            "max_length_ratio": config.decode.max_length_ratio,
            "seed": config.seed, "onmt_config": onmt}
    (work_dir / "prepare.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"prepared {len(pairs)} training pairs ({pairs.dropped_too_long} too long dropped) and "
          f"{len(test.sources)} test sentences in {work_dir}", flush=True)
    return info


def _write_pieces(path, tokenizer, id_lists):
    """One sentence per line, its SentencePiece pieces joined by spaces (pieces never contain spaces)."""
    with open(path, "w", encoding="utf-8") as out:
        for ids in id_lists:
            out.write(" ".join(tokenizer.id_to_piece(ids)) + "\n")


def _write_vocab(path, model_file) -> int:
    """Every piece of the SentencePiece model except its control and unknown pieces, in id order.

    -> the model's piece count, which OpenNMT's vocabulary also reaches with its 4 specials.
    """
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(model_file))
    pieces = [processor.id_to_piece(index) for index in range(processor.get_piece_size())
              if not (processor.is_control(index) or processor.is_unknown(index))]
    Path(path).write_text("".join(f"{piece}\n" for piece in pieces), encoding="utf-8")
    return processor.get_piece_size()


def onmt_config(config, work_dir, vocab_sizes, train_pairs) -> dict:
    """The OpenNMT-py training options equivalent to our run config (see the module docstring)."""
    model, train = config.model, config.train
    unsupported = {"cell": model.cell != "gru", "attention": model.attention != "bahdanau",
                   "bidirectional": not model.bidirectional, "decay": train.decay not in ("inverse_sqrt", "none"),
                   "optimizer": train.optimizer != "adam", "tie_embeddings": model.tie_embeddings,
                   "context_gate": model.context_gate,
                   "attention_units": model.attention_units != model.decoder_units}  # mlp attention uses dec size
    if any(unsupported.values()):
        raise SystemExit(f"no OpenNMT mapping written for {[key for key, bad in unsupported.items() if bad]}")
    work_dir = Path(work_dir).resolve()
    hidden = model.decoder_units
    if model.encoder_units * 2 != hidden:
        raise SystemExit("OpenNMT's attention needs encoder outputs (2 x encoder_units) of the decoder's size")
    options = {
        "seed": config.seed,
        "src_vocab": str(work_dir / "vocab.src"), "tgt_vocab": str(work_dir / "vocab.tgt"),
        "src_vocab_size": vocab_sizes["src"], "tgt_vocab_size": vocab_sizes["tgt"],
        # OpenNMT's default bucket (262,144 examples) would read this corpus 9 times before the first
        # batch; a bucket of one epoch sorts and shuffles like our 50,000-pair shuffle buffer.
        "bucket_size": train_pairs,
        "data": {"corpus_1": {"path_src": str(work_dir / "train.src"), "path_tgt": str(work_dir / "train.tgt"),
                              "transforms": ["filtertoolong"]}},
        # A no-op after prepare's filter (our limits count an EOS on both sides; OpenNMT's count none).
        "src_seq_length": config.data.max_source_length - 1, "tgt_seq_length": config.data.max_target_length - 1,
        "model_type": "text", "encoder_type": "brnn", "decoder_type": "rnn", "rnn_type": "GRU",
        "enc_layers": model.encoder_layers, "dec_layers": model.decoder_layers,
        "enc_hid_size": hidden, "dec_hid_size": hidden, "word_vec_size": model.embedding_dim,
        "bridge": True, "global_attention": "mlp", "input_feed": 1, "dropout": [model.dropout],
        "batch_size": train.batch_size, "batch_type": "sents", "normalization": "tokens",
        "optim": "adam", "label_smoothing": train.label_smoothing, "max_grad_norm": train.clip_norm,
        # Batches are built in the trainer (no DataLoader worker processes competing for 2 cores).
        "world_size": 1, "gpu_ranks": [], "num_workers": 0, "keep_checkpoint": 3,
    }
    if train.decay == "inverse_sqrt" and train.warmup_steps:
        # noam: lr * hidden^-0.5 * min(step^-0.5, step * warmup^-1.5), which peaks at step == warmup.
        options.update({"decay_method": "noam", "warmup_steps": train.warmup_steps, "hidden_size": hidden,
                        "learning_rate": train.learning_rate * math.sqrt(hidden * train.warmup_steps)})
    else:
        options["learning_rate"] = train.learning_rate
    return options


def _prepared(work_dir) -> dict:
    path = Path(work_dir) / "prepare.json"
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python -m benchmarks.opennmt_peer prepare --run-dir RUN` first")
    return json.loads(path.read_text())


# ---------------------------------------------------------------- speed

def measure_speed(work_dir=DEFAULT_WORK_DIR, venv=None, steps=SPEED_STEPS, warmup=SPEED_WARMUP,
                  threads=2, report_every=25) -> dict:
    """Train `steps` steps and time those after `warmup`; target tokens counted as ours are (EOS in, no padding)."""
    info, venv = _prepared(work_dir), venv or default_venv_dir()
    run_dir = Path(work_dir) / "speed"
    run_dir.mkdir(exist_ok=True)
    command = train_command(venv, work_dir, run_dir / "model", steps, steps, report_every)
    with LoggedProcess(command, run_dir / "train.log", onmt_environment(threads)) as process:
        result = process.wait()
    for checkpoint in run_dir.glob("model_step_*.pt"):
        checkpoint.unlink()  # the final save; not needed
    reports = step_reports(process.lines)
    timed = [report for report in reports if report["step"] > warmup]
    start = next((report for report in reversed(reports) if report["step"] <= warmup), None)
    if not timed or start is None:
        raise RuntimeError(f"too few step reports in {run_dir / 'train.log'} to time steps {warmup}..{steps}")
    seconds = timed[-1]["time"] - start["time"]
    timed_steps = timed[-1]["step"] - start["step"]
    logged_tokens = sum(report["tgt_bsz"] * report_every for report in timed)  # OpenNMT's per-batch mean, rounded
    return {
        "steps": steps, "warmup_steps_excluded": start["step"], "timed_steps": timed_steps,
        "timed_seconds": round(seconds, 2), "steps_per_second": round(timed_steps / seconds, 3),
        "sentences_per_second": round(timed_steps * info["onmt_config"]["batch_size"] / seconds, 1),
        # Our convention (EpochClock): steps x batch x mean target pieces + EOS per training sentence.
        "target_tokens_per_second": round(timed_steps * info["onmt_config"]["batch_size"]
                                          * info["target_tokens_per_sentence"] / seconds, 1),
        # The same count from OpenNMT's own logged batch sizes (exact for the batches it drew).
        "target_tokens_per_second_logged_batches": round(logged_tokens / seconds, 1),
        "onmt_reported_tgt_tok_s": [int(report["tgt_tok_s"]) for report in timed],
        "xent_by_step": {report["step"]: report["xent"] for report in reports},
        "peak_rss_mb": result["peak_rss_mb"], "process_wall_seconds": result["wall_seconds"],
        "threads": threads, "command": shlex.join(process.command),
    }


# ---------------------------------------------------------------- budget

def train_for_budget(work_dir=DEFAULT_WORK_DIR, venv=None, minutes=15.0, save_every=SAVE_EVERY, threads=2,
                     report_every=25) -> dict:
    """Train until `minutes` of wall time (from launch) have passed; keep the last checkpoint saved by then.

    OpenNMT saves only every `save_every` steps, so up to that many steps before the budget are
    lost; a checkpoint cut off mid-write by the stop is detected and its predecessor used.
    """
    venv = venv or default_venv_dir()
    run_dir = Path(work_dir) / "budget"
    run_dir.mkdir(exist_ok=True)
    for stale in run_dir.glob("model_step_*.pt"):
        stale.unlink()
    command = train_command(venv, work_dir, run_dir / "model", 10_000_000, save_every, report_every)
    with LoggedProcess(command, run_dir / "train.log", onmt_environment(threads)) as process:
        deadline = process.started + minutes * 60
        while process.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.5)
        stopped_at = time.perf_counter()
        process.stop()
        result = process.wait(allow_stop=True)
    reports = step_reports(process.lines)
    in_budget = [report for report in reports if report["time"] <= stopped_at]
    checkpoint = _last_complete_checkpoint(process.lines, venv)
    if checkpoint is None:
        raise RuntimeError(f"no checkpoint was saved within {minutes} minutes; lower --save-every")
    return {
        "minutes": minutes, "save_every": save_every,
        # The furthest step known to be done by the deadline (reports come every `report_every` steps).
        "steps_at_budget": max(in_budget[-1]["step"] if in_budget else 0, checkpoint[1]),
        "checkpoint": str(checkpoint[0]), "checkpoint_step": checkpoint[1],
        "checkpoint_seconds_after_launch": round(checkpoint[2] - process.started, 1),
        "seconds_to_first_report": round(reports[0]["time"] - process.started, 1) if reports else None,
        "last_xent": in_budget[-1]["xent"] if in_budget else None,
        "xent_by_step": {report["step"]: report["xent"] for report in in_budget},
        "peak_rss_mb": result["peak_rss_mb"], "threads": threads, "command": shlex.join(process.command),
    }


def _last_complete_checkpoint(lines, venv):
    """(path, step, time saved) of the newest checkpoint that is whole, or None.

    A save is synchronous, so any line logged after a `Saving checkpoint` line proves that file is
    whole; the newest one may have been interrupted by the stop, so it has to load to count.
    """
    saves = [(stamp, index, SAVING_LINE.search(line)) for index, (stamp, line) in enumerate(lines)]
    saves = [(stamp, index, match) for stamp, index, match in saves if match]
    for stamp, index, match in reversed(saves):
        path = Path(match["path"])
        if not path.exists():
            continue  # rotated away by keep_checkpoint
        if index < len(lines) - 1 or _loads(path, venv):
            return path, int(match["step"]), stamp
    return None


def _loads(path, venv) -> bool:
    code = f"import torch; torch.load({str(path)!r}, map_location='cpu', weights_only=False)"
    return subprocess.run([venv_executable(venv, "python"), "-c", code], capture_output=True,
                          env=onmt_environment(1)).returncode == 0


def translate_and_score(checkpoint, work_dir=DEFAULT_WORK_DIR, venv=None, threads=2, beam_size=5, batch_size=64,
                        length_penalty=LENGTH_PENALTY) -> dict:
    """Translate the test split with OpenNMT, decode pieces with the run's target.model, score BLEU."""
    import sentencepiece as spm
    from sacrebleu.metrics import BLEU

    info, venv = _prepared(work_dir), venv or default_venv_dir()
    work_dir = Path(work_dir)
    output = work_dir / "budget" / "test.hyp.pieces"
    command = [venv_executable(venv, "onmt_translate"), "-model", checkpoint, "-src", work_dir / "test.src",
               "-output", output, "-gpu", "-1", "-beam_size", beam_size, "-batch_size", batch_size,
               "-batch_type", "sents", "-max_length_ratio", info["max_length_ratio"], "-length_penalty", "wu",
               "-alpha", length_penalty, "-seed", info["seed"], "-report_time"]
    with LoggedProcess(command, work_dir / "budget" / "translate.log", onmt_environment(threads)) as process:
        result = process.wait()
    times = [TRANSLATION_TIME_LINE.search(line) for _, line in process.lines]
    translation_seconds = next((float(match["seconds"]) for match in times if match), None)
    target = spm.SentencePieceProcessor(model_file=info["target_model"])
    hypotheses = [target.decode_pieces(line.split()) for line in output.read_text(encoding="utf-8").splitlines()]
    (work_dir / "budget" / "test.hyp").write_text("".join(f"{line}\n" for line in hypotheses), encoding="utf-8")
    references = (work_dir / "test.ref").read_text(encoding="utf-8").splitlines()
    bleu = BLEU()
    score = bleu.corpus_score(hypotheses, [references])
    sentences = len(hypotheses)
    return {
        "beam_size": beam_size, "batch_size": batch_size, "length_penalty": length_penalty,
        "sentences": sentences, "bleu": round(score.score, 2), "bleu_signature": str(bleu.get_signature()),
        # OpenNMT's `report_time` total covers the translation loop only (model loading excluded),
        # printed to 0.1 s; the process wall time includes start-up and model loading.
        "translation_seconds": translation_seconds,
        "sentences_per_second": round(sentences / translation_seconds, 2) if translation_seconds else None,
        "process_wall_seconds": result["wall_seconds"],
        "sentences_per_second_process_wall": round(sentences / result["wall_seconds"], 2),
        "peak_rss_mb": result["peak_rss_mb"], "threads": threads, "command": shlex.join(process.command),
    }


def run_budget(work_dir=DEFAULT_WORK_DIR, venv=None, minutes=15.0, save_every=SAVE_EVERY, threads=2) -> dict:
    """Train for the budget, then decode and score the test split with the last checkpoint."""
    training = train_for_budget(work_dir, venv, minutes, save_every, threads)
    return {"training": training, "test": translate_and_score(training["checkpoint"], work_dir, venv, threads)}


# ---------------------------------------------------------------- everything, and the results file

def run_peer(run_dir, work_dir=DEFAULT_WORK_DIR, minutes=15.0, quick=False, venv=None,
             output=DEFAULT_OUTPUT, threads=2, save_every=SAVE_EVERY) -> dict:
    """prepare + speed + budget, results merged into `output` and returned.

    `quick` is a smoke test: 100 speed steps and a 2-minute budget saving every 10 steps.
    """
    prepare(run_dir, work_dir)
    steps = QUICK_SPEED_STEPS if quick else SPEED_STEPS
    minutes, save_every = (QUICK_MINUTES, min(save_every, 10)) if quick else (minutes, save_every)
    results = {"speed": measure_speed(work_dir, venv, steps, threads=threads),
               "budget": run_budget(work_dir, venv, minutes, save_every, threads)}
    return record(results, work_dir, venv, output, threads)


def record(section, work_dir, venv, output, threads=2) -> dict:
    """Merge `section` into the results file, with versions, machine and preparation facts."""
    output = Path(output) if output else None
    results = json.loads(output.read_text()) if output and output.exists() else {}
    info, venv = _prepared(work_dir), Path(venv or default_venv_dir())
    results.update(section)
    commands = {"speed": results.get("speed", {}).get("command"),
                "budget_train": results.get("budget", {}).get("training", {}).get("command"),
                "budget_translate": results.get("budget", {}).get("test", {}).get("command")}
    results.update({
        "peer": "OpenNMT-py", "versions": installed_versions(venv),
        "setup": json.loads((venv / SETUP_RECORD).read_text()) if (venv / SETUP_RECORD).exists() else None,
        "machine": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
        "prepare": {key: value for key, value in info.items() if key != "onmt_config"},
        "onmt_config": info["onmt_config"], "commands": {key: value for key, value in commands.items() if value},
        "environment": {key: value for key, value in onmt_environment(threads).items()
                        if key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")},
        "caveat": "timings are upper bounds when the cores are shared with other work",
    })
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["setup", "prepare", "speed", "budget", "all"])
    parser.add_argument("--run-dir", type=Path, help="our run: config + tokenizer models (prepare, all)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--venv", type=Path, default=None, help="default: <seq2seq cache dir>/opennmt-venv")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--steps", type=int, default=SPEED_STEPS, help="speed: training steps (first 50 untimed)")
    parser.add_argument("--minutes", type=float, default=15.0, help="budget: training wall time")
    parser.add_argument("--save-every", type=int, default=SAVE_EVERY, help="budget: checkpoint every N steps")
    parser.add_argument("--quick", action="store_true", help=f"speed: {QUICK_SPEED_STEPS} steps; all: also a "
                        f"{QUICK_MINUTES}-minute budget")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command in ("prepare", "all") and args.run_dir is None:
        parser.error(f"{args.command} needs --run-dir: the run whose config and tokenizers the peer shares")
    if args.command == "setup":
        print(json.dumps(setup_venv(args.venv), indent=2))
        return
    if args.command == "prepare":
        prepare(args.run_dir, args.work_dir)
        return
    if args.command == "all":
        results = run_peer(args.run_dir, args.work_dir, args.minutes, args.quick, args.venv, args.output, args.threads,
                           args.save_every)
    elif args.command == "speed":
        steps = QUICK_SPEED_STEPS if args.quick else args.steps
        results = record({"speed": measure_speed(args.work_dir, args.venv, steps, threads=args.threads)},
                         args.work_dir, args.venv, args.output, args.threads)
    else:
        results = record({"budget": run_budget(args.work_dir, args.venv, args.minutes, args.save_every, args.threads)},
                         args.work_dir, args.venv, args.output, args.threads)
    print(json.dumps({key: results[key] for key in ("speed", "budget", "versions") if key in results}, indent=2))


if __name__ == "__main__":
    main()
