"""Pictures every run has: its training curves from `metrics.csv`; and how all figures are saved.

Each task draws its own pictures (attention heatmaps, confusion matrices...) in its folder.

Figures are built with matplotlib's object API (no global pyplot state), so notebooks can show
them and `save_figure` can write them from any thread or process without a display.
"""

import csv
from pathlib import Path

from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError, shown


# Loss curves drawn from metrics.csv when present; every other `dev_*` column is a score curve.
LOSS_CURVES = (("loss", "training loss"), ("val_loss", "dev loss"), ("xent", "training cross-entropy"),
               ("val_xent", "dev cross-entropy"))


def training_curves_figure(run_dir) -> Figure:
    """Losses (top) and the task's dev scores (bottom) per epoch, from the run's `metrics.csv`."""
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(run_dir)
    run.require(run.metrics_file, "no epoch has finished yet")
    epochs, values = _metrics(run)
    figure = Figure(figsize=(7.0, 6.0), layout="constrained")
    panels = figure.subplots(2, 1, sharex=True)
    scores = [(column, column.removeprefix("dev_").replace("_", " ")) for column in values
              if column.startswith("dev_") and column != "dev_loss"]
    for panel, curves in ((panels[0], LOSS_CURVES), (panels[1], scores)):
        for column, label in curves:
            if column in values:
                panel.plot(epochs, values[column], marker="o", label=label)
    panels[0].set_ylabel("nats per prediction")
    panels[1].set_ylabel("dev score")
    panels[1].set_xlabel("epoch")
    for panel in panels:
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[1]:  # a run without dev scores has none: matplotlib would warn
            panel.legend(fontsize=8)
    figure.suptitle(f"{run.path.name}: training curves")
    return figure


def _metrics(run):
    """(epochs, {column: a number per epoch}) from metrics.csv, for the columns filled in every row.

    A file seq2seq did not write that way (cut short, edited, not UTF-8) is a one-line error naming it,
    not a traceback from the csv module or int().
    """
    try:
        rows = run.read_metrics()
        epochs = [int(row["epoch"]) for row in rows]
        columns = [column for column in (rows[0] if rows else ()) if column and all(row[column] for row in rows)]
        return epochs, {column: [float(row[column]) for row in rows] for column in columns}
    except KeyError:
        raise Seq2SeqError(f"{run.metrics_file}: has no 'epoch' column; "
                           "is it a metrics file of `seq2seq train`?") from None
    except (UnicodeDecodeError, csv.Error, ValueError, TypeError) as error:
        raise Seq2SeqError(f"{run.metrics_file}: not a metrics file of `seq2seq train` "
                           f"({shown(str(error), quoted=False)})") from None


def save_figure(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def shorten(text, limit=80):
    return text if len(text) <= limit else text[:limit - 1] + "…"
