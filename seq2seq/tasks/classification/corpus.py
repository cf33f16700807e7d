"""The texts and labels of a classification run's splits, as its `data:` section names them.

`bible-genre` is the built-in corpus: Bible verses labelled with their book's genre
(`seq2seq.data.genre`), in the translation `data.source_lang` picks (es: Reina-Valera 1909, en: World
English Bible; en-kjv and en-bbe also work). `labelled-text` reads the user's `label<TAB>text` files
`data.train`, `data.dev` and `data.test`, with `data.on_bad_row`.
"""

import random

from seq2seq.data.genre import load_genre_split
from seq2seq.data.labelled_text import LabelledTexts, read_labelled_text
from seq2seq.errors import ConfigError, DataError

SPLITS = ("train", "dev", "test")


def load_labelled_split(data_config, split, skips=None) -> LabelledTexts:
    """One split's texts and labels; bad rows raise or are counted in `skips`, per `data.on_bad_row`."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if data_config.corpus == "bible-genre":
        texts = load_genre_split(split, data_config.source_lang, data_config.cache_dir, skips)
    else:
        path = getattr(data_config, split)
        if path is None:
            raise ConfigError(f"data.{split} is not set: give the path of the {split} split's label<TAB>text file")
        texts = read_labelled_text(path, data_config.on_bad_row, skips)
    if not len(texts):
        raise DataError(texts.source, None, f"the {split} split has no usable texts")
    return texts


def sample_examples(texts: LabelledTexts, limit, seed) -> LabelledTexts:
    """At most `limit` examples (`data.max_train_pairs`), drawn at random with the run's seed, in file order.

    Not the first `limit`: labelled corpora are often sorted by label (the Bible by book, so by
    genre), and their first rows would hold one or two of the labels.
    """
    if not limit or limit >= len(texts):
        return texts
    kept = sorted(random.Random(seed).sample(range(len(texts)), limit))
    return LabelledTexts([texts.texts[index] for index in kept], [texts.labels[index] for index in kept], texts.source)
