"""What every model on an image encoder shares: its pretrained weights, checked and loaded, and the
features a frozen encoder computes once per run (saved under `features/` in the run directory).

A frozen encoder's output never changes during training, so the captioner and the image classifier
read cached features instead of running the CNN every epoch. The cache is used only if it was computed
from the same image files by an encoder with the same settings and the same weights; anything else
computes it again.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from keras import ops

from seq2seq.durable_files import write_array_atomically, write_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.layers.image_encoders import keras_application, make_image_encoder


class ReadsImages:
    """What a model on an image encoder has (the captioner, the image classifier): the encoder made
    from its settings, its grid's shape, and its features of a batch of pixels."""

    def make_image_encoder(self, image_encoder: dict):
        self.image_encoder = make_image_encoder(**image_encoder, dtype=self.dtype_policy)
        height, width, self.feature_channels = self.image_encoder.grid_shape
        self.grid_shape = (height, width)
        self.cells = height * width
        self.image_size = image_encoder["image_size"]

    @property
    def frozen_encoder(self):
        """Whether the image encoder never trains, so its features can be computed once and reused."""
        return getattr(self.image_encoder, "frozen", False)

    def image_features(self, pixels, training=False):
        """uint8 pixels (B, H, W, 3) -> the encoder's features (B, cells, C)."""
        return ops.reshape(self.image_encoder(pixels, training=training), (-1, self.cells, self.feature_channels))


def image_encoder_setting(encoder_config) -> dict:
    """A run config's `model.image_encoder` as models take it (its weights file is loaded separately)."""
    return dict(kind=encoder_config.kind, image_size=encoder_config.image_size, filters=list(encoder_config.filters),
                backbone=encoder_config.backbone, fine_tune_blocks=encoder_config.fine_tune_blocks)


def check_pretrained_weights(encoder_config):
    """Fail before any image is read if the backbone or its weights file is wrong."""
    if encoder_config.kind == "keras_application":
        keras_application(encoder_config.backbone)
        if not Path(encoder_config.weights).is_file():
            raise Seq2SeqError(f"{encoder_config.weights}: weights file not found (model.image_encoder.weights)")


def load_pretrained_weights(model, encoder_config, cache_dir=None):
    """A new model's pretrained encoder weights (a small CNN starts from scratch)."""
    if encoder_config.kind != "small_cnn":
        model.image_encoder.load_pretrained(encoder_config.weights, cache_dir=cache_dir)
    return model


def encode_images(model, pixels, batch_size=32) -> np.ndarray:
    """A model's image features (N, cells, C) as float32, computed in batches."""
    return np.concatenate([np.asarray(model.image_features(pixels[start:start + batch_size]), dtype=np.float32)
                           for start in range(0, len(pixels), batch_size)])


def model_inputs(model, run, split, pixels, paths, log=print):
    """What the model reads for each image: its pixels, or a frozen encoder's cached features."""
    if not model.frozen_encoder:
        return pixels
    path = run.path / "features" / f"{split}.npy"
    signature_file = path.with_suffix(".json")
    signature = json.dumps({"images": [str(image) for image in paths], "encoder": model.image_encoder.get_config(),
                            "weights": _fingerprint(model.image_encoder.weights)}, sort_keys=True)
    if path.is_file() and signature_file.is_file() and signature_file.read_text() == signature:
        return np.load(path)
    log(f"computing the image encoder's features of {len(pixels)} {split} images once, into {path}")
    features = encode_images(model, pixels)
    signature_file.unlink(missing_ok=True)  # never new features beside an old signature, even after a kill
    write_array_atomically(path, features)
    write_atomically(signature_file, signature.encode())
    return features


def _fingerprint(weights) -> str:
    """A digest of weight values (about 20 ms for EfficientNet-Lite0's 4.7 M)."""
    digest = hashlib.sha1()
    for weight in weights:
        digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
    return digest.hexdigest()
