"""The classification verb: `seq2seq classify RUN_DIR "text" ...`, or `RUN_DIR image.png ...` for an image
classification run (any task whose predictor can `classify`)."""

from seq2seq.cli_options import add_model_options, add_text_arguments, texts_from, write_lines


def add_commands(commands):
    classify = commands.add_parser("classify", help="label texts (or images) with a trained classification run")
    add_text_arguments(classify, "a classification or image classification run directory",
                       "texts to classify (image files for an image run)", "text (or image file)", "the labels")
    classify.add_argument("--top-k", type=int, metavar="K", help="print each text's K most probable labels as "
                          "label<TAB>probability pairs on its line (default: its most probable label alone)")
    add_model_options(classify, ensemble=False)
    classify.set_defaults(command=_classify)


def _classify(args):
    """Serve the run with its own task's predictor, so any task whose predictor can `classify` (text
    today, images later) shares this verb."""
    from seq2seq.errors import Seq2SeqError
    from seq2seq.tasks import task_named
    from seq2seq.tasks.base import import_reference
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(args.run_dir)
    task = task_named(run.load_config().task, str(run.config_file))
    if not hasattr(import_reference(task.predictor), "classify"):
        raise Seq2SeqError(f"{run.path} is a {task.name} run, and `seq2seq classify` needs a classification run; "
                           "`seq2seq --help` lists each task's own command")
    inputs = texts_from(args, what="text to classify", verb="classify")
    predictor = task.load_predictor(run.path, model_file=args.model_file)
    results = predictor.classify(inputs, top_k=1 if args.top_k is None else args.top_k)
    if args.top_k is None:
        lines = [result.label for result in results]
    else:
        lines = ["\t".join(f"{label}\t{probability:.4f}" for label, probability in result.top) for result in results]
    write_lines(lines, args.output)
