"""The translation verbs: `seq2seq translate` and `seq2seq export`."""

from pathlib import Path

from seq2seq.cli_options import (add_decode_options, add_model_options, add_text_arguments, decode_settings,
                                 texts_from, write_lines)


def add_commands(commands):
    translate = commands.add_parser("translate", help="translate sentences with a trained run")
    add_text_arguments(translate, "a run directory made by `seq2seq train`", "sentences to translate", "sentence",
                       "translations")
    add_model_options(translate)
    add_decode_options(translate)
    translate.set_defaults(command=_translate)

    export = commands.add_parser("export", help="write a TensorFlow SavedModel: strings in, translations out")
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a translation run directory")
    export.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write the SavedModel")
    add_model_options(export, ensemble=False)
    add_decode_options(export, exclude=("n_best", "batch_size"))  # the signature returns one text per input
    export.set_defaults(command=_export)


def _translate(args):
    from seq2seq.tasks.translation.translator import Translator, moses_nbest_lines

    sentences = texts_from(args)
    translator = Translator.load(args.run_dir, model_file=args.model_file, ensemble=args.ensemble,
                                 **decode_settings(args))
    results = translator.translate_with_details(sentences, with_attention=False)
    if translator.decode_config.n_best > 1:
        lines = moses_nbest_lines(results)
    else:
        lines = [result.text for result in results]
    write_lines(lines, args.output)


def _export(args):
    from seq2seq.tasks.translation.export import export_run

    export_run(args.run_dir, args.out_dir, model_file=args.model_file, **decode_settings(args))
