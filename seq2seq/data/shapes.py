"""The built-in captioning set: rendered shapes whose captions follow from the pixels alone.

Nothing is downloaded. Each 64x64 image shows 1 to 3 shapes (circle, square, triangle), each of
its own colour, small or large, in distinct cells of a 3x3 grid, so that "left of" and "above" are
never in doubt: a shape stays inside its cell. Every image has 4 captions, different phrasings of
the same facts, mentioning the shapes in reading order (by column, then row). A model that sees the
image can therefore reproduce a reference exactly, and a working captioner reaches a high BLEU-4.

Images are numbered; image i belongs to dev if i % 10 == 8, to test if i % 10 == 9, else to train
(80/10/10), and is drawn from a random generator seeded by (seed, i) alone: a larger set starts
with the same images as a smaller one.
"""

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from seq2seq.data.built_directory import building
from seq2seq.errors import Seq2SeqError
from seq2seq.paths import resolve_cache_dir

SET_FORMAT = 1  # bump (and the "v1" in directory names) when images or captions change
IMAGE_SIZE = 64
GRID = 3
BACKGROUND = (244, 243, 238)
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
    "purple": (140, 60, 190),
}
SHAPES = ("circle", "square", "triangle")
RADII = {"small": 4, "large": 8}  # half the side of the box a shape fills, in pixels
SPLITS = ("train", "dev", "test")
_ROWS = ("top", "middle", "bottom")
_COLUMNS = ("left", "centre", "right")
_COUNT_WORDS = {2: "two", 3: "three"}


def shapes_dir(count: int, cache_dir=None, seed: int = 0) -> Path:
    suffix = f"-seed{seed}" if seed else ""
    return resolve_cache_dir(cache_dir) / f"shapes-v{SET_FORMAT}-{count}{suffix}"


def build_shapes(count: int, cache_dir=None, seed: int = 0) -> Path:
    """The directory of the set (images/, captions.json, manifest.json), rendered once per cache."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 10:
        raise Seq2SeqError(f"the shapes set needs at least 10 images (one for each of dev and test); "
                           f"set data.synthetic_images to a number of at least 10, not {count!r}")
    directory = shapes_dir(count, cache_dir, seed)
    if not _is_complete(directory, count, seed):
        _render_atomically(directory, count, seed)
    return directory


def read_shapes(directory, split) -> list[tuple[Path, list[str]]]:
    """(image path, captions) of one split of a built set."""
    if split not in SPLITS:
        raise Seq2SeqError(f"unknown split {split!r}; expected one of: {', '.join(SPLITS)}")
    directory = Path(directory)
    entries = json.loads((directory / "captions.json").read_text(encoding="utf-8"))
    return [(directory / entry["image"], entry["captions"]) for entry in entries if entry["split"] == split]


def split_of(index: int) -> str:
    return {8: "dev", 9: "test"}.get(index % 10, "train")


def scene(index: int, seed: int = 0) -> list[dict]:
    """The shapes of image `index`: dicts with colour, shape, size, row, column and centre (x, y)."""
    rng = random.Random(f"shapes-{seed}-{index}")
    cells = rng.sample([(row, column) for row in range(GRID) for column in range(GRID)], rng.randint(1, 3))
    colours = rng.sample(sorted(COLOURS), len(cells))
    cell = IMAGE_SIZE / GRID
    objects = []
    for (row, column), colour in zip(cells, colours):
        size = rng.choice(sorted(RADII))
        slack = int(cell / 2 - RADII[size] - 1)  # how far the centre may move and the shape stay in its cell
        objects.append({
            "colour": colour, "shape": rng.choice(SHAPES), "size": size, "row": row, "column": column,
            "centre": (round((column + 0.5) * cell) + rng.randint(-slack, slack),
                       round((row + 0.5) * cell) + rng.randint(-slack, slack)),
        })
    return sorted(objects, key=lambda shape: (shape["column"], shape["row"]))


def render(objects) -> Image.Image:
    """The image of a scene, without anti-aliasing so that every shape pixel has its exact colour."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for shape in objects:
        x, y = shape["centre"]
        radius = RADII[shape["size"]]
        fill = COLOURS[shape["colour"]]
        box = (x - radius, y - radius, x + radius, y + radius)
        if shape["shape"] == "circle":
            draw.ellipse(box, fill=fill)
        elif shape["shape"] == "square":
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(x, y - radius), (x + radius, y + radius), (x - radius, y + radius)], fill=fill)
    return image


def captions(objects) -> list[str]:
    """Four phrasings of the scene; shapes are listed in reading order, each pair related once."""
    names = [f"a {shape['size']} {shape['colour']} {shape['shape']}" for shape in objects]
    if len(objects) == 1:
        where = _place(objects[0])
        return [names[0], f"{names[0]} {where}", f"there is {names[0]} {where}", f"one shape : {names[0]} {where}"]
    listed = " and ".join(names) if len(names) == 2 else f"{names[0]} , {names[1]} and {names[2]}"
    counted = f"{_COUNT_WORDS[len(names)]} shapes : {listed}"
    relations = [_relation(first, second) for first, second in zip(objects, objects[1:])]
    if len(objects) == 2:
        return [f"{names[0]} {relations[0][0]} {names[1]}", f"{names[1]} {relations[0][1]} {names[0]}",
                counted, listed]
    return [f"{names[0]} {relations[0][0]} {names[1]} , which is {relations[1][0]} {names[2]}",
            f"{names[2]} {relations[1][1]} {names[1]} , which is {relations[0][1]} {names[0]}",
            counted, listed]


def _place(shape) -> str:
    row, column = _ROWS[shape["row"]], _COLUMNS[shape["column"]]
    if row == "middle" and column == "centre":
        return "in the middle"
    if row == "middle":
        return f"on the {column}"
    if column == "centre":
        return f"at the {row}"
    return f"in the {row} {column} corner"


def _relation(first, second) -> tuple[str, str]:
    """How `first` stands to `second` and back; `first` comes earlier in reading order."""
    if first["column"] != second["column"]:
        return "to the left of", "to the right of"
    return "above", "below"


def _is_complete(directory: Path, count: int, seed: int) -> bool:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    if (manifest.get("format"), manifest.get("count"), manifest.get("seed")) != (SET_FORMAT, count, seed):
        return False
    return all((directory / "images" / _image_name(index)).is_file() for index in range(count))


def _image_name(index: int) -> str:
    return f"{index:06d}.png"


def _render_atomically(directory: Path, count: int, seed: int) -> None:
    """Renders into a scratch directory and swaps it in, so an interrupted build is never taken for a set."""
    with building(directory) as scratch:
        (scratch / "images").mkdir()
        entries = []
        for index in range(count):
            objects = scene(index, seed)
            render(objects).save(scratch / "images" / _image_name(index))
            entries.append({"image": f"images/{_image_name(index)}", "split": split_of(index),
                            "captions": captions(objects)})
        (scratch / "captions.json").write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
        sizes = {split: sum(entry["split"] == split for entry in entries) for split in SPLITS}
        manifest = {"format": SET_FORMAT, "count": count, "seed": seed, "image_size": IMAGE_SIZE, "sizes": sizes,
                    "split_rule": "image i: dev if i % 10 == 8, test if i % 10 == 9, else train"}
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
