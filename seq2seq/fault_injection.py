"""Named moments at which the fault tests kill a training process or fill its disk.

Two environment variables, read at each moment (so a test may set them in-process too):

    SEQ2SEQ_FAULT=kill@NAME        the process sends itself SIGKILL at the moment called NAME: nothing
                                   after it runs, as after a power cut or the kernel's OOM killer
    SEQ2SEQ_FAULT=disk-full@NAME   an OSError(ENOSPC) is raised there, as a full disk raises it (at a
                                   write's "writing" or "written" moment: a rename needs no space)
    SEQ2SEQ_FAULT_LOG=FILE         every moment's name is appended to FILE

A name is the training position and the event, e.g. "epoch 2 step 7: checkpoints/state.json
renamed" or "start: run/config.yaml writing". Positions count an epoch's steps from its start even in
a resumed process, so a name from an uninterrupted run's log is reached again by a run that resumes
before it: the fault tests pick their kill points from such a log.

Unset, a moment costs a lookup in `os.environ`, next to a file write or a training step.
"""

import errno
import os
import signal

# Where training is: "start" before the first step, then "epoch E step S" (`training.callbacks.TrainingPosition`).
position = "start"


def at(new_position: str) -> None:
    global position
    position = new_position


def moment(event: str) -> None:
    fault, log = os.environ.get("SEQ2SEQ_FAULT"), os.environ.get("SEQ2SEQ_FAULT_LOG")
    if not (fault or log):
        return
    name = f"{position}: {event}"
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(name + "\n")
    kind, _, target = (fault or "").partition("@")
    if target != name:
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "disk-full":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
