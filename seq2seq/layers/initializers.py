"""Initial weight scales chosen so that attention can learn from the first step.

With Keras' default embedding initializer (uniform, +-0.05) the encoder's outputs start near zero,
the additive attention's tanh sits in its linear range where the query shifts every score equally,
and the attention weights' gradients start around 1e-11 per entry: below Adam's epsilon, so the
attention barely moves for hundreds of steps. Unit-variance embeddings (PyTorch's default) give
gradients five orders of magnitude larger there; see BENCHMARKS.md for the learning curves.
"""

import keras


EMBEDDING_STDDEV = 1.0


def embedding_initializer():
    return keras.initializers.RandomNormal(stddev=EMBEDDING_STDDEV)
