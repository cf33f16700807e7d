"""`seq2seq evaluate` for language models: bits per character of a split's text, read as one stream.

`eval/<split>.stream.scores.json` holds the bits per character, the perplexity per piece and the counts
they come from; `eval/<split>.stream.hyp` a few generated lines (the run's decode settings, from an empty
prompt), to look at what the model writes.
"""

import time

from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import write_evaluation
from seq2seq.tasks.language_model.corpus import load_text_split
from seq2seq.tasks.language_model.predictor import LanguageModel
from seq2seq.tasks.language_model.scoring import bits_per_character, perplexity, stream_nats
from seq2seq.tasks.language_model.streams import token_stream

SAMPLES = 5


def evaluate_language_model(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    if ensemble:
        raise Seq2SeqError("--ensemble is for translation runs; a language model run is scored with one model")
    config = run.load_config()
    language_model = LanguageModel.load(run.path, model_file=model_file, **decode_settings)
    skips = SkipCounter()
    text = load_text_split(config.data, split, skips)
    if skips.total:
        log(skips.summary())
    stream = token_stream(language_model.tokenizer, text.lines)
    started = time.perf_counter()
    nats, pieces = stream_nats(language_model.model, stream)
    seconds = time.perf_counter() - started
    scores = {"bits_per_character": bits_per_character(nats, text.characters), "perplexity": perplexity(nats, pieces),
              "nats": nats, "pieces": pieces, "characters": text.characters, "lines": len(text.lines),
              "tokenizer": config.tokenizer.type, "model": str(model_file or run.model_file),
              "score_seconds": round(seconds, 2), "pieces_per_second": round(pieces / seconds, 1),
              "skipped_lines": skips.total}
    samples = [text for texts in language_model.generate([""] * SAMPLES) for text in texts]
    path = write_evaluation(run.eval_dir, f"{split}.stream", samples, scores)
    log(f"{split}: {scores['bits_per_character']:.4f} bits per character, perplexity {scores['perplexity']:.2f} per "
        f"{config.tokenizer.type} piece ({pieces} pieces, {text.characters} characters, {seconds:.1f}s)")
    log(f"written to {path}")
    return scores
