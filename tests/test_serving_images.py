"""`POST /caption` of `seq2seq serve`: images as base64 JSON or multipart files, answered as the Python API
answers, and every image limit and error of an image route (`/classify-image` shares them: its own test
is in test_image_classification.py)."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from serving_harness import Service, served
from seq2seq.serving.app import create_app
from seq2seq.serving.limits import ServiceLimits
from seq2seq.tasks.captioning.captioner import Captioner

LIMITS = ServiceLimits(max_images=3, max_image_bytes=20_000, max_image_pixels=300 * 300, timeout_seconds=60)


def png(width=48, height=40, colour=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste(colour, (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    encoded = io.BytesIO()
    image.save(encoded, format="PNG")
    return encoded.getvalue()


def as_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def service(quick_captioner):
    with Service(create_app({"shapes": served(quick_captioner)}, LIMITS)) as running:
        yield running


def test_caption_answers_as_the_captioner_does_for_json_and_for_uploads(service, quick_captioner):
    images = [png(), png(30, 60, (20, 40, 220))]
    pixels = [np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in images]
    expected = Captioner.load(quick_captioner).caption(pixels)
    as_json = service.client.post("/caption", json={"images": [as_base64(data) for data in images]})
    assert as_json.status_code == 200, as_json.text
    assert [result["text"] for result in as_json.json()["results"]] == expected

    uploaded = service.client.post("/caption", files=[("images", ("a.png", images[0], "image/png")),
                                                      ("images", ("b.png", images[1], "image/png"))])
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["results"] == as_json.json()["results"]
    data_url = f"data:image/png;base64,{as_base64(images[1])}"
    assert service.client.post("/caption", json={"images": [data_url]}).json()["results"][0]["text"] == expected[1]
    wrapped = base64.encodebytes(images[0]).decode("ascii")  # a line break every 76 characters, as `base64` writes
    assert "\n" in wrapped
    assert service.client.post("/caption", json={"images": [wrapped]}).json()["results"][0]["text"] == expected[0]


def test_search_settings_and_attention_over_the_grid_in_json_and_in_a_form(service, quick_captioner):
    settings = {"beam_size": 3, "n_best": 2, "with_attention": True}
    expected = Captioner.load(quick_captioner, beam_size=3, n_best=2).caption_with_details(
        [np.asarray(Image.open(io.BytesIO(png())).convert("RGB"))])[0]
    answer = service.client.post("/caption", json={"images": [as_base64(png())], **settings})
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert [found["text"] for found in result["hypotheses"]] == [found.text for found in expected.hypotheses]
    assert [found["score"] for found in result["hypotheses"]] == pytest.approx(
        [found.score for found in expected.hypotheses], abs=1e-4)
    rows, columns = result["grid_shape"]
    best = result["hypotheses"][0]
    assert len(best["attention"]) == len(best["target_pieces"]) and {len(row) for row in best["attention"]} == {rows * columns}

    form = service.client.post("/caption", files={"images": ("a.png", png(), "image/png")},
                               data={key: str(value).lower() for key, value in settings.items()})
    assert form.status_code == 200, form.text
    assert form.json()["results"] == answer.json()["results"]


def truncated_png():
    return png()[:60]


def bomb_png(width=400, height=400):
    """A small file whose header declares more pixels than the limit allows (as the square it pads to)."""
    encoded = io.BytesIO()
    Image.new("1", (width, height)).save(encoded, format="PNG")
    return encoded.getvalue()


def eps():
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"


@pytest.mark.parametrize("body, status, error", [
    ({"images": []}, 422, "images: give at least one"),
    ({"images": [as_base64(png())] * 4}, 413, "images: 4 in one request; at most 3"),
    ({"images": ["not base64!"]}, 422, "images[0]: not base64"),
    ({"images": [as_base64(png()), as_base64(b"GIF89a garbage")]}, 422, "images[1]: not a PNG, JPEG, GIF, WEBP, BMP, TIFF image Pillow can read"),
    ({"images": [as_base64(truncated_png())]}, 422, "images[0]: not a PNG, JPEG, GIF, WEBP, BMP, TIFF image Pillow can read, or cut short"),
    ({"images": [as_base64(bomb_png())]}, 413, "images[0]: 400x400 pads to a square of 160,000 pixels; at most 90,000"),
    ({"images": [as_base64(bomb_png(3000, 20))]}, 413, "images[0]: 3000x20 pads to a square of 9,000,000 pixels"),
    ({"images": [as_base64(eps())]}, 422, "images[0]: not a PNG, JPEG, GIF, WEBP, BMP, TIFF image"),
    ({"images": [as_base64(bytes(20_001))]}, 413, "images[0] is 20,001 bytes; at most 20,000"),
    ({"images": [3]}, 422, "images[0]: Input should be a valid string"),
    ({"images": [as_base64(png())], "beam_size": "3"}, 422, "beam_size: Input should be a valid integer"),
    ({"images": [as_base64(png())], "top_k": 2}, 422, "top_k: Extra inputs are not permitted"),
    ({"images": [as_base64(png())], "model": "other"}, 404, "no model named 'other' at /caption; loaded: shapes"),
])
def test_bad_image_requests_get_a_4xx_naming_the_problem(service, body, status, error):
    answer = service.client.post("/caption", json=body)
    assert answer.status_code == status, answer.text
    assert error in answer.json()["error"], answer.json()
    assert service.client.post("/caption", json={"images": [as_base64(png())]}).status_code == 200


@pytest.mark.parametrize("files, data, status, error", [
    ([("images", ("a.png", png(), "image/png"))] * 4, {}, 413, "images: 4 in one request; at most 3"),
    ([], {"images": "a.png"}, 422, "images: only images takes files, and images takes only files"),
    ([("picture", ("a.png", png(), "image/png"))], {}, 422, "picture: only images takes files"),
    ([("images", ("a.png", png(), "image/png"))], {"beam_size": "three"}, 422, "beam_size: Input should be a valid integer"),
    ([("images", ("a.png", b"\x89PNG\r\n", "image/png"))], {}, 422, "images[0]: not a PNG, JPEG, GIF, WEBP, BMP, TIFF image Pillow can read"),
    ([("images", ("a.png", bytes(20_001), "image/png"))], {}, 413, "images[0] is 20,001 bytes; at most 20,000"),
])
def test_bad_uploads_get_a_4xx_naming_the_problem(service, files, data, status, error):
    answer = service.client.post("/caption", files=files or None, data=data)
    assert answer.status_code == status, answer.text
    assert error in answer.json()["error"], answer.json()


@pytest.mark.parametrize("body", [
    b"--boundary\r\nContent-Disposition: form-data; name=\"images\"; filename=\"a.png\"\r\n\r\nunterminated",
    b"no boundary here at all",
    b"--boundary\r\nContent-Disposition: nonsense\r\n\r\nx\r\n--boundary--\r\n",
])
def test_a_form_that_cannot_be_parsed_gets_a_4xx_and_the_service_goes_on(service, body):
    answer = service.client.post("/caption", content=body,
                                 headers={"content-type": "multipart/form-data; boundary=boundary"})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"], answer.json()
    assert service.client.post("/caption", json={"images": [as_base64(png())]}).status_code == 200


def test_an_image_route_takes_bodies_as_large_as_its_images_and_refuses_larger(service):
    largest = LIMITS.max_image_request_bytes
    assert largest == 3 * 26_667 + 65_536
    answer = service.client.post("/caption", content=b"{" + b" " * (largest - 2) + b"}",
                                 headers={"content-type": "application/json"})
    assert answer.status_code == 422, "a body of the largest size is read"
    answer = service.client.post("/caption", content=b" " * (largest + 1), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and f"the body is over {largest:,} bytes" in answer.json()["error"]
    assert service.client.post("/caption", content=b'{"images": ["\xff"]}').json() == {
        "error": "the body is not UTF-8 JSON"}


def test_the_openapi_document_offers_json_and_multipart_bodies_and_models_lists_the_route(service):
    body = service.client.get("/openapi.json").json()["paths"]["/caption"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert body["multipart/form-data"]["schema"]["properties"]["images"]["items"]["format"] == "binary"
    assert body["application/json"]["schema"]["properties"]["images"]["items"]["type"] == "string"
    (model,) = service.client.get("/models").json()["models"]
    assert model["route"] == "/caption" and set(model["settings"]) == {"beam_size", "n_best", "length_penalty",
                                                                       "coverage_penalty"}
