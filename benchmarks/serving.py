"""`seq2seq serve` under load, on loopback: throughput, latency, memory, and malformed requests mixed in.

    python -m benchmarks.serving RUN [--clients 1 8 32] [--seconds 40] [--requests 3000] [--malformed 1000]

The service runs as its own process (`python -m seq2seq.cli serve RUN --port P`, greedy, its default
batching). Each client holds one connection and sends one test-split sentence per request, the next
when the answer comes. The load comes from Debian's `wrk` (`apt-get install wrk`: one C thread, so the
load generator takes little of the CPU the service and the offline reference compete for), `--seconds`
per client count; without wrk, or with `--generator httpx`, from asyncio httpx clients, `--requests`
per client count. Then a fault phase: 32 httpx clients send `--requests` good requests with
`--malformed` bad ones mixed in (broken JSON, wrong types, unknown fields, empty or over-long
sentences, bytes that are not UTF-8), every status counted. The server's resident memory is sampled
every second throughout. The offline reference is `seq2seq translate RUN --input FILE` on the same
sentences, its start-up (a one-line run) subtracted. Results: `benchmarks/results/serving.json` (or
`--output`).
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
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


def request_bodies(sentences, count, malformed=0, seed=0):
    order = random.Random(seed)
    bodies = [json.dumps({"sentences": [order.choice(sentences)]}).encode() for _ in range(count)]
    bodies += [order.choice(MALFORMED) for _ in range(malformed)]
    order.shuffle(bodies)
    return bodies


def wrk_load(url, sentences, clients, seconds):
    """`wrk` with `clients` connections for `seconds` -> (requests answered 2xx, seconds, p50 s, p99 s, statuses)."""
    bodies = request_bodies(sentences, 2000)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8") as script:
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n')
        script.write(",\n".join(f"[==[{body.decode()}]==]" for body in bodies))
        script.write('}\nlocal sent = 0\nrequest = function()\n  sent = sent + 1\n'
                     '  return wrk.format(nil, "/translate", nil, bodies[sent % #bodies + 1])\nend\n')
        script.flush()
        report = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "--latency",
                                 "-s", script.name, url], check=True, capture_output=True, text=True).stdout
    answered, took, unit = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m),", report).groups()
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    non_2xx = int(match.group(1)) if match else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    statuses = {"2xx": int(answered) - non_2xx, "other": non_2xx,  # wrk tells no more: every request is valid
                "socket_errors": sum(map(int, sockets.groups())) if sockets else 0}
    return (int(answered) - non_2xx, float(took) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[unit], _wrk_seconds(report, "50%"),
            _wrk_seconds(report, "99%"), statuses)


def _wrk_seconds(report, percentile_label):
    value, unit = re.search(rf"^\s*{percentile_label}\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def httpx_load(url, sentences, clients, requests, malformed):
    """asyncio httpx clients -> (requests answered 200, seconds, p50 s, p99 s, {status: count})."""
    seconds, latencies, statuses = asyncio.run(load(url, sentences, clients, requests, malformed))
    return (len(latencies), seconds, percentile(latencies, 0.5), percentile(latencies, 0.99),
            {str(code): count for code, count in sorted(statuses.items())})


async def load(url, sentences, clients, requests, malformed, seed=0):
    """`clients` concurrent clients sending `requests` requests in all -> latencies and status counts."""
    bodies = request_bodies(sentences, requests, malformed, seed)
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


def measured(url, server_pid, offline, described, phase):
    """Run one load `phase` (-> answered, seconds, p50 s, p99 s, statuses) and describe it for the results."""
    batches_before, cpu_before = httpx.get(f"{url}/health").json()["batches"], cpu_seconds(server_pid)
    answered, seconds, p50, p99, statuses = phase()
    batches = httpx.get(f"{url}/health").json()["batches"] - batches_before
    result = {**described, "answered": answered, "seconds": round(seconds, 1),
              "sentences_per_batch": round(answered / batches, 1),
              "server_cpu_share": round((cpu_seconds(server_pid) - cpu_before) / seconds, 2),
              "sentences_per_second": round(answered / seconds, 1),
              "ratio_to_offline": round(answered / seconds / offline, 2),
              "p50_ms": round(1000 * p50, 1), "p99_ms": round(1000 * p99, 1), "statuses": statuses,
              "failed": sum(count for code, count in statuses.items()  # 5xx; with wrk, any non-2xx or socket error
                            if code.startswith("5") or code in ("other", "socket_errors"))}
    print(json.dumps(result), flush=True)
    return result


def cpu_seconds(pid):
    """User and system CPU time of a process so far (from /proc/PID/stat): 2.0 per second is two busy cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--generator", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--seconds", type=int, default=40, help="per client count, with wrk (default 40)")
    parser.add_argument("--requests", type=int, default=3000, help="per client count with httpx, and good requests of "
                        "the fault phase (default 3000)")
    parser.add_argument("--malformed", type=int, default=1000, help="bad requests of the fault phase (default 1000)")
    parser.add_argument("--batch-wait", type=float, help="the service's --batch-wait (default: its own default)")
    parser.add_argument("--searches", type=int, help="the service's --searches (default: its own default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sentences = test_sentences()
    offline = offline_sentences_per_second(args.run_dir, sentences)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    batching = [part for flag, value in (("--batch-wait", args.batch_wait), ("--searches", args.searches))
                if value is not None for part in (flag, str(value))]
    server = subprocess.Popen([sys.executable, "-m", "seq2seq.cli", "serve", str(args.run_dir), "--port", str(port),
                               *batching], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        for clients in args.clients:
            if args.generator == "wrk":
                phase = lambda: wrk_load(url, sentences, clients, args.seconds)  # noqa: E731
            else:
                phase = lambda: httpx_load(url, sentences, clients, args.requests, 0)  # noqa: E731
            runs.append(measured(url, server.pid, offline, {"clients": clients, "generator": args.generator}, phase))
        runs.append(measured(url, server.pid, offline, {"clients": 32, "generator": "httpx", "malformed": args.malformed},
                             lambda: httpx_load(url, sentences, 32, args.requests, args.malformed)))
        alive = server.poll() is None and httpx.get(f"{url}/health", timeout=5).status_code == 200
    finally:
        running = False
        server.terminate()
        server.wait(timeout=120)
    rss = [mb for _, mb in memory if mb]
    result = {"run_dir": str(args.run_dir), "batch_wait": args.batch_wait, "searches": args.searches,
              "offline_sentences_per_second": round(offline, 1), "runs": runs,
              "alive_after": alive, "server_rss_mb": {"first": rss[0], "peak": max(rss), "last": rss[-1]},
              "memory_samples": memory, "machine": machine(), "commit": commit(),
              "date": time.strftime("%Y-%m-%d %H:%M")}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"offline {offline:.1f} sentences/s; server RSS first {rss[0]:.0f} MB, peak {max(rss):.0f}, "
          f"last {rss[-1]:.0f}; alive after: {alive}")


if __name__ == "__main__":
    main()
