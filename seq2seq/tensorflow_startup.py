"""TensorFlow started without its start-up notices, for the command line and the Python API alike.

Importing TensorFlow and finding its devices prints up to nine lines on a CPU machine, one of them
`E0000 ... failed call to cuInit: UNKNOWN ERROR (303)`, which reads like a failure and is not one.
"""

import os
import sys


def start_tensorflow_quietly():
    """Import TensorFlow and initialise its devices with the process's stderr muted.

    TF's C++ side prints oneDNN and CUDA notices straight to file descriptor 2 before its logging
    can be configured; `TF_CPP_MIN_LOG_LEVEL` does not hide them all. Level 3 also hides notices
    logged as errors later (oneDNN's "supports DT_BOOL only ..."); real failures still reach Python
    as exceptions. Set it to 0 to see everything.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # prints every notice; the runtime itself starts later, so
        # that `seq2seq train` can still configure multi-worker collectives or logical devices.
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
