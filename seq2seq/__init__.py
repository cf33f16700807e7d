"""seq2seq: recurrent networks of every shape on Keras 3 and TensorFlow.

`from seq2seq import Translator` (or `Captioner`, `Classifier`, `Tagger`, `LanguageModel`) works without
importing TensorFlow until it is used, so the command line starts fast; the first of them to be used
starts TensorFlow without its start-up notices (`seq2seq.tensorflow_startup`).
"""

import sys

__version__ = "0.1.0"
__all__ = ["Captioner", "Classifier", "LanguageModel", "Tagger", "Translator", "train", "load_config", "evaluate_run",
           "load_exported"]

_LAZY = {
    "Captioner": "seq2seq.tasks.captioning.captioner",
    "Classifier": "seq2seq.tasks.classification.classifier",
    "LanguageModel": "seq2seq.tasks.language_model.predictor",
    "Tagger": "seq2seq.tasks.tagging.tagger",
    "Translator": "seq2seq.tasks.translation.translator",
    "train": "seq2seq.training.loop",
    "load_config": "seq2seq.config",
    "evaluate_run": "seq2seq.evaluation",
    "load_exported": "seq2seq.tasks.translation.export",
}
_WITHOUT_TENSORFLOW = ("load_config",)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        if name not in _WITHOUT_TENSORFLOW and "tensorflow" not in sys.modules:
            from seq2seq.tensorflow_startup import start_tensorflow_quietly

            start_tensorflow_quietly()
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
