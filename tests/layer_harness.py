"""One harness for every layer's contract, in the spirit of keras-hub's `run_layer_test`.

`run_layer_test(make_layer, inputs, call)` builds a layer from a factory, runs it on example inputs
and checks, in order:

1. config: `get_config` -> JSON -> `from_config` gives a layer with the same config, and with the
   original's weights copied in it computes exactly the same outputs;
2. saving: a small `keras.Model` holding the layer, saved to `.keras` and loaded back with
   `safe_mode=True`, has the same config, the same weights and the same outputs (within 1e-6);
3. mixed precision: built with `dtype="mixed_bfloat16"` and given the float32 layer's weights, the
   layer keeps float32 variables, computes in bfloat16 (every sublayer too, unless declared), returns
   bfloat16 (or, where the layer documents it, float32) outputs that are finite and close to the
   float32 layer's;
4. training: one Adam step through `Model.compile` / `train_on_batch` (eager by default, or traced
   in a `tf.function` as real training runs it) gives a finite loss and changes every trainable
   weight; non-trainable weights stay put unless the layer declares that training updates them
   (batch-norm statistics).

Layers take different inputs (token ids, a memory and its mask, nested encoder states, pixels), so
the forward pass is a function `call(layer, *inputs, training=False)`; the default calls
`layer(*inputs, training=training)`. Every check compares the flattened output structure
(`keras.tree.flatten`), so a call may return tensors nested in tuples and lists.
"""

import json
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from seq2seq.keras_internals import all_layers

MIXED_POLICY = "mixed_bfloat16"

# Mixed precision tolerance, relative to each output's scale: |mixed - float32| <= MIXED_TOLERANCE *
# max |float32 output|, elementwise. bfloat16 keeps 8 significant bits (rounding error 2**-9, about
# 0.2 %, per operation) and a few recurrent steps or convolutions compound it: the cases of
# test_layer_harness.py stay within 1.5 %. A dtype bug (a weight skipped, a state kept in the wrong
# precision) shows up as a difference of the outputs' own size.
MIXED_TOLERANCE = 0.05
# The config and `.keras` round trips run the same computation on the same weights: outputs must agree
# to EXACT_ATOL (in practice they are bitwise equal). Outputs must therefore be far larger than that:
# an example whose outputs all vanish (an untrained deep network gives 1e-12) would pass any comparison.
EXACT_ATOL = 1e-6
INFORMATIVE = 1e-3  # the least max |output| of every floating output of the example


def default_call(layer, *inputs, training=False):
    return layer(*inputs, training=training)


def run_layer_test(make_layer, inputs, call=None, *, seed=0, trainable=True, updates_statistics=False,
                   float32_outputs=(), float32_sublayers=(), mixed_tolerance=MIXED_TOLERANCE,
                   learning_rate=0.01, run_eagerly=True):
    """Run the four checks of this module on the layer `make_layer()` builds; return it (float32).

    make_layer: `make_layer(**overrides)` -> a new, unbuilt layer; called as `make_layer(dtype=...)`
        for the mixed precision check, so a `functools.partial` of the layer class fits.
    inputs: the example inputs, a tuple of numpy arrays (or nested lists of them, e.g. encoder
        states), all with the same batch size; passed as `call(layer, *inputs)`.
    call: `call(layer, *inputs, training=False)` -> the outputs (a tensor or a nested structure).
        It may use the layer's own helpers (e.g. attention's `prepare_keys`), and must build the
        layer first if those need its weights; it must not create layers. Default: `default_call`.
    seed: `keras.utils.set_random_seed` before each layer is made.
    trainable: False declares a layer without trainable weights (a pretrained image encoder that is
        not fine-tuned, a score without parameters): it must have none, and training changes no weight.
    updates_statistics: training in the layer legitimately updates its non-trainable weights (batch
        normalisation's moving mean and variance): each must then change. Otherwise none may.
    float32_outputs: positions, in the flattened outputs, of floating outputs that the layer
        documents as float32 under mixed precision (attention weights, a float32 image network).
    float32_sublayers: names of sublayers that compute in float32 by design under mixed precision
        (their own sublayers included), e.g. a pretrained network kept in float32.
    mixed_tolerance: the mixed precision tolerance, relative to each float32 output's largest magnitude.
    learning_rate: Adam's, for the training step.
    run_eagerly: False traces the training step in a `tf.function`, as `fit` does: it catches what
        only fails in graph mode, at the cost of a second or two of tracing per layer.
    """
    call = call or default_call
    assert trainable or not updates_statistics, "a frozen layer updates nothing"
    layer = _make_built(make_layer, inputs, call, seed)
    expected = _numpy(call(layer, *inputs))
    for index, value in enumerate(expected):
        if np.issubdtype(value.dtype, np.floating):
            assert np.isfinite(value).all(), f"output {index} is not finite"
            assert np.abs(value).max() > INFORMATIVE, (
                f"output {index} is at most {np.abs(value).max():.2g}: too small for any comparison to tell")
    check_config_round_trip(layer, inputs, call, expected)
    check_keras_file_round_trip(layer, inputs, call, expected)
    check_mixed_precision(make_layer, layer, inputs, call, expected, seed, float32_outputs, float32_sublayers,
                          mixed_tolerance)
    check_training_step(layer, inputs, call, trainable, updates_statistics, learning_rate, seed, run_eagerly)
    return layer


def check_config_round_trip(layer, inputs, call, expected):
    """The config survives JSON (as it must in a `.keras` file) and rebuilds the same layer.

    `from_config(json.loads(json.dumps(config)))` must give back exactly `config` (a tuple that comes
    back as a list fails here), and the clone must create the same weights (number, order, shapes)
    and, once given the original's values, compute the same outputs.
    """
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config, _config_difference(clone.get_config(), config)
    call(clone, *_zeros_like(inputs))  # build it
    _assert_same_weight_structure(clone, layer, "from_config clone")
    clone.set_weights(layer.get_weights())
    _assert_outputs_close(_numpy(call(clone, *inputs)), expected, EXACT_ATOL, "from_config clone")


def check_keras_file_round_trip(layer, inputs, call, expected):
    """A model holding the layer, saved to `.keras` and loaded with `safe_mode=True`, is the same model.

    The loaded layer comes from its serialized config through the `seq2seq>` registry, is built the
    way Keras builds it (its build config, else a forward pass on zeros), and receives the saved
    weights; its config, weights and outputs must equal the original's.
    """
    model = LayerModel(layer, call, _specs(inputs))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "layer.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
    restored = loaded.layer
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config(), _config_difference(restored.get_config(), layer.get_config())
    _assert_same_weight_structure(restored, layer, "reloaded layer")
    for saved, reloaded in zip(layer.weights, restored.weights):
        np.testing.assert_array_equal(np.asarray(reloaded), np.asarray(saved), err_msg=f"weight {saved.path}")
    _assert_outputs_close(_numpy(loaded(list(inputs))), expected, EXACT_ATOL, "reloaded .keras model")


def check_mixed_precision(make_layer, reference, inputs, call, expected, seed, float32_outputs=(),
                          float32_sublayers=(), tolerance=MIXED_TOLERANCE):
    """Under `mixed_bfloat16` the layer computes in bfloat16 on float32 variables, and stays accurate.

    The layer is made with `dtype="mixed_bfloat16"` and given the float32 `reference`'s weights. Then:
    its variables are float32; it and its sublayers (except `float32_sublayers`) compute in bfloat16;
    its floating outputs are bfloat16, except `float32_outputs`, which are float32; all outputs are
    finite; and each is within `tolerance * max |expected|` of the float32 layer's (integer and boolean
    outputs, e.g. masks, exactly equal).
    """
    layer = _make_built(make_layer, inputs, call, seed, dtype=MIXED_POLICY)
    assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
    _assert_sublayers_follow_policy(layer, set(float32_sublayers))
    _assert_same_weight_structure(layer, reference, "mixed precision layer")
    for weight in layer.weights:
        if keras.backend.is_float_dtype(weight.dtype):
            assert weight.dtype == "float32", f"{weight.path} is {weight.dtype} under {MIXED_POLICY}"
    layer.set_weights(reference.get_weights())
    outputs = keras.tree.flatten(call(layer, *inputs))
    for index, output in enumerate(outputs):
        dtype = keras.backend.standardize_dtype(output.dtype)
        if keras.backend.is_float_dtype(dtype):
            wanted = "float32" if index in float32_outputs else "bfloat16"
            assert dtype == wanted, f"output {index} is {dtype} under {MIXED_POLICY}, expected {wanted}"
    actual = _numpy(outputs)
    for index, value in enumerate(actual):
        assert np.isfinite(value.astype("float32")).all(), f"output {index} is not finite under {MIXED_POLICY}"
    _assert_outputs_close(actual, expected, tolerance, MIXED_POLICY, relative=True, check_dtype=False)


def check_training_step(layer, inputs, call, trainable=True, updates_statistics=False, learning_rate=0.01, seed=0,
                        run_eagerly=True):
    """One Adam step on a squared error to random targets moves every trainable weight, and only as declared.

    The model holding the layer is compiled (no XLA) and `train_on_batch` runs one step, eagerly or
    traced (`run_eagerly`). The loss, the mean squared difference between each floating output and a
    fixed random target, must be finite. A trainable weight that does not move got no gradient: it is
    disconnected from the outputs, or the gradient vanished. Non-trainable weights must not move,
    unless `updates_statistics`, when each must. A layer declared not `trainable` must have no
    trainable weights.
    """
    if trainable:
        assert layer.trainable_weights, "the layer has no trainable weights; declare trainable=False"
    else:
        assert not layer.trainable_weights, [weight.path for weight in layer.trainable_weights]
    model = LayerModel(layer, call, _specs(inputs))
    outputs = _numpy(call(layer, *inputs))
    rng = np.random.default_rng(seed)
    targets = [rng.normal(size=output.shape).astype("float32") for output in outputs]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=False,
                  run_eagerly=run_eagerly)
    trainable_before = [np.array(weight) for weight in layer.trainable_weights]
    non_trainable_before = [np.array(weight) for weight in layer.non_trainable_weights]
    with warnings.catch_warnings():
        if not trainable:
            warnings.filterwarnings("ignore", "The model does not have any trainable weights")
        logs = model.train_on_batch(list(inputs), targets, return_dict=True)
    assert np.isfinite(logs["loss"]), f"training loss {logs['loss']}"
    unchanged = [weight.path for weight, before in zip(layer.trainable_weights, trainable_before)
                 if np.array_equal(np.asarray(weight), before)]
    assert not unchanged, f"trainable weights the training step did not change: {unchanged}"
    for weight, before in zip(layer.non_trainable_weights, non_trainable_before):
        changed = not np.array_equal(np.asarray(weight), before)
        assert changed == updates_statistics, (
            f"non-trainable weight {weight.path} {'changed' if changed else 'did not change'} in training"
        )


# A model's config names its forward pass; `run_layer_test` records the function under that name, and
# loading looks it up again (within the test session, which is all a test file needs).
_CALLS = {}


@keras.saving.register_keras_serializable(package="seq2seq_test_harness")
class LayerModel(keras.Model):
    """The smallest model around one layer: its forward pass is `call(layer, *inputs)`.

    Like the project's models, it builds its layer when it is made (here by one forward pass on
    zeros shaped as `input_specs`, unless the layer's build config built it already), so its
    weights exist when a `.keras` file's values are loaded into it. The loss of `train_on_batch`
    is the mean squared error of every floating output to its target.
    """

    def __init__(self, layer, call=default_call, input_specs=(), **kwargs):
        super().__init__(**kwargs)
        self.layer = layer
        self.call_name = f"{getattr(call, '__qualname__', 'call')}@{id(call)}"
        _CALLS[self.call_name] = call
        self.layer_call = call
        self.input_specs = input_specs
        if not layer.built:
            call(layer, *_zeros(input_specs))
        self.built = True

    def call(self, inputs, training=False):
        return self.layer_call(self.layer, *inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        losses = [keras.ops.mean(keras.ops.square(keras.ops.cast(output, "float32") - target))
                  for output, target in zip(keras.tree.flatten(y_pred), keras.tree.flatten(y))
                  if keras.backend.is_float_dtype(output.dtype)]
        return keras.ops.sum(keras.ops.stack(losses))

    def get_config(self):
        return {"name": self.name, "layer": keras.saving.serialize_keras_object(self.layer),
                "call": self.call_name, "input_specs": self.input_specs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = keras.saving.deserialize_keras_object(config.pop("layer"))
        return cls(layer, _CALLS[config.pop("call")], **config)


def _make_built(make_layer, inputs, call, seed, **overrides):
    keras.utils.set_random_seed(seed)
    layer = make_layer(**overrides)
    call(layer, *inputs)
    return layer


def _specs(inputs):
    """Example inputs -> JSON-able shapes and dtypes, with the same nesting."""
    if isinstance(inputs, (list, tuple)):
        return [_specs(item) for item in inputs]
    array = np.asarray(inputs)
    return {"shape": list(array.shape), "dtype": str(array.dtype)}


def _zeros(specs):
    if isinstance(specs, list):
        return [_zeros(item) for item in specs]
    return np.zeros(specs["shape"], specs["dtype"])


def _zeros_like(inputs):
    return _zeros(_specs(inputs))


def _numpy(outputs):
    """Flattened outputs as numpy arrays (bfloat16 ones as ml_dtypes' bfloat16)."""
    return [np.asarray(output) for output in keras.tree.flatten(outputs)]


def _assert_outputs_close(actual, expected, atol, what, relative=False, check_dtype=True):
    """Same number, shapes (and dtypes) of outputs; floating ones within `atol` (times each expected
    output's largest magnitude if `relative`), the others equal."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, expected {len(expected)}"
    for index, (value, wanted) in enumerate(zip(actual, expected)):
        message = f"{what}: output {index}"
        assert value.shape == wanted.shape, f"{message} has shape {value.shape}, expected {wanted.shape}"
        if check_dtype:
            assert value.dtype == wanted.dtype, f"{message} is {value.dtype}, expected {wanted.dtype}"
        if np.issubdtype(wanted.dtype, np.floating):
            scale = np.abs(wanted).max() if relative else 1.0
            np.testing.assert_allclose(value.astype("float32"), wanted, atol=atol * scale, rtol=0, err_msg=message)
        else:
            np.testing.assert_array_equal(value, wanted, err_msg=message)


def _assert_same_weight_structure(layer, reference, what):
    """The same number of weights, in the same order, with the same shapes and trainability (paths may
    differ: an unnamed sublayer is numbered apart in each instance)."""
    ours, theirs = _weight_structure(layer), _weight_structure(reference)
    assert [entry[1:] for entry in ours] == [entry[1:] for entry in theirs], (
        f"{what} has weights {ours}, expected {theirs}")


def _weight_structure(layer):
    return [(weight.path, tuple(weight.shape), weight.trainable) for weight in layer.weights]


def _assert_sublayers_follow_policy(layer, float32_names):
    """Every sublayer, recursively, computes in the layer's dtype policy, except the declared float32
    ones and everything inside them."""
    declared = [sublayer for sublayer in all_layers(layer) if sublayer.name in float32_names]
    exempt = {id(inner) for sublayer in declared for inner in all_layers(sublayer)}
    for sublayer in all_layers(layer):
        if sublayer is layer or id(sublayer) in exempt:
            continue
        assert sublayer.dtype_policy.name == layer.dtype_policy.name, (
            f"sublayer {sublayer.path or sublayer.name} of {layer.name} computes in "
            f"{sublayer.dtype_policy.name}, not {layer.dtype_policy.name}"
        )


def _config_difference(actual, expected):
    keys = sorted(set(actual) | set(expected))
    return {key: (actual.get(key), expected.get(key)) for key in keys if actual.get(key) != expected.get(key)}
