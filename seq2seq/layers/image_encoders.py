"""Image encoders: uint8 pixels (B, H, W, 3) -> a grid of feature vectors (B, h, w, C).

A captioner attends over the grid's h * w cells the way a translator attends over source pieces.
Every encoder takes raw pixels and normalises them itself, so a saved model captions images as
they are read from disk.
"""

import re
from pathlib import Path

import keras
from keras import ops

from seq2seq.errors import ConfigError, Seq2SeqError

# Layers of keras.applications and of our EfficientNet-Lite0 are named after their block, e.g.
# `block6a_expand_conv`, `block_16_project`, `conv5_block3_out`.
BLOCK_NAME = re.compile(r"^(.*?block_?\d+[a-z]?)")


@keras.saving.register_keras_serializable(package="seq2seq")
class SmallCNN(keras.layers.Layer):
    """A CNN trained from scratch: per entry of `filters`, two 3x3 convolutions with batch
    normalisation and ReLU, then a 2x2 max pool, so the grid is image_size / 2**len(filters) wide.

    The normalisation statistics used at inference follow training faster than Keras' default
    (momentum 0.9, not 0.99): with the few hundred steps of a small run, the default still lags
    the changing features when dev captions are decoded, and dev scores jump from epoch to epoch.
    """

    def __init__(self, image_size, filters=(32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.filters = list(filters)
        self.stages = []
        for index, count in enumerate(self.filters):
            for repeat in range(2):
                self.stages += [
                    keras.layers.Conv2D(count, 3, padding="same", use_bias=False, name=f"conv_{index}_{repeat}",
                                        dtype=self.dtype_policy),
                    keras.layers.BatchNormalization(momentum=0.9, name=f"norm_{index}_{repeat}",
                                                    dtype=self.dtype_policy),
                    keras.layers.ReLU(dtype=self.dtype_policy),
                ]
            self.stages.append(keras.layers.MaxPooling2D(2, name=f"pool_{index}", dtype=self.dtype_policy))

    @property
    def grid_shape(self):
        """(h, w, C) of the feature grid."""
        side = self.image_size // 2 ** len(self.filters)
        return side, side, self.filters[-1]

    def build(self, input_shape=None):
        shape = (None, self.image_size, self.image_size, 3)
        for stage in self.stages:
            stage.build(shape)
            shape = stage.compute_output_shape(shape)

    def call(self, pixels, training=False):
        features = ops.cast(pixels, self.compute_dtype) / 255.0
        for stage in self.stages:
            features = stage(features, training=training)
        return features

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "filters": self.filters}


@keras.saving.register_keras_serializable(package="seq2seq")
class PretrainedCNN(keras.layers.Layer):
    """An ImageNet network without its classifier: EfficientNet-Lite0 or a `keras.applications` backbone.

    Only the last `fine_tune_blocks` blocks train; batch normalisation stays frozen everywhere,
    because caption batches are too small to re-estimate ImageNet statistics. The weights come from
    `load_pretrained` when a run starts, and from the model file afterwards.
    """

    def __init__(self, kind, image_size, backbone=None, fine_tune_blocks=0, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.image_size = image_size
        self.backbone = backbone
        self.fine_tune_blocks = fine_tune_blocks
        self.network, self._preprocess = _network(kind, image_size, backbone)
        self.network.trainable = fine_tune_blocks > 0
        if fine_tune_blocks:
            blocks = network_blocks(self.network)
            if fine_tune_blocks > len(blocks):
                raise ConfigError(f"{self.network.name} has {len(blocks)} blocks; model.image_encoder."
                                  f"fine_tune_blocks cannot be {fine_tune_blocks}")
            tuned = {id(layer) for block in blocks[-fine_tune_blocks:] for layer in block}
            for layer in self.network.layers:
                layer.trainable = id(layer) in tuned and not isinstance(layer, keras.layers.BatchNormalization)

    @property
    def frozen(self):
        return not self.fine_tune_blocks

    @property
    def grid_shape(self):
        return tuple(self.network.output.shape[1:])

    def build(self, input_shape=None):
        pass  # the network is built when it is made

    def call(self, pixels, training=False):
        # A frozen network runs in inference mode. When fine-tuning, batch normalisation still does (it
        # is not trainable), but dropout layers of the frozen blocks, if the network has any, are active.
        return self.network(self._preprocess(ops.cast(pixels, "float32")), training=training and not self.frozen)

    def load_pretrained(self, weights_file=None, cache_dir=None):
        """Load ImageNet weights: EfficientNet-Lite0's converted ones, or a backbone's local file."""
        if self.kind == "efficientnet_lite0":
            from seq2seq.pretrained.efficientnet_weights import load_efficientnet_lite0_weights

            load_efficientnet_lite0_weights(self.network, cache_dir=cache_dir)
            return
        if not Path(weights_file).is_file():
            raise Seq2SeqError(f"{weights_file}: weights file not found (model.image_encoder.weights)")
        try:
            self.network.load_weights(weights_file)
        except (OSError, ValueError) as error:
            raise Seq2SeqError(f"{weights_file}: cannot load it into {self.backbone} without its classifier "
                               f"({error}); use the network's *_notop weights") from None

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "image_size": self.image_size,
                "backbone": self.backbone, "fine_tune_blocks": self.fine_tune_blocks}


def _network(kind, image_size, backbone):
    """(network without its classifier, its pixel normalisation)."""
    if kind == "efficientnet_lite0":
        from seq2seq.pretrained.efficientnet_lite import efficientnet_lite0, preprocess

        return efficientnet_lite0(include_top=False, image_size=image_size), preprocess
    application, preprocess_input = keras_application(backbone)
    network = application(include_top=False, weights=None, input_shape=(image_size, image_size, 3))
    return network, preprocess_input


def keras_application(name):
    """(constructor, preprocess_input) of a `keras.applications` network, e.g. "MobileNetV2"."""
    for module_name in dir(keras.applications):
        module = getattr(keras.applications, module_name)
        if not module_name.startswith("_") and hasattr(module, name) and hasattr(module, "preprocess_input"):
            return getattr(module, name), module.preprocess_input
    raise ConfigError(f"keras.applications has no network {name!r} (model.image_encoder.backbone); "
                      "e.g. MobileNetV2, ResNet50, EfficientNetB0")


def network_blocks(network) -> list:
    """The network's layers grouped into its blocks, in order: the layers before the first block form
    one (the stem), and the layers after the last block (the head) join it."""
    blocks, current_name = [], None
    for layer in network.layers:
        match = BLOCK_NAME.match(layer.name)
        if not blocks or match and match.group(1) != current_name:
            blocks.append([])
            current_name = match.group(1) if match else None
        blocks[-1].append(layer)
    return blocks


def make_image_encoder(kind, image_size, filters=(32, 64, 128), backbone=None, fine_tune_blocks=0, dtype=None):
    """The encoder an `ImageEncoderConfig` describes (its `weights` file is loaded separately)."""
    if kind == "small_cnn":
        return SmallCNN(image_size, filters, name="image_encoder", dtype=dtype)
    # ImageNet networks compute in float32 whatever the decoder's precision.
    return PretrainedCNN(kind, image_size, backbone, fine_tune_blocks, name="image_encoder")
