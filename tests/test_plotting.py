"""Attention heatmaps and training curves: the pictures show the numbers they claim to."""

import numpy as np
import pytest

from seq2seq.cli import main
from seq2seq.errors import Seq2SeqError
from seq2seq.plotting import training_curves_figure
from seq2seq.tasks.translation.plots import attention_figure
from seq2seq.training.run_dir import RunDirectory
from seq2seq.tasks.translation.translator import Translator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_heatmap_shows_the_chosen_hypothesis_attention_with_piece_labels(trained_run):
    translation = Translator.load(trained_run, beam_size=3, n_best=2).translate_with_details(["a b c d"])[0]
    for rank in (0, 1):
        hypothesis = translation.hypotheses[rank]
        axes = attention_figure(translation, rank).axes[0]
        np.testing.assert_array_equal(axes.images[0].get_array(), hypothesis.attention)
        assert [label.get_text() for label in axes.get_xticklabels()] == translation.source_pieces
        assert [label.get_text() for label in axes.get_yticklabels()] == hypothesis.target_pieces


def test_a_translation_without_attention_says_how_to_get_it(trained_run):
    translation = Translator.load(trained_run).translate_with_details(["a b"], with_attention=False)[0]
    with pytest.raises(Seq2SeqError, match="with_attention=True"):
        attention_figure(translation)


def test_training_curves_plot_every_epoch_of_metrics_csv(trained_run):
    rows = RunDirectory(trained_run).read_metrics()
    losses, scores = training_curves_figure(trained_run).axes[:2]
    curves = {line.get_label(): line for axes in (losses, scores) for line in axes.get_lines()}
    np.testing.assert_allclose(curves["bleu"].get_ydata(), [float(row["dev_bleu"]) for row in rows])
    np.testing.assert_allclose(curves["training cross-entropy"].get_ydata(), [float(row["xent"]) for row in rows])
    assert list(curves["bleu"].get_xdata()) == list(range(1, len(rows) + 1))


def test_plot_command_writes_pngs(trained_run, tmp_path, capsys):
    assert main(["plot", str(trained_run), "--text", "a b c", "--text", "p o n m", "--output-dir", str(tmp_path),
                 "--beam-size", "2"]) == 0
    written = capsys.readouterr().out.split()
    assert [path.rsplit("/", 1)[1] for path in written] == ["training.png", "attention-1.png", "attention-2.png"]
    for path in written:
        assert (tmp_path / path.rsplit("/", 1)[1]).read_bytes().startswith(PNG_SIGNATURE)


def test_plot_of_a_run_without_metrics_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["plot", str(tmp_path / "run")]) == 2
    assert "metrics.csv: missing from the run directory; no epoch has finished yet" in capsys.readouterr().err
