"""The captioning verb: `seq2seq caption`."""

from pathlib import Path

from seq2seq.cli_options import add_decode_options, add_model_options, decode_settings, write_lines


def add_commands(commands):
    caption = commands.add_parser("caption", help="caption images with a trained captioning run")
    caption.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a captioning run directory")
    caption.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    caption.add_argument("--output", "-o", type=Path, help="write `image<TAB>caption` lines here instead of stdout")
    caption.add_argument("--attention-dir", type=Path, help="also draw each caption's attention over its image "
                         "into this directory, one PNG per image")
    add_model_options(caption, ensemble=False)
    add_decode_options(caption)
    caption.set_defaults(command=_caption)


def _caption(args):
    from seq2seq.plotting import save_figure
    from seq2seq.tasks.captioning.captioner import Captioner
    from seq2seq.tasks.captioning.plots import caption_attention_figure

    captioner = Captioner.load(args.run_dir, model_file=args.model_file, **decode_settings(args))
    results = captioner.caption_with_details(args.images, with_attention=args.attention_dir is not None)
    if captioner.decode_config.n_best > 1:
        lines = [f"{image}\t{hypothesis.text}\t{hypothesis.score:.4f}"
                 for image, result in zip(args.images, results) for hypothesis in result.hypotheses]
    else:
        lines = [f"{image}\t{result.text}" for image, result in zip(args.images, results)]
    if args.attention_dir:
        for number, (image, result) in enumerate(zip(args.images, results), start=1):
            save_figure(caption_attention_figure(result), args.attention_dir / f"{number}-{image.stem}.png")
    write_lines(lines, args.output)
