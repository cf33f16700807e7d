"""`seq2seq evaluate` for tagging runs: label a split's words and score them (`seq2seq.tasks.tagging.scores`).

`eval/<split>.greedy.hyp` holds one line per sentence: its predicted labels, in word order, separated by
tabs (labels may hold spaces, as truecasing's "lower| --" does, never tabs). A truecasing run also writes
`.restored`: each verse as the predicted labels write it back. The name is `search_name`'s: the best
label of each word is a greedy choice, and a `--model` file adds its name.
"""

import time

from seq2seq.config import SETTINGS_WITHOUT_SEARCH, DecodeConfig
from seq2seq.data.readers import SkipCounter
from seq2seq.data.truecase import restore
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import search_name, write_evaluation
from seq2seq.tasks.tagging.corpus import load_tagged_split
from seq2seq.tasks.tagging.scores import format_tagging_scores, tagging_scores
from seq2seq.tasks.tagging.tagger import Tagger


def evaluate_tagging(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Write `eval/<split>.greedy.hyp` (and `.restored` for truecasing) and `.scores.json`; return the scores.

    Of the decode settings only `batch_size` applies (sentences labelled together); a tagger has no search.
    """
    if ensemble:
        raise Seq2SeqError("--ensemble is for translation runs; a tagging run labels with one model")
    searching = sorted(set(decode_settings) - set(SETTINGS_WITHOUT_SEARCH))
    if searching:
        raise Seq2SeqError(f"{', '.join(searching)}: search settings do not apply to tagging runs, which take "
                           "each word's best label")
    config = run.load_config()
    tagger = Tagger.load(run.path, model_file=model_file, batch_size=decode_settings.get("batch_size"),
                         precision=decode_settings.get("precision"))
    skips = SkipCounter()
    data = load_tagged_split(config.data, split, skips)
    if skips.total:
        log(skips.summary())
    started = time.perf_counter()
    predicted = tagger.tag_words(data.tokens)
    seconds = time.perf_counter() - started
    scores = tagging_scores(data.tags, predicted, tagger.labels, tagger.truecase)
    scores.update(model=str(model_file or run.model_file), tag_seconds=round(seconds, 2),
                  words_per_second=round(scores["words"] / seconds, 1), skipped_sentences=skips.total)
    name = f"{split}.{search_name(DecodeConfig(), model_file)}"
    path = write_evaluation(run.eval_dir, name, ["\t".join(labels) for labels in predicted], scores)
    restored_file = run.eval_dir / f"{name}.restored"
    if tagger.truecase:
        restored = [restore(words, labels) for words, labels in zip(data.tokens, predicted)]
        restored_file.write_text("".join(f"{text}\n" for text in restored), encoding="utf-8")
    log(f"{split}: {scores['sentences']} sentences in {seconds:.1f}s ({scores['words_per_second']} words/s)")
    log(format_tagging_scores(scores))
    log(f"written to {path}" + (f" and {restored_file}" if tagger.truecase else ""))
    return scores
