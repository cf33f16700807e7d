"""`seq2seq serve` under load, on loopback: throughput, latency, memory, and malformed requests mixed in.

    python -m benchmarks.serving RUN [--requests 3000] [--clients 1 8 32] [--malformed 1000]

The service runs as its own process (`python -m seq2seq.cli serve RUN --port P`, greedy, its default
batching). Each client is an asyncio task with its own connection that sends one test-split sentence per
request, waiting for each answer before sending the next; `--requests` requests per client count,
the last count with `--malformed` bad requests mixed in (broken JSON, wrong types, unknown fields, empty
or over-long sentences, bytes that are not UTF-8). The server's resident memory is sampled every second.
The offline reference is `seq2seq translate RUN --input FILE` on the same sentences, its start-up
(a one-line run) subtracted. Results: `benchmarks/results/serving.json` (or `--output`).
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.memory import resident_mb
from benchmarks.run import commit, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "serving.json"
MALFORMED = [b'{"sentences": ["a"', b'{"sentences": "a"}', b'{"sentences": [1]}', b'{"sentence": ["a"]}',
             b'{"sentences": []}', b'{"sentences": ["  "]}', b'{"sentences": ["a"], "beam_size": -1}',
             '{"sentences": ["\xe1"]}'.encode("latin-1"), json.dumps({"sentences": ["x" * 5000]}).encode()]


def test_sentences():
    from seq2seq.data.bible import bible_corpus_dir

    return [line for line in (bible_corpus_dir() / "test.es").read_text(encoding="utf-8").splitlines() if line]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def offline_sentences_per_second(run_dir, sentences):
    """`seq2seq translate --input` on the sentences, less the start-up and tracing of a one-line run."""
    def timed(lines):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "seq2seq.cli", "translate", str(run_dir), "--input", handle.name],
                           check=True, capture_output=True)
            return time.perf_counter() - started

    return len(sentences) / (timed(sentences) - timed(sentences[:1]))


async def load(url, sentences, clients, requests, malformed, seed=0):
    """`clients` concurrent clients sending `requests` requests in all -> latencies and status counts."""
    order = random.Random(seed)
    bodies = [json.dumps({"sentences": [order.choice(sentences)]}).encode() for _ in range(requests)]
    bodies += [order.choice(MALFORMED) for _ in range(malformed)]
    order.shuffle(bodies)
    queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies, statuses = [], {}

    async def client():
        async with httpx.AsyncClient(base_url=url, timeout=120) as connection:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                answer = await connection.post("/translate", content=body, headers={"content-type": "application/json"})
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code == 200:
                    latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, sorted(latencies), statuses


def cpu_seconds(pid):
    """User and system CPU time of a process so far (from /proc/PID/stat): 2.0 per second is two busy cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--requests", type=int, default=3000, help="requests per client count (3 x 3000 + 1000 bad: 10,000)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--malformed", type=int, default=1000, help="bad requests mixed into the last client count")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sentences = test_sentences()
    offline = offline_sentences_per_second(args.run_dir, sentences)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "seq2seq.cli", "serve", str(args.run_dir), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    memory, running = [], True

    def sample():
        started = time.perf_counter()
        while running:
            memory.append((round(time.perf_counter() - started, 1), resident_mb(server.pid)))
            time.sleep(1)

    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the service did not start")
            time.sleep(0.5)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        runs = []
        for index, clients in enumerate(args.clients):
            bad = args.malformed if index == len(args.clients) - 1 else 0
            batches_before, cpu_before = httpx.get(f"{url}/health").json()["batches"], cpu_seconds(server.pid)
            seconds, latencies, statuses = asyncio.run(load(url, sentences, clients, args.requests, bad))
            batches = httpx.get(f"{url}/health").json()["batches"] - batches_before
            runs.append({"clients": clients, "requests": args.requests, "malformed": bad, "seconds": round(seconds, 1),
                         "sentences_per_batch": round(len(latencies) / batches, 1),
                         "server_cpu_share": round((cpu_seconds(server.pid) - cpu_before) / seconds, 2),
                         "sentences_per_second": round(len(latencies) / seconds, 1),
                         "ratio_to_offline": round(len(latencies) / seconds / offline, 2),
                         "p50_ms": round(1000 * percentile(latencies, 0.5), 1),
                         "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
                         "statuses": {str(code): count for code, count in sorted(statuses.items())},
                         "server_errors": sum(count for code, count in statuses.items() if code >= 500)})
            print(json.dumps(runs[-1]), flush=True)
        alive = server.poll() is None and httpx.get(f"{url}/health", timeout=5).status_code == 200
    finally:
        running = False
        server.terminate()
        server.wait(timeout=120)
    rss = [mb for _, mb in memory if mb]
    result = {"run_dir": str(args.run_dir), "offline_sentences_per_second": round(offline, 1), "runs": runs,
              "alive_after": alive, "server_rss_mb": {"first": rss[0], "peak": max(rss), "last": rss[-1]},
              "memory_samples": memory, "machine": machine(), "commit": commit(),
              "date": time.strftime("%Y-%m-%d %H:%M")}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"offline {offline:.1f} sentences/s; server RSS first {rss[0]:.0f} MB, peak {max(rss):.0f}, "
          f"last {rss[-1]:.0f}; alive after: {alive}")


if __name__ == "__main__":
    main()
