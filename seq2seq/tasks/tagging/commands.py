"""The tagging verb: `seq2seq tag RUN_DIR "text" ...`.

Each text's line holds its words as `word/label`, separated by spaces; with `--restore`, a truecasing
run prints each text cased and punctuated instead.
"""

from seq2seq.cli_options import add_model_options, add_text_arguments, texts_from, write_lines


def add_commands(commands):
    tag = commands.add_parser("tag", help="label every word of texts with a trained tagging run")
    add_text_arguments(tag, "a tagging run directory made by `seq2seq train`",
                       "texts to tag, words separated by spaces", "text", "the tagged texts")
    tag.add_argument("--restore", action="store_true", help="truecasing runs: print each text cased and "
                     "punctuated rather than its words' labels")
    tag.add_argument("--batch-size", type=int, metavar="N", help="texts labelled together (default: the run's "
                     "decode.batch_size)")
    tag.add_argument("--precision", metavar="DTYPE", help="compute dtype: auto (for this machine), float32, "
                     "mixed_bfloat16, mixed_float16 (default: the run's decode.precision)")
    add_model_options(tag, ensemble=False)
    tag.set_defaults(command=_tag)


def _tag(args):
    from seq2seq.tasks.tagging.tagger import Tagger

    texts = texts_from(args, what="text to tag", verb="tag")
    tagger = Tagger.load(args.run_dir, model_file=args.model_file, batch_size=args.batch_size,
                         precision=args.precision)
    if args.restore:
        lines = tagger.restore(texts)
    else:
        lines = [" ".join(f"{word}/{label}" for word, label in tagged) for tagged in tagger.tag(texts)]
    write_lines(lines, args.output)
