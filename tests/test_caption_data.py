"""Caption data: image decoding, the shapes set, Flickr8k/COCO readers and the Tux Paint build, on files made here."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from seq2seq.data import debian, tuxpaint
from seq2seq.data.caption_readers import flickr8k_split_names, read_coco, read_flickr8k, read_karpathy
from seq2seq.data.captions import CaptionedImages, load_caption_split
from seq2seq.data.images import ImageError, load_image, load_images
from seq2seq.data.readers import SkipCounter
from seq2seq.data.shapes import COLOURS, build_shapes, read_shapes, scene, split_of
from seq2seq.errors import ConfigError, DataError, Seq2SeqError
from debian_package_stub import fake_deb

WHITE = (255, 255, 255)


def save(image, path, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def palette_image(transparent):
    image = Image.new("P", (8, 8), 1)
    image.putpalette([255, 0, 0, 10, 20, 30] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 8, 4))  # top half: palette entry 0 (red)
    if transparent:
        image.info["transparency"] = 0
    return image


# ---------------------------------------------------------------- images


@pytest.mark.parametrize("make, top, bottom", [
    (lambda: Image.new("L", (8, 8), 100), (100,) * 3, (100,) * 3),
    (lambda: palette_image(transparent=False), (255, 0, 0), (10, 20, 30)),
    (lambda: palette_image(transparent=True), WHITE, (10, 20, 30)),
    (lambda: Image.fromarray(np.concatenate([np.full((4, 8, 4), (255, 0, 0, 0)), np.full((4, 8, 4), (255, 0, 0, 128))])
                             .astype(np.uint8), "RGBA"), WHITE, (255, 127, 127)),
    (lambda: Image.fromarray(np.concatenate([np.full((4, 8, 2), (0, 0)), np.full((4, 8, 2), (0, 255))])
                             .astype(np.uint8), "LA"), WHITE, (0, 0, 0)),
    (lambda: Image.fromarray(np.concatenate([np.full((4, 8), 65535), np.full((4, 8), 32896)]).astype(np.uint16)),
     WHITE, (128,) * 3),
    (lambda: Image.new("CMYK", (8, 8), (0, 255, 255, 0)), (255, 0, 0), (255, 0, 0)),
], ids=["L", "P", "P-transparency", "RGBA", "LA", "I;16", "CMYK"])
def test_every_mode_becomes_rgb_with_transparency_on_white(tmp_path, make, top, bottom):
    image = make()
    path = save(image, tmp_path / ("image.tif" if image.mode == "CMYK" else "image.png"))
    with Image.open(path) as reopened:
        assert reopened.mode == image.mode  # the file really has the odd mode
    array = load_image(path, 8)
    assert array.shape == (8, 8, 3) and array.dtype == np.uint8
    np.testing.assert_allclose(array[1, 4], top, atol=2)
    np.testing.assert_allclose(array[6, 4], bottom, atol=2)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = save(Image.fromarray(np.full((4, 4), 1000, dtype=np.uint16)), tmp_path / "dark.png")
    assert load_image(path, 4)[0, 0, 0] == 4  # 1000 / 257; Pillow's own conversion would give 255


def test_wide_images_are_padded_to_a_square_on_white_not_stretched(tmp_path):
    path = save(Image.new("RGB", (40, 20), (0, 0, 255)), tmp_path / "wide.png")
    array = load_image(path, 20)
    assert tuple(array[10, 10]) == (0, 0, 255)
    assert tuple(array[1, 10]) == WHITE and tuple(array[18, 10]) == WHITE


def bad_image_files(directory: Path) -> dict:
    """kind -> path of a file with that problem (missing: never written)."""
    good = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(good, "PNG")
    files = {"truncated image": good.getvalue()[:len(good.getvalue()) // 2],
             "corrupt image": b"<html>404 Not Found</html>", "empty image file": b""}
    paths = {kind: directory / f"{kind.replace(' ', '_')}.jpg" for kind in (*files, "missing image")}
    for kind, data in files.items():
        paths[kind].write_bytes(data)
    return paths


@pytest.mark.parametrize("kind, message", [
    ("truncated image", "truncated image file: re-download or remove it"),
    ("corrupt image", "not an image file"),
    ("empty image file", "empty image file (0 bytes)"),
    ("missing image", "image file not found"),
])
def test_bad_image_files_raise_naming_the_file(tmp_path, kind, message):
    path = bad_image_files(tmp_path)[kind]
    with pytest.raises(ImageError) as raised:
        load_image(path, 16)
    assert isinstance(raised.value, DataError) and raised.value.kind == kind
    assert str(raised.value).startswith(f"{path}: {message}")


def test_bad_images_are_skipped_and_counted(tmp_path):
    bad = bad_image_files(tmp_path)
    good = save(Image.new("RGB", (5, 5), (9, 9, 9)), tmp_path / "good.png")
    skips = SkipCounter()
    images, kept = load_images([good, *bad.values(), good], 6, on_bad_image="skip", skips=skips)
    assert images.shape == (2, 6, 6, 3) and kept == [0, 5]
    assert dict(skips.counts) == {kind: 1 for kind in bad}
    with pytest.raises(ImageError, match="truncated"):
        load_images([good, bad["truncated image"]], 6)


# ---------------------------------------------------------------- shapes


def test_shapes_set_is_deterministic_and_reused(tmp_path):
    first = build_shapes(30, tmp_path / "one")
    second = build_shapes(30, tmp_path / "two")
    assert first.name == "shapes-v1-30"
    assert (first / "captions.json").read_text() == (second / "captions.json").read_text()
    for name in ("000000.png", "000029.png"):
        assert np.array_equal(np.asarray(Image.open(first / "images" / name)),
                              np.asarray(Image.open(second / "images" / name)))
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert build_shapes(30, tmp_path / "one") == first and (first / "manifest.json").stat().st_mtime_ns == stamp
    sizes = {split: len(read_shapes(first, split)) for split in ("train", "dev", "test")}
    assert sizes == {"train": 24, "dev": 3, "test": 3}
    assert [path.name for path, _ in read_shapes(first, "dev")] == ["000008.png", "000018.png", "000028.png"]
    assert split_of(18) == "dev" and split_of(19) == "test" and split_of(20) == "train"
    assert scene(7, seed=1) != scene(7, seed=0)


def test_shapes_captions_agree_with_the_pixels(tmp_path):
    directory = build_shapes(60, tmp_path)
    entries = json.loads((directory / "captions.json").read_text())
    shape_counts = set()
    for entry in entries:
        pixels = np.asarray(Image.open(directory / entry["image"]).convert("RGB"))
        captions = entry["captions"]
        assert len(captions) == 4 and len(set(captions)) == 4
        named = {colour for colour in COLOURS if colour in captions[-1].split()}
        present = {colour for colour, rgb in COLOURS.items() if (pixels == rgb).all(axis=-1).any()}
        assert named == present, entry
        shape_counts.add(len(named))
        centres = {colour: np.argwhere((pixels == rgb).all(axis=-1)).mean(axis=0) for colour, rgb in COLOURS.items()
                   if colour in named}
        words = captions[0].split()
        for relation, check in (("left", lambda a, b: a[1] < b[1]), ("above", lambda a, b: a[0] < b[0])):
            for position, word in enumerate(words):
                if word == relation:  # "<colour> <shape> to the left of a <size> <colour> ..." / "... above a ..."
                    before = [w for w in words[:position] if w in COLOURS][-1]
                    after = next(w for w in words[position:] if w in COLOURS)
                    assert check(centres[before], centres[after]), captions[0]
    assert shape_counts == {1, 2, 3}


# ---------------------------------------------------------------- Flickr8k

KAGGLE_CAPTIONS = """image,caption
a.jpg,A dog runs across the grass .
a.jpg,"A dog, brown and white, runs ."
a.jpg,"The sign says ""stop"" ."
b.jpg,A child plays, happily .
c.jpg,A cat sleeps .
d.jpg,A bird flies .
"""

TOKEN_CAPTIONS = ("a.jpg#0\tA dog runs across the grass .\n"
                  'a.jpg#1\tA dog, brown and white, runs "fast" .\n'
                  "b.jpg#0\tA child plays .\n"
                  "2258277193_586949ec62.jpg.1#0\tAn image that is in no split .\n"
                  "c.jpg#0\tA cat sleeps .\n")


@pytest.fixture
def flickr(tmp_path):
    images = tmp_path / "Images"
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        save(Image.new("RGB", (4, 4)), images / name, format="JPEG")
    (tmp_path / "captions.txt").write_text(KAGGLE_CAPTIONS, encoding="utf-8")
    (tmp_path / "Flickr8k.token.txt").write_text(TOKEN_CAPTIONS, encoding="utf-8")
    splits = tmp_path / "text"
    splits.mkdir()
    for name, listed in (("train", "a.jpg\nb.jpg\n"), ("dev", "c.jpg\n"), ("test", "d.jpg\n")):
        (splits / f"Flickr_8k.{name}Images.txt").write_text(listed)
    karpathy = {"dataset": "flickr8k", "images": [
        {"filename": "a.jpg", "split": "train", "sentences": [{"raw": "A dog runs ."}, {"raw": "A dog, running ."}]},
        {"filename": "b.jpg", "split": "restval", "sentences": [{"raw": "A child plays ."}]},
        {"filename": "c.jpg", "split": "val", "sentences": [{"raw": "A cat sleeps ."}]},
        {"filename": "d.jpg", "split": "test", "sentences": [{"raw": "A bird flies ."}]},
    ]}
    (tmp_path / "dataset_flickr8k.json").write_text(json.dumps(karpathy))
    return tmp_path


def test_flickr8k_kaggle_csv_keeps_commas_and_quotes(flickr):
    names = flickr8k_split_names(flickr / "text", "train")
    assert names == ["a.jpg", "b.jpg"]
    found = read_flickr8k(flickr / "captions.txt", flickr / "Images", names)
    assert [path.name for path, _ in found] == ["a.jpg", "b.jpg"]
    assert found[0][1] == ["A dog runs across the grass .", "A dog, brown and white, runs .", 'The sign says "stop" .']
    assert found[1][1] == ["A child plays, happily ."]  # an unquoted comma stays in the caption


def test_flickr8k_token_file_with_karpathy_split(flickr):
    names = flickr8k_split_names(flickr / "dataset_flickr8k.json", "train")
    assert names == ["a.jpg", "b.jpg"]  # restval counts as train
    found = read_flickr8k(flickr / "Flickr8k.token.txt", flickr / "Images", names)
    assert found[0] == (flickr / "Images" / "a.jpg",
                        ["A dog runs across the grass .", 'A dog, brown and white, runs "fast" .'])
    assert [path.name for path, _ in read_flickr8k(flickr / "Flickr8k.token.txt", flickr / "Images",
                                                   flickr8k_split_names(flickr / "text", "dev"))] == ["c.jpg"]
    dev = read_karpathy(flickr / "dataset_flickr8k.json", flickr / "Images", "dev")
    assert dev == [(flickr / "Images" / "c.jpg", ["A cat sleeps ."])]


def test_flickr8k_bad_rows_raise_with_file_and_line_or_are_counted(flickr):
    token = flickr / "Flickr8k.token.txt"
    token.write_bytes(TOKEN_CAPTIONS.encode() + b"a.jpg#2 no tab here\n" + b"b.jpg#1\tNi\xf1o .\n" + b"c.jpg#1\t  \n")
    with pytest.raises(DataError, match=r"Flickr8k\.token\.txt:6: expected '<image>#<n><TAB><caption>'"):
        read_flickr8k(token, flickr / "Images", ["a.jpg"])
    skips = SkipCounter()
    found = read_flickr8k(token, flickr / "Images", ["a.jpg", "b.jpg", "c.jpg"], on_bad_row="skip", skips=skips)
    assert [len(captions) for _, captions in found] == [2, 1, 1]
    assert dict(skips.counts) == {"wrong column count": 1, "not UTF-8": 1, "empty caption": 1}
    with pytest.raises(DataError, match=r"captions\.txt: has no captions for e\.jpg"):
        read_flickr8k(flickr / "captions.txt", flickr / "Images", ["a.jpg", "e.jpg"])


def test_flickr8k_missing_image_is_named(flickr):
    (flickr / "Images" / "b.jpg").unlink()
    with pytest.raises(DataError, match=r"captions\.txt:5: image .*Images/b\.jpg not found"):
        read_flickr8k(flickr / "captions.txt", flickr / "Images", ["a.jpg", "b.jpg"])
    skips = SkipCounter()
    found = read_flickr8k(flickr / "captions.txt", flickr / "Images", ["a.jpg", "b.jpg"], "skip", skips)
    assert [path.name for path, _ in found] == ["a.jpg"] and dict(skips.counts) == {"missing image": 1}


# ---------------------------------------------------------------- COCO


@pytest.fixture
def coco(tmp_path):
    def name(folder, number):
        return f"COCO_{folder}_{number:012d}.jpg"

    for folder, numbers in (("train2014", (1, 2)), ("val2014", (3, 4))):
        for number in numbers:
            save(Image.new("RGB", (4, 4)), tmp_path / "images" / folder / name(folder, number), format="JPEG")
        annotations = [{"id": 10 * number + k, "image_id": number, "caption": f'Picture {number}, "number" {k}.\n'}
                       for number in numbers for k in range(2)]
        images = [{"id": number, "file_name": name(folder, number), "width": 4, "height": 4} for number in numbers]
        (tmp_path / f"captions_{folder}.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    karpathy = {"dataset": "coco", "images": [
        {"filepath": "val2014", "filename": name("val2014", 3), "cocoid": 3, "split": "test",
         "sentences": [{"raw": "Karpathy's caption of 3."}]},
        {"filepath": "train2014", "filename": name("train2014", 1), "cocoid": 1, "split": "train",
         "sentences": [{"raw": "Karpathy's caption of 1."}]},
        {"filepath": "val2014", "filename": name("val2014", 4), "cocoid": 4, "split": "restval",
         "sentences": [{"raw": "Karpathy's caption of 4."}]},
        {"filepath": "train2014", "filename": name("train2014", 2), "cocoid": 2, "split": "val",
         "sentences": [{"raw": "Karpathy's caption of 2."}]},
    ]}
    (tmp_path / "dataset_coco.json").write_text(json.dumps(karpathy))
    return tmp_path


def coco_files(coco):
    return [coco / "captions_train2014.json", coco / "captions_val2014.json"]


def test_coco_with_karpathy_split(coco):
    train = read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "train")
    assert [path.relative_to(coco / "images").as_posix() for path, _ in train] == [
        "train2014/COCO_train2014_000000000001.jpg", "val2014/COCO_val2014_000000000004.jpg"]
    assert train[0][1] == ['Picture 1, "number" 0.', 'Picture 1, "number" 1.']
    test = read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "test")
    assert [path.name for path, _ in test] == ["COCO_val2014_000000000003.jpg"]
    karpathy_only = read_coco(None, coco / "images", coco / "dataset_coco.json", "dev")
    assert karpathy_only == [(coco / "images" / "train2014" / "COCO_train2014_000000000002.jpg",
                              ["Karpathy's caption of 2."])]


def test_coco_without_karpathy_uses_the_official_train_and_val(coco):
    dev = read_coco(coco_files(coco), coco / "images", None, "dev")
    assert [path.name for path, _ in dev] == ["COCO_val2014_000000000003.jpg", "COCO_val2014_000000000004.jpg"]


def test_coco_bad_json_and_bad_entries(coco):
    broken = coco / "captions_val2014.json"
    text = broken.read_text()
    broken.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"captions_val2014\.json:1: not valid JSON .*download it again"):
        read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "train")
    data = json.loads(text)
    del data["annotations"][1]["caption"]
    data["annotations"][2]["image_id"] = 99
    broken.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"captions_val2014\.json:annotations\[1\]: missing key 'caption'"):
        read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "test")
    skips = SkipCounter()
    test = read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "test", "skip", skips)
    assert test[0][1] == ['Picture 3, "number" 0.']
    assert dict(skips.counts) == {"missing key": 1, "unknown image id": 1}


def test_coco_missing_image_is_named(coco):
    (coco / "images" / "val2014" / "COCO_val2014_000000000003.jpg").unlink()
    with pytest.raises(DataError, match=r"dataset_coco\.json:images\[0\]: image .*COCO_val2014_000000000003\.jpg not"):
        read_coco(coco_files(coco), coco / "images", coco / "dataset_coco.json", "test")


# ---------------------------------------------------------------- Tux Paint


def rgba_stamp():
    pixels = np.zeros((10, 10, 4), dtype=np.uint8)
    pixels[:, 5:] = (200, 0, 0, 255)  # right half opaque red, left half fully transparent
    return Image.fromarray(pixels, "RGBA")


def fake_package(root: Path) -> Path:
    """An unpacked tuxpaint-stamps-default with the real layout and the odd cases of the real package."""
    stamps = root / "usr/share/tuxpaint/stamps"
    save(rgba_stamp(), stamps / "animals/birds/hen.png")
    (stamps / "animals/birds/hen.txt").write_bytes(
        "A brown hen.\r\nde.utf8=Ein braunes Huhn.\r\nes.utf8=Una gallina  marrón. \r\n".encode())
    (stamps / "animals/birds/hen_desc_es.ogg").write_bytes(b"OggS")
    save(palette_image(transparent=True), stamps / "animals/birds/albino_peahen.png")
    (stamps / "animals/birds/albino_peahen.txt").write_bytes(b"An albino peahen.\nes.utf8=Una pava albina \xe1.\n")
    save(Image.new("LA", (6, 6), (0, 255)), stamps / "animals/amphibians/frog.png")
    (stamps / "animals/amphibians/frog.txt").write_text("A frog.\nen_GB.utf8=A frog.\nes.utf8=Una rana.\n")
    (stamps / "plants").mkdir()
    (stamps / "plants/tree.svg").write_text("<svg/>")
    (stamps / "plants/tree.txt").write_text("A tree.\nes.utf8=Un árbol.\n", encoding="utf-8")
    save(rgba_stamp(), stamps / "vehicles/car_mirror.png")
    return root


def test_tuxpaint_build_from_an_unpacked_package(tmp_path):
    logged = []
    directory = tuxpaint.build_tuxpaint(tmp_path / "cache", from_dir=fake_package(tmp_path / "pkg"), log=logged.append)
    assert directory == tmp_path / "cache" / "tuxpaint-v1"
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["sizes"] == {"train": 1, "dev": 1, "test": 1} and manifest["spanish"] == 2
    assert manifest["counts"] == {"PNG stamps taken": 3, "... of which also have an SVG (the PNG is used)": 0,
                                  "descriptions of SVG-only stamps (left out)": 1,
                                  "images without a description (left out)": 1}
    assert manifest["problems"] == ["animals/birds/albino_peahen.txt: line 2 is not UTF-8"]
    assert tuxpaint.read_tuxpaint(directory, "test", "en") == [(directory / "images/animals/birds/hen.png",
                                                                "A brown hen.")]
    assert tuxpaint.read_tuxpaint(directory, "test", "es")[0][1] == "Una gallina marrón."
    assert tuxpaint.read_tuxpaint(directory, "dev", "en")[0][1] == "An albino peahen."
    assert tuxpaint.read_tuxpaint(directory, "dev", "es") == []  # its Spanish line was not UTF-8
    hen = np.asarray(Image.open(directory / "images/animals/birds/hen.png"))
    assert hen.shape == (10, 10, 3) and tuple(hen[0, 0]) == WHITE and tuple(hen[0, 9]) == (200, 0, 0)
    assert any("train 1, dev 1, test 1" in line for line in logged)


def test_tuxpaint_split_is_fixed_by_the_stamp_path():
    assert tuxpaint.split_of("animals/amphibians/frog.png") == "train"
    assert tuxpaint.split_of("animals/birds/albino_peahen.png") == "dev"
    assert tuxpaint.split_of("animals/birds/hen.png") == "test"
    shares = [tuxpaint.split_of(f"category/stamp-{number}.png") for number in range(2000)]
    assert 0.75 < shares.count("train") / 2000 < 0.85 and 0.07 < shares.count("test") / 2000 < 0.13


def test_tuxpaint_from_a_deb_file_matches_and_is_reused(tmp_path, monkeypatch):
    package = fake_package(tmp_path / "pkg")
    from_dir = tuxpaint.build_tuxpaint(tmp_path / "a", from_dir=package / "usr/share/tuxpaint/stamps", log=print)
    deb = fake_deb(package, tmp_path / "tuxpaint-stamps-default_1.0_all.deb")
    from_deb = tuxpaint.build_tuxpaint(tmp_path / "b", from_dir=deb, log=print)
    assert (from_dir / "captions.tsv").read_text() == (from_deb / "captions.tsv").read_text()
    monkeypatch.setattr(tuxpaint, "download_packages", lambda *_: pytest.fail("a complete set must be reused"))
    assert tuxpaint.build_tuxpaint(tmp_path / "b", log=print) == from_deb


def test_tuxpaint_without_apt_get_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(debian.shutil, "which", lambda _: None)
    with pytest.raises(Seq2SeqError, match=r"apt-get was not found.*--from PATH"):
        tuxpaint.build_tuxpaint(tmp_path, log=print)
    with pytest.raises(Seq2SeqError, match="no Tux Paint stamps found"):
        tuxpaint.build_tuxpaint(tmp_path, from_dir=tmp_path, log=print)


# ---------------------------------------------------------------- load_caption_split


def data_config(**fields):
    defaults = dict(corpus="shapes", target_lang="en", captions=[], images=None, splits=None,
                    synthetic_images=40, on_bad_row="error", cache_dir=None)
    return SimpleNamespace(**(defaults | fields))


def test_load_caption_split_dispatches_on_the_corpus(tmp_path, flickr, coco):
    shapes = load_caption_split(data_config(cache_dir=str(tmp_path / "cache")), "test")
    assert isinstance(shapes, CaptionedImages) and len(shapes) == 4 and len(shapes.captions[0]) == 4

    tuxpaint.build_tuxpaint(tmp_path / "cache", from_dir=fake_package(tmp_path / "pkg"), log=print)
    spanish = load_caption_split(data_config(corpus="tuxpaint", target_lang="es", cache_dir=str(tmp_path / "cache")),
                                 "train")
    assert spanish.captions == [["Una rana."]]

    flickr_config = data_config(corpus="flickr8k", captions=[str(flickr / "captions.txt")],
                                images=str(flickr / "Images"), splits=str(flickr / "text"))
    assert load_caption_split(flickr_config, "dev").captions == [["A cat sleeps ."]]
    karpathy_only = data_config(corpus="flickr8k", images=str(flickr / "Images"),
                                splits=str(flickr / "dataset_flickr8k.json"))
    assert load_caption_split(karpathy_only, "test").captions == [["A bird flies ."]]
    with pytest.raises(ConfigError, match="data.splits is not set"):
        load_caption_split(data_config(corpus="flickr8k", captions="c.txt", images="i"), "dev")

    coco_config = data_config(corpus="coco", captions=[str(path) for path in coco_files(coco)],
                              images=str(coco / "images"), splits=str(coco / "dataset_coco.json"))
    assert len(load_caption_split(coco_config, "train")) == 2


def test_load_caption_split_counts_skips_or_raises(flickr):
    (flickr / "captions.txt").write_text(KAGGLE_CAPTIONS + "c.jpg,\n")
    config = data_config(corpus="flickr8k", captions=str(flickr / "captions.txt"), images=str(flickr / "Images"),
                         splits=str(flickr / "text"))
    with pytest.raises(DataError, match=r"captions\.txt:8: empty caption"):
        load_caption_split(config, "dev")
    skips = SkipCounter()
    config.on_bad_row = "skip"
    assert load_caption_split(config, "dev", skips).captions == [["A cat sleeps ."]]
    assert dict(skips.counts) == {"empty caption": 1}
