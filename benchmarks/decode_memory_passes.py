"""Where a decoding process's memory grows: its resident set and Python's own heap after each pass.

    python -m benchmarks.decode_memory_passes RUN [--passes 6] [--split test] [--set beam_size=1]
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=8 python -m benchmarks.decode_memory_passes RUN

One `Translator` translates the split again and again. Python's heap is traced with `tracemalloc`, so
a resident set that grows while the traced heap stays flat grows in native code (TensorFlow, oneDNN).
"""

import argparse
import json
import re
import tracemalloc
from pathlib import Path


def resident_mb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) // 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--split", default="test")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="decode settings, e.g. beam_size=5")
    args = parser.parse_args()

    from seq2seq.config import parse_override
    from seq2seq.data.corpus import load_split
    from seq2seq.tasks.translation.translator import Translator
    from seq2seq.training.run_dir import RunDirectory

    settings = {keys[-1]: value for keys, value in map(parse_override, args.set)}
    sources = load_split(RunDirectory(args.run_dir).load_config().data, args.split).sources
    translator = Translator.load(args.run_dir, **settings)
    translator.translate(sources[:64])  # traced before the first measurement
    tracemalloc.start()
    for number in range(1, args.passes + 1):
        translator.translate(sources)
        print(json.dumps({"pass": number, "resident_mb": resident_mb(),
                          "python_heap_mb": round(tracemalloc.get_traced_memory()[0] / 1e6, 1)}), flush=True)


if __name__ == "__main__":
    main()
