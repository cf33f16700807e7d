"""The image classifier (one-to-one): folder and CSV readers with their errors, training through the CLI
on generated pictures, `seq2seq classify` on image files, evaluation, the attention picture, the
built-in Tux Paint categories, resume and `.keras` round trips."""

import base64
import csv

import numpy as np
import pytest
from PIL import Image

from seq2seq.cli import main
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import evaluate_run
from seq2seq.models.loading import load_model_file
from seq2seq.tasks.image_classification.classifier import ImageClassifier
from seq2seq.tasks.image_classification.corpus import check_training_classes, read_image_csv, read_image_folders
from test_caption_data import fake_package

TINY = "configs/tuxpaint_categories_tiny.yaml"
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 220)}


def picture(rng, colour):
    """A square of the class colour somewhere on a noisy grey background: where it is varies."""
    pixels = rng.integers(90, 160, (24, 24, 3)).astype(np.uint8)
    row, column = rng.integers(0, 12, 2)
    pixels[row:row + 12, column:column + 12] = COLOURS[colour]
    return Image.fromarray(pixels)


def write_image_folders(root, sizes=(("train", 30), ("dev", 6), ("test", 6)), seed=0):
    rng = np.random.default_rng(seed)
    for split, per_class in sizes:
        for colour in COLOURS:
            (root / split / colour).mkdir(parents=True, exist_ok=True)
            for number in range(per_class):
                picture(rng, colour).save(root / split / colour / f"{number}.png")
    return root


def folder_settings(root, *extra):
    settings = ["data.corpus=image-folders", f"data.train={root}/train", f"data.dev={root}/dev",
                f"data.test={root}/test", "train.epochs=6", *extra]
    return [part for setting in settings for part in ("--set", setting)]


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def image_folders(tmp_path_factory):
    return write_image_folders(tmp_path_factory.mktemp("colours"))


@pytest.fixture(scope="session")
def image_run(tmp_path_factory, image_folders):
    run_dir = tmp_path_factory.mktemp("image-classifier") / "run"
    assert main(["train", TINY, "--run-dir", str(run_dir), *folder_settings(image_folders)]) == 0
    return run_dir


def test_the_classifier_learns_the_colour_of_the_square(image_run):
    scores = evaluate_run(image_run, "test", log=lambda *_: None)
    assert scores["accuracy"] >= 0.9, scores["accuracy"]
    lines = (image_run / "eval" / "test.greedy.hyp").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 18 and all("\t" in line for line in lines)
    assert (image_run / "eval" / "test.greedy.confusion.png").is_file()


def test_classify_labels_image_files_and_arrays_alike(image_run, image_folders, capsys):
    files = [image_folders / "test" / colour / "0.png" for colour in COLOURS]
    capsys.readouterr()
    assert main(["classify", str(image_run), *map(str, files), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(COLOURS)
    classifier = ImageClassifier.load(image_run)
    from_arrays = classifier.classify([np.asarray(Image.open(path).convert("RGB")) for path in files], top_k=2)
    for line, result in zip(lines, from_arrays):
        label, probability = line.split("\t")[:2]
        assert (label, float(probability)) == (result.label, pytest.approx(result.probability, abs=1e-4))
    assert from_arrays[0].attention.shape == classifier.model.grid_shape
    assert from_arrays[0].attention.sum() == pytest.approx(1.0, rel=1e-5)


def test_the_service_classifies_uploaded_images_as_the_classifier_does(image_run, image_folders):
    from serving_harness import serve_runs

    files = [image_folders / "test" / colour / "1.png" for colour in COLOURS]
    expected = ImageClassifier.load(image_run).classify(files, top_k=2)
    with serve_runs({"colours": image_run}) as service:
        as_json = service.client.post("/classify-image", json={
            "images": [base64.b64encode(path.read_bytes()).decode("ascii") for path in files], "top_k": 2,
            "with_attention": True})
        uploaded = service.client.post("/classify-image", data={"top_k": "2", "with_attention": "true"},
                                       files=[("images", (path.name, path.read_bytes(), "image/png")) for path in files])
        too_many = service.client.post("/classify-image", files={"images": ("a.png", files[0].read_bytes())},
                                       data={"top_k": str(len(COLOURS) + 1)})
    assert as_json.status_code == 200, as_json.text
    assert [result["label"] for result in as_json.json()["results"]] == [found.label for found in expected]
    assert [entry["probability"] for result in as_json.json()["results"] for entry in result["top"]] == pytest.approx(
        [probability for found in expected for _, probability in found.top], abs=1e-4)
    assert np.asarray(as_json.json()["results"][0]["attention"]) == pytest.approx(expected[0].attention, abs=1e-4)
    assert uploaded.json() == as_json.json()
    assert too_many.status_code == 422 and "top_k: this run has 3 labels, got 4" in too_many.json()["error"]


def test_plot_draws_where_the_classifier_looked(image_run, image_folders, tmp_path, capsys):
    image = image_folders / "test" / "red" / "1.png"
    assert main(["plot", str(image_run), "--image", str(image), "--output-dir", str(tmp_path)]) == 0
    assert [path.rsplit("/", 1)[1] for path in capsys.readouterr().out.split()] == ["training.png", "looked-at-1.png"]


@pytest.mark.slow  # a minute or more on 2 cores; CI runs the slow tests in a second step
def test_resume_after_two_epochs_equals_the_uninterrupted_run(image_folders, tmp_path):
    short = ["train.epochs=2"]
    assert main(["train", TINY, "--run-dir", str(tmp_path / "whole"), *folder_settings(image_folders, "train.epochs=3")]) == 0
    assert main(["train", TINY, "--run-dir", str(tmp_path / "halves"), *folder_settings(image_folders, *short)]) == 0
    assert main(["train", TINY, "--run-dir", str(tmp_path / "halves"), "--resume", "--set", "train.epochs=3"]) == 0
    for whole, halves in zip(read_metrics(tmp_path / "whole"), read_metrics(tmp_path / "halves"), strict=True):
        for key in ("loss", "val_loss", "dev_accuracy"):
            assert float(halves[key]) == pytest.approx(float(whole[key]), rel=1e-5), key


def test_keras_file_round_trip_gives_the_same_probabilities(image_run, tmp_path):
    model = load_model_file(image_run / "model.keras", compile=False)
    pixels = np.random.default_rng(1).integers(0, 255, (2, 32, 32, 3)).astype(np.uint8)
    model.save(tmp_path / "copy.keras")
    again = load_model_file(tmp_path / "copy.keras", compile=False)
    np.testing.assert_allclose(np.asarray(model(pixels)), np.asarray(again(pixels)), atol=1e-6)
    assert again.get_config() == model.get_config()


def test_the_tuxpaint_stamps_are_labelled_by_their_category_folder(tmp_path):
    from seq2seq.data.tuxpaint import build_tuxpaint
    from seq2seq.tasks.image_classification.corpus import load_image_split
    from seq2seq.config import load_config

    build_tuxpaint(tmp_path / "cache", from_dir=fake_package(tmp_path / "pkg"), log=lambda *_: None)
    config = load_config(TINY, [f"data.cache_dir={tmp_path / 'cache'}"])
    labels = [label for split in ("train", "dev", "test") for label in load_image_split(config.data, split).labels]
    assert labels == ["animals"] * 3


def test_a_csv_of_paths_and_labels_is_read_relative_to_its_folder(tmp_path):
    write_image_folders(tmp_path, sizes=(("train", 2),))
    (tmp_path / "train.csv").write_text("path,label\ntrain/red/0.png,red\ntrain/blue/1.png, blue\n")
    images = read_image_csv(tmp_path / "train.csv")
    assert images.paths == [tmp_path / "train/red/0.png", tmp_path / "train/blue/1.png"]
    assert images.labels == ["red", "blue"]


@pytest.mark.parametrize("rows, message", [
    ("train/red/0.png\n", r"train.csv:1: expected 'path,label'"),
    ("train/red/0.png,red\ntrain/red/9.png,red\n", r"train.csv:2: image .*9.png not found"),
    ("path,label\n", r"train.csv: holds no path,label rows"),
    (b"train/red/0.png,r\xe9d\n", r"train.csv:1: bytes that are not UTF-8"),
])
def test_bad_csv_rows_are_one_line_errors(tmp_path, rows, message):
    write_image_folders(tmp_path, sizes=(("train", 1),))
    (tmp_path / "train.csv").write_bytes(rows if isinstance(rows, bytes) else rows.encode())
    with pytest.raises(Seq2SeqError, match=message):
        read_image_csv(tmp_path / "train.csv")


def test_a_skipped_csv_row_is_counted(tmp_path):
    from seq2seq.data.readers import SkipCounter

    write_image_folders(tmp_path, sizes=(("train", 1),))
    (tmp_path / "train.csv").write_text("train/red/0.png,red\nno comma here\n")
    skips = SkipCounter()
    assert len(read_image_csv(tmp_path / "train.csv", on_error="skip", skips=skips)) == 1 and skips.total == 1


def test_a_folder_without_images_and_a_class_with_one_image_are_refused(tmp_path, capsys):
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    (tmp_path / "empty" / "cats" / "notes.txt").write_text("no pictures here")
    with pytest.raises(Seq2SeqError, match=r"empty: no images in class folders"):
        read_image_folders(tmp_path / "empty")
    root = write_image_folders(tmp_path / "data", sizes=(("train", 3), ("dev", 1), ("test", 1)))
    for extra in list((root / "train" / "green").iterdir())[1:]:
        extra.unlink()
    with pytest.raises(Seq2SeqError, match="class 'green' has one training image; give each class at least two"):
        check_training_classes(read_image_folders(root / "train"))
    assert main(["train", TINY, "--run-dir", str(tmp_path / "run"), *folder_settings(root)]) == 2
    assert "class 'green' has one training image" in capsys.readouterr().err


def test_text_runs_and_image_runs_are_refused_by_each_other(image_run, trained_run, capsys):
    assert main(["classify", str(trained_run), "x.png"]) == 2
    assert "`seq2seq classify` needs a classification run" in capsys.readouterr().err
    with pytest.raises(Seq2SeqError, match="search settings \\(beam_size\\) do not apply"):
        ImageClassifier.load(image_run, beam_size=3)
    assert main(["plot", str(image_run), "--text", "red"]) == 2
    assert "--text is for text runs" in capsys.readouterr().err
