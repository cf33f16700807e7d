"""Export a run as a TensorFlow SavedModel that translates strings to strings.

Tokenization, search and detokenization all run in the graph, so serving needs only TensorFlow and
tensorflow-text, not this package:

    import tensorflow as tf, tensorflow_text  # the import registers the SentencePiece ops
    translate = tf.saved_model.load(OUT_DIR).signatures["serving_default"]
    translate(sentences=tf.constant(["¿Dónde está el libro?"]))["translations"]

Where seq2seq is installed, `seq2seq.load_exported(OUT_DIR)` does the same without TensorFlow's
start-up notices. The signature searches each call's batch as one batch, with the run's decode settings (or the
overrides given at export): like `Translator`, callers get the most sentences a second by batching
sentences of similar length. Unlike `Translator`, it does not reject empty sentences.
"""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from seq2seq.errors import Seq2SeqError
from seq2seq.training.run_dir import RunDirectory
from seq2seq.search import search_translations
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID
from seq2seq.tasks.translation.translator import Translator

ENDPOINT = "serve"  # Keras also registers the first endpoint as "serving_default"
# Not read by the graph: what the export was made from, for the people who serve it.
EXTRA_DIR = "assets.extra"


def export_run(run_dir, out_dir, log=print, model_file=None, **decode_settings) -> Path:
    """Write the run's best model (or `model_file`) as a SavedModel to `out_dir`; returns its path.

    `decode_settings` override the run's `decode:` config, e.g. `beam_size=5, length_penalty=0.6`.
    The export is written next to `out_dir` and renamed into place, so a crash never leaves half of one.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise Seq2SeqError(f"{out_dir} exists; choose another directory or remove it")
    tensorflow_text = _import_tensorflow_text()
    translator = Translator.load(run_dir, model_file=model_file, **decode_settings)
    if translator.protect_placeholders:
        raise Seq2SeqError(f"{run_dir} was trained with tokenizer.placeholders, whose masking runs in Python "
                           "(seq2seq.data.placeholders) and is not in the SavedModel graph; serve the run with "
                           "`seq2seq serve` or the Python API instead")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)  # left by a killed export that had our process id
    temporary.mkdir()
    try:
        _write_saved_model(translator, tensorflow_text, temporary)
        extra = temporary / EXTRA_DIR
        extra.mkdir()
        shutil.copyfile(RunDirectory(run_dir).config_file, extra / "config.yaml")
        (extra / "decode.json").write_text(json.dumps(dataclasses.asdict(translator.decode_config), indent=2))
        os.replace(temporary, out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    log(f"exported {run_dir} to {out_dir}: signature serving_default(sentences: string [batch]) "
        f"-> translations: string [batch]")
    return out_dir


def load_exported(path):
    """The `serving_default` signature of an export: `f(sentences=tf.constant([...]))["translations"]`."""
    if not (Path(path) / "saved_model.pb").is_file():
        raise Seq2SeqError(f"{path}: not a SavedModel written by `seq2seq export` (no saved_model.pb)")
    _import_tensorflow_text()
    return tf.saved_model.load(str(path)).signatures["serving_default"]


def _import_tensorflow_text():
    try:
        import tensorflow_text
    except ImportError:
        raise Seq2SeqError('exporting needs tensorflow-text: pip install "seq2seq[export]"') from None
    return tensorflow_text


def _write_saved_model(translator, tensorflow_text, path):
    """Save a `serve` endpoint (also `serving_default`) that runs tokenizer, search and detokenizer."""
    def sentencepiece(tokenizer, name):
        # Distinct names matter: loading a SavedModel names each SentencePiece resource after its
        # op, so two tokenizers with the default name would both get the first one's model.
        return tensorflow_text.SentencepieceTokenizer(model=tokenizer.model_file.read_bytes(), name=name)

    source = sentencepiece(translator.source_tokenizer, "source_sentencepiece")
    shared = translator.target_tokenizer is translator.source_tokenizer
    target = source if shared else sentencepiece(translator.target_tokenizer, "target_sentencepiece")
    model, decode = translator.model, translator.decode_config

    def translate_batch(sentences):
        ids = source.tokenize(sentences)
        end = tf.fill([tf.shape(sentences)[0], 1], EOS_ID)
        source_ids = tf.concat([ids, end], axis=1).to_tensor(default_value=PAD_ID)
        best = search_translations(model, source_ids, decode, with_attention=False,
                                   shortlist=translator.shortlist).tokens[:, 0]
        return target.detokenize(tf.ragged.boolean_mask(best, _content_mask(best)))

    def translate(sentences):
        # The encoder and search cannot run on an empty batch (Keras' GRU slices its first step).
        # (Keras traces endpoints without AutoGraph, hence tf.cond rather than `if`.)
        translations = tf.cond(tf.size(sentences) > 0, lambda: translate_batch(sentences),
                               lambda: tf.zeros([0], tf.string))
        return {"translations": translations}

    archive = keras.export.ExportArchive()
    # The SentencePiece resources must be tracked by hand. The model must not: the endpoint already
    # keeps the variables it reads, and tracking the model too would save every weight twice.
    for tokenizer in [source] if shared else [source, target]:
        archive.track(tokenizer)
    archive.add_endpoint(ENDPOINT, translate, input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    archive.write_out(str(path), verbose=False)


def _content_mask(tokens):
    """True for the ids `Tokenizer.decode` keeps: before the first EOS, and neither PAD nor BOS."""
    before_eos = tf.cumsum(tf.cast(tokens == EOS_ID, tf.int32), axis=1) == 0
    return before_eos & (tokens != PAD_ID) & (tokens != BOS_ID)
