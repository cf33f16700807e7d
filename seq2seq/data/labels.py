"""The label set of a classifier or tagger: names <-> ids, fixed at training time and saved in the run.

The labels come from the training split, sorted, so the same data always gives the same ids. A tagger
reserves id 0 for positions that carry no label (padding, and the second and later pieces of a
word), so its loss can skip them exactly as a decoder's loss skips padding (`seq2seq.tokens.PAD_ID`).
"""

import json
from pathlib import Path

from seq2seq.durable_files import write_atomically
from seq2seq.errors import DataError, Seq2SeqError

LABELS_FILE = "labels.json"
NO_LABEL = "<none>"


class LabelVocabulary:
    """Label names in id order; with `reserves_padding`, id 0 is `NO_LABEL` and never predicted."""

    def __init__(self, names, reserves_padding=False):
        self.reserves_padding = reserves_padding
        self.names = ([NO_LABEL] if reserves_padding else []) + list(names)
        self._ids = {name: index for index, name in enumerate(self.names)}

    @classmethod
    def from_training_labels(cls, labels, reserves_padding=False) -> "LabelVocabulary":
        names = sorted(set(labels))
        if len(names) < 2:
            raise Seq2SeqError(f"the training split has {len(names)} distinct label(s) ({', '.join(names)}); "
                               "a classifier or tagger needs at least 2")
        return cls(names, reserves_padding)

    def __len__(self):
        return len(self.names)

    @property
    def first_real_id(self) -> int:
        return 1 if self.reserves_padding else 0

    def ids(self, labels, source="labels") -> list:
        """Label names -> ids; a label the training split never had is an error naming it."""
        unknown = sorted({label for label in labels if label not in self._ids or label == NO_LABEL})
        if unknown:
            raise DataError(source, None, f"label(s) {', '.join(map(repr, unknown[:5]))} never occur in the "
                            f"training split; known: {', '.join(self.names[self.first_real_id:][:20])}")
        return [self._ids[label] for label in labels]

    def save(self, run_dir) -> Path:
        path = Path(run_dir) / LABELS_FILE
        write_atomically(path, (json.dumps({"labels": self.names[self.first_real_id:],
                                            "reserves_padding": self.reserves_padding}, indent=1, ensure_ascii=False)
                                + "\n").encode("utf-8"))
        return path

    @classmethod
    def load(cls, run_dir) -> "LabelVocabulary":
        path = Path(run_dir) / LABELS_FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls(saved["labels"], saved["reserves_padding"])
        except FileNotFoundError:
            raise Seq2SeqError(f"{path}: missing from the run directory; was it made by `seq2seq train`?") from None
        except (ValueError, KeyError, TypeError) as error:
            raise Seq2SeqError(f"{path}: not a valid label file ({type(error).__name__}: {error})") from None

