"""Turn the `data:` section of a config into train/dev/test sentence pairs and references."""

import random
from dataclasses import dataclass, field
from pathlib import Path

from seq2seq.data.bible import build_bible_corpus
from seq2seq.data.software import build_software_corpus
from seq2seq.data.readers import SkipCounter, normalize_text, read_parallel
from seq2seq.errors import ConfigError, DataError

SPLITS = ("train", "dev", "test")
BUILT_IN = {"bible-es-en": build_bible_corpus, "software-es-en": build_software_corpus}


@dataclass
class Split:
    """Sentence pairs of one split, plus any extra reference translations (e.g. KJV, BBE)."""

    sources: list
    targets: list
    extra_references: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.sources)

    @property
    def references(self):
        """All reference streams for scoring: the main target first."""
        return [self.targets, *self.extra_references.values()]


def split_location(data_config, split):
    """(format, path) of a split: the built-in corpus resolves to its cached aligned files."""
    if data_config.corpus in BUILT_IN:
        corpus = BUILT_IN[data_config.corpus](data_config.cache_dir, log=lambda *_: None)
        return "aligned", corpus.prefix(split)
    path = getattr(data_config, split)
    if path is None:
        raise ConfigError(f"data.{split} is not set: give the path of the {split} split")
    return data_config.format, Path(path)


def load_split(data_config, split, skips=None, with_extra_references=False) -> Split:
    """Read one split; bad rows raise or are counted in `skips`, per `data.on_bad_row`.

    Extra references are read only when asked for (evaluation), line by line. An empty line there is a
    missing reference (the BBE has no Romans 16:24): it becomes None, which sacreBLEU leaves out of
    that sentence's references. Scored as '', it would count as a reference of length 0 and pull
    the brevity penalty and n-gram matches towards an empty output.
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    skips = skips if skips is not None else SkipCounter()
    format_name, path = split_location(data_config, split)
    pairs = read_parallel(format_name, path, data_config.source_lang, data_config.target_lang,
                          columns=tuple(data_config.columns), on_error=data_config.on_bad_row, skips=skips)
    if not pairs:
        raise DataError(path, None, f"the {split} split has no usable sentence pairs")
    sources, targets = (list(side) for side in zip(*pairs))
    extra = {}
    for language in data_config.extra_references if with_extra_references else []:
        if format_name != "aligned":
            raise ConfigError("data.extra_references needs the aligned format (files named PREFIX.LANG)")
        reference_path = Path(f"{path}.{language}")
        if not reference_path.is_file():
            raise DataError(reference_path, None, "extra reference file not found")
        lines = [normalize_text(line) or None for line in reference_path.read_text(encoding="utf-8").splitlines()]
        if len(lines) != len(targets):
            raise DataError(reference_path, None, f"has {len(lines)} lines for {len(targets)} kept sentence "
                            "pairs; extra references need every row of the split to be kept")
        extra[language] = lines
    return Split(sources, targets, extra)


def weighted_rows(count: int, weight: float, seed: int) -> list[int]:
    """The rows of a corpus of `count` pairs that an epoch reads at `weight` (data.corpora): every row
    int(weight) times, plus a share weight - int(weight) of the rows drawn without replacement by `seed`."""
    whole, fraction = divmod(weight, 1)
    extra = random.Random(seed).sample(range(count), round(fraction * count))
    return [row for _ in range(int(whole)) for row in range(count)] + sorted(extra)
