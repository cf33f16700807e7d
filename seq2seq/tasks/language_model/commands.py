"""The language model verb: `seq2seq generate RUN_DIR [--prompt TEXT]... [--n N] [--max-length N] ...`."""

from pathlib import Path

from seq2seq.cli_options import add_decode_options, add_model_options, decode_settings, write_lines


def add_commands(commands):
    generate = commands.add_parser("generate", help="write text with a trained language model run")
    generate.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a language model run directory")
    generate.add_argument("--prompt", action="append", metavar="TEXT",
                          help="text to continue (repeatable; default: one line from scratch)")
    generate.add_argument("--n", type=int, dest="decode_n_best", metavar="N",
                          help="texts per prompt (samples, or the n best with --beam-size)")
    generate.add_argument("--max-length", type=int, dest="decode_max_generated_length", metavar="N",
                          help="pieces generated at most (default: the run's decode.max_generated_length)")
    generate.add_argument("--output", "-o", type=Path, help="write the texts here instead of stdout")
    add_model_options(generate, ensemble=False)
    add_decode_options(generate, exclude=("n_best", "coverage_penalty"))
    generate.set_defaults(command=_generate)


def _generate(args):
    """One text per line: each prompt's texts in turn. `--beam-size` searches even where the run samples."""
    from seq2seq.tasks.language_model.predictor import LanguageModel

    settings = decode_settings(args)
    if "beam_size" in settings and "sample" not in settings:
        settings["sample"] = False  # asking for a beam means searching, whatever the run's default
    language_model = LanguageModel.load(args.run_dir, model_file=args.model_file, **settings)
    texts = language_model.generate(args.prompt or [""])
    write_lines([text for prompt_texts in texts for text in prompt_texts], args.output)
