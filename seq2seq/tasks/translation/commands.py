"""The translation verbs: `seq2seq translate` and `seq2seq export`."""

import sys
from pathlib import Path


from seq2seq.cli_options import (add_decode_options, add_model_options, add_shortlist_options, add_text_arguments,
                                 decode_settings, reads_a_stream, stdin_line_batches, texts_from, write_lines)


def add_commands(commands):
    translate = commands.add_parser("translate", help="translate sentences with a trained run")
    add_text_arguments(translate, "a run directory made by `seq2seq train`", "sentences to translate", "sentence",
                       "translations")
    add_model_options(translate)
    add_decode_options(translate)
    add_shortlist_options(translate)
    translate.set_defaults(command=_translate)

    export = commands.add_parser("export", help="write a TensorFlow SavedModel: strings in, translations out")
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a translation run directory")
    export.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write the SavedModel")
    add_model_options(export, ensemble=False)
    add_decode_options(export, exclude=("n_best", "batch_size"))  # the signature returns one text per input
    add_shortlist_options(export)
    export.set_defaults(command=_export)



def _translate(args):
    """Texts from the arguments or a file at once; from standard input as they come (a pipe streams,
    a terminal prompts), each result written and flushed as soon as it is ready."""
    from seq2seq.tasks.translation.translator import Translator, moses_nbest_lines

    translator = Translator.load(args.run_dir, model_file=args.model_file, ensemble=args.ensemble,
                                 **decode_settings(args))

    def outputs(sentences, numbers):
        """Each sentence's output: its translation, or with n-best its Moses lines (numbered by input line)."""
        results = translator.translate_with_details(sentences, with_attention=False)
        if translator.decode_config.n_best > 1:
            return ["\n".join(moses_nbest_lines([result], number)) for result, number in zip(results, numbers)]
        return [result.text for result in results]

    if reads_a_stream(args) and sys.stdin.isatty():
        _prompt(outputs)
    elif reads_a_stream(args) and _has_descriptor(sys.stdin):
        _stream(outputs, translator.decode_config.batch_size)
    else:
        sentences = texts_from(args)
        write_lines(outputs(sentences, range(len(sentences))), args.output)


def _stream(outputs, batch_size):
    """A blank input line gets a blank output line, so outputs stay aligned with the inputs."""
    for first, lines in stdin_line_batches(batch_size):
        numbered = [(first - 1 + offset, line.strip()) for offset, line in enumerate(lines) if line.strip()]
        translated = iter(outputs([sentence for _, sentence in numbered], [number for number, _ in numbered])
                          if numbered else [])
        for line in lines:
            print(next(translated) if line.strip() else "")
        sys.stdout.flush()


def _prompt(outputs):
    import readline  # noqa: F401  (gives input() line editing and history)

    print("Type a sentence and press Enter to translate it; Ctrl-D ends.", file=sys.stderr)
    number = 0
    while True:
        try:
            sentence = input("> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return
        if sentence:
            print(outputs([sentence], [number])[0], flush=True)
            number += 1


def _has_descriptor(stream):
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False
    return True


def _export(args):
    from seq2seq.tasks.translation.export import export_run

    export_run(args.run_dir, args.out_dir, model_file=args.model_file, **decode_settings(args))
