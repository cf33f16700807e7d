"""What the command-line verbs of every task share: option groups, and reading and writing lines.

Kept apart from `seq2seq.cli` so a task's own verbs (registered from its folder) use the same
flags and the same input rules as every other verb, without importing the command's dispatcher.
"""

import os
import select
import sys
from pathlib import Path

DECODE_OPTIONS = (
    # flag, config key, type, metavar, help
    ("--beam-size", "beam_size", int, "K", "beam width; 1 is greedy search"),
    ("--n-best", "n_best", int, "N", "hypotheses to output per input (at most the beam size; samples with --sample)"),
    ("--length-penalty", "length_penalty", float, "ALPHA", "GNMT length penalty alpha (0: none; 0.6-1.0 is usual)"),
    ("--coverage-penalty", "coverage_penalty", float, "BETA", "GNMT coverage penalty beta (0: none)"),
    ("--temperature", "temperature", float, "T", "sampling temperature"),
    ("--top-k", "top_k", int, "K", "sample among the k most likely tokens (0: all)"),
    ("--seed", "seed", int, "S", "sampling seed"),
    ("--batch-size", "batch_size", int, "N", "inputs decoded together"),
    ("--precision", "precision", str, "DTYPE", "compute dtype: auto (for this machine), float32, mixed_bfloat16, "
     "mixed_float16"),
)


def add_text_arguments(parser, run_kind, texts, unit, results):
    """RUN_DIR, then the texts: as arguments, else from `--input` or stdin; results to `--output` or
    stdout. Every verb that reads texts takes them the same way (`texts_from`, `write_lines`)."""
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help=run_kind)
    parser.add_argument("text", nargs="*", help=f"{texts} (default: read --input or stdin)")
    parser.add_argument("--input", "-i", type=Path, help=f"file with one {unit} per line ('-' for stdin)")
    parser.add_argument("--output", "-o", type=Path, help=f"write {results} here instead of stdout")


def add_decode_options(parser, exclude=()):
    """Flags that change the run's `decode:` settings for this command only."""
    group = parser.add_argument_group("search (defaults: the run's decode: settings)")
    for flag, key, kind, metavar, text in DECODE_OPTIONS:
        if key not in exclude:
            group.add_argument(flag, dest=f"decode_{key}", type=kind, metavar=metavar, help=text)
    group.add_argument("--sample", dest="decode_sample", action="store_const", const=True,
                       help="sample outputs instead of searching for the best")


def add_shortlist_options(parser):
    """Translation's vocabulary shortlist (`decode.shortlist`, seq2seq.search.shortlist)."""
    group = parser.add_argument_group("vocabulary shortlist (translation)")
    group.add_argument("--shortlist", dest="decode_shortlist", action="store_const", const=True,
                       help="score only the target pieces likely for each batch's sources (faster)")
    group.add_argument("--no-shortlist", dest="decode_shortlist", action="store_const", const=False,
                       help="score every target piece, whatever the run's decode.shortlist")
    group.add_argument("--shortlist-per-piece", dest="decode_shortlist_per_piece", type=int, metavar="K",
                       help="candidates per source piece (default: the run's decode.shortlist_per_piece)")
    group.add_argument("--shortlist-frequent", dest="decode_shortlist_frequent", type=int, metavar="N",
                       help="most frequent target pieces always scored (default: decode.shortlist_frequent)")


def add_model_options(parser, ensemble=True):
    """`--model` (another model file of the run) and, where a task can decode several, `--ensemble`."""
    group = parser.add_argument_group("which model")
    group.add_argument("--model", dest="model_file", type=Path,
                       help="model file to use instead of RUN_DIR/model.keras, e.g. one made by `seq2seq average`")
    if ensemble:
        group.add_argument("--ensemble", action="append", default=[], type=Path, metavar="RUN_DIR",
                           help="decode with this run's model too, averaging probabilities (repeatable)")


def decode_settings(args) -> dict:
    """Only the decode flags given, as DecodeConfig field changes."""
    prefix = "decode_"
    return {key[len(prefix):]: value for key, value in vars(args).items()
            if key.startswith(prefix) and value is not None}


def write_lines(lines, path):
    """Output lines to `path` (--output) or stdout."""
    text = "\n".join(lines) + "\n"
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def read_lines(path, what="sentence to translate"):
    """One input per line from a file or stdin; a blank line is an error, so output lines stay aligned."""
    from seq2seq.errors import DataError

    name = "<stdin>" if path is None or str(path) == "-" else path
    try:
        data = sys.stdin.buffer.read() if name == "<stdin>" else path.read_bytes()
        lines = data.decode("utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(name, None, "file not found") from None
    except OSError as error:  # a folder, a loop of links, a name too long for the file system
        raise DataError(name, None, f"cannot read it: {error.strerror}") from None
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DataError(name, line, "not valid UTF-8; convert the file to UTF-8") from None
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(name, number, f"empty line: every line must hold a {what}")
    return [line.strip() for line in lines]


def texts_from(args, what="sentence to translate", verb="translate"):
    """The texts a verb was given: on the command line, else from --input or stdin; never none."""
    from seq2seq.errors import Seq2SeqError

    texts = args.text or read_lines(args.input, what)
    if not texts:
        raise Seq2SeqError(f"nothing to {verb}: give text, --input FILE, or text on stdin")
    return texts


def reads_a_stream(args) -> bool:
    """No texts and no --input file: the verb reads standard input as it comes (a pipe, or a terminal)."""
    return not args.text and (args.input is None or str(args.input) == "-") and args.output is None


def stdin_line_batches(max_lines, stream=None):
    """Lines of standard input as they arrive, in batches of what is already there (at most `max_lines`).

    `tail -f log | seq2seq translate RUN` gets each line translated as soon as it is written, while
    `cat big.txt | seq2seq translate RUN` still gets full batches. Yields (number of the first line,
    lines); a line that is not UTF-8 is an error naming it.
    """
    from seq2seq.errors import DataError

    descriptor = (stream or sys.stdin).fileno()
    pending, number, is_open = b"", 1, True
    while is_open:
        chunk = os.read(descriptor, 1 << 16)  # waits for input
        is_open, pending = bool(chunk), pending + chunk
        while is_open and pending.count(b"\n") < max_lines and select.select([descriptor], [], [], 0)[0]:
            chunk = os.read(descriptor, 1 << 16)  # and takes what else is already there
            is_open, pending = bool(chunk), pending + chunk
        *complete, pending = pending.split(b"\n")
        if not is_open and pending:
            complete, pending = [*complete, pending], b""
        for start in range(0, len(complete), max_lines):
            lines = []
            for offset, raw in enumerate(complete[start:start + max_lines]):
                try:
                    lines.append(raw.decode("utf-8").rstrip("\r"))
                except UnicodeDecodeError:
                    raise DataError("<stdin>", number + start + offset, "not valid UTF-8") from None
            yield number + start, lines
        number += len(complete)
