"""The words and labels of a tagging run's splits, as its `data:` section names them.

`bible-truecase` is built in: the verses of the Bible translation that `data.source_lang` names (es:
Reina-Valera 1909, en: World English Bible; en-kjv and en-bbe also work), lowercased and stripped of
punctuation, each word labelled with how to write it back (`seq2seq.data.truecase`). A verse with no
word at all (only marks) has nothing to tag: it is left out and counted. `conll` reads the user's
CoNLL-style files `data.train`, `data.dev` and `data.test` (`seq2seq.data.conll`), with `data.on_bad_row`.
"""

from seq2seq.data.conll import TaggedSentences, read_conll
from seq2seq.data.corpus import SPLITS
from seq2seq.data.readers import SkipCounter
from seq2seq.data.truecase import load_truecase_split
from seq2seq.errors import ConfigError, DataError
from seq2seq.tasks.tagging import TRUECASE_CORPUS


def load_tagged_split(data_config, split, skips=None) -> TaggedSentences:
    """One split's sentences of words and their labels; bad lines raise or are counted in `skips`."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    skips = skips if skips is not None else SkipCounter()
    if data_config.corpus == TRUECASE_CORPUS:
        sentences = _with_words(load_truecase_split(split, data_config.source_lang, data_config.cache_dir, skips),
                                skips)
    else:
        path = getattr(data_config, split)
        if path is None:
            raise ConfigError(f"data.{split} is not set: give the path of the {split} split's CoNLL file")
        sentences = read_conll(path, data_config.on_bad_row, skips)
    if not len(sentences):
        raise DataError(sentences.source, None, f"the {split} split has no usable sentences")
    return sentences


def _with_words(sentences: TaggedSentences, skips) -> TaggedSentences:
    kept = TaggedSentences([], [], sentences.source)
    for words, labels in zip(sentences.tokens, sentences.tags):
        if words:
            kept.tokens.append(words)
            kept.tags.append(labels)
        else:
            skips.add(sentences.source, None, "verse without words")
    return kept
