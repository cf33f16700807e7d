"""Training any task: the loop, its callbacks, losses, schedules, tf.distribute, the run directory, averaging."""
