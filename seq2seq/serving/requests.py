"""A request's inputs as `seq2seq serve` reads them: texts checked against the limits, and images sent
as base64 strings in a JSON body or as files in a multipart form, checked and decoded.

Every problem is a `ServiceError` carrying its HTTP status and one line naming the field: too many or
too large inputs 413 (as the limits say), inputs that are empty, not base64 or not an image 422, a
form that cannot be parsed 400. Images are decoded only from the formats in `SERVED_FORMATS` (Pillow
knows more, some of which hand the bytes to outside programs), off the event loop.
"""

import asyncio
import base64
import binascii
import io

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from seq2seq.data.images import ImageError, open_rgb, square_pixels
from seq2seq.serving.answers import ServiceError, first_problem

SERVED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
MULTIPART = "multipart/form-data"
_FORMS = (MULTIPART, "application/x-www-form-urlencoded")  # the second cannot hold files, but is answered as a form
_DATA_URL_PREFIX = "data:"  # a browser's `data:image/png;base64,...`, accepted as well as bare base64


def check_texts(field, texts, empty_allowed, limits):
    """Refuse a request's texts (`field` names them) that the limits or the task do not take."""
    if not texts:
        raise ServiceError(422, f"{field}: give at least one")
    if len(texts) > limits.max_sentences:
        raise ServiceError(413, f"{field}: {len(texts)} in one request; at most {limits.max_sentences}")
    for index, text in enumerate(texts):
        if not text.strip() and not empty_allowed:
            raise ServiceError(422, f"{field}[{index}] is empty")
        if len(text) > limits.max_characters:
            raise ServiceError(413, f"{field}[{index}] has {len(text):,} characters; at most {limits.max_characters:,}")


async def read_image_request(request, Body, field, limits):
    """-> (the body's `Body` with `field` empty, the images' encoded bytes), from either kind of body.

    In a multipart form the images are the files sent as `field` and every other form field is a
    setting, its text read as a form's text is (`"5"` for 5, `"true"` for true).
    """
    if request.headers.get("content-type", "").startswith(_FORMS):
        body, blobs = await _read_form(request, Body, field, limits)
    else:  # up to tens of MB to parse: off the event loop, which serves every other connection
        body, blobs = await asyncio.to_thread(_read_json_images, await request.body(), Body, field, limits)
    for index, blob in enumerate(blobs):
        if len(blob) > limits.max_image_bytes:
            raise ServiceError(413, f"{field}[{index}] is {len(blob):,} bytes; at most {limits.max_image_bytes:,}")
    return body, blobs


def decode_images(field, blobs, size, limits) -> list:
    """Encoded images -> (size, size, 3) uint8 arrays, padded and resized as image files are for training."""
    pixels = []
    for index, blob in enumerate(blobs):
        name = f"{field}[{index}]"
        try:
            image = open_rgb(io.BytesIO(blob), name, max_pixels=limits.max_image_pixels, formats=SERVED_FORMATS)
            pixels.append(square_pixels(image, size))
        except ImageError as error:
            if error.kind == "too many pixels":
                raise ServiceError(413, f"{name}: {error.problem}") from None
            if error.kind == "image too large":  # Pillow's own decompression-bomb limit, above ours
                raise ServiceError(413, f"{name}: too many pixels to decode safely; at most "
                                   f"{limits.max_image_pixels:,}") from None
            raise ServiceError(422, f"{name}: not a {', '.join(SERVED_FORMATS)} image Pillow can read, or cut "
                               "short") from None
        except MemoryError:
            raise ServiceError(413, f"{name}: too large to decode") from None
        except Exception as error:  # noqa: BLE001  (a decoder's failure on crafted bytes is the image's problem)
            raise ServiceError(422, f"{name}: cannot be decoded ({type(error).__name__}: {error})") from None
    return pixels


def image_request_schema(Body, field):
    """The OpenAPI request body of an image route: the JSON model, or the same fields as a form."""
    schema = Body.model_json_schema()
    form = {**schema, "properties": {**schema["properties"], field: {
        "type": "array", "items": {"type": "string", "format": "binary"}, "description": "the image files"}}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema},
                                                          MULTIPART: {"schema": form}}}}


def _read_json_images(raw, Body, field, limits):
    body, texts = _read_json(raw, Body, field)
    _check_count(field, len(texts), limits)
    return body, [_from_base64(field, index, text) for index, text in enumerate(texts)]


def _read_json(raw, Body, field):
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError(400, "the body is not UTF-8 JSON") from None
    try:
        body = Body.model_validate_json(raw)
    except ValidationError as error:
        raise ServiceError(422, first_problem(error.errors(), location_start=0)) from None
    return body.model_copy(update={field: []}), getattr(body, field)


async def _read_form(request, Body, field, limits):
    try:
        form = await request.form(max_files=limits.max_images + 1, max_fields=64)
    except HTTPException as error:  # Starlette's refusal of a malformed or oversized form
        raise ServiceError(413 if "Too many" in str(error.detail) else 400, f"the form: {error.detail}") from None
    except Exception as error:  # noqa: BLE001  (older Starlettes let the parser's own errors through)
        raise ServiceError(400, f"the form cannot be parsed ({type(error).__name__}: {error})") from None
    try:
        return await _form_inputs(form, Body, field, limits)
    finally:
        await form.close()


async def _form_inputs(form, Body, field, limits):
    """A parsed form's settings (as `Body`, `field` empty) and the bytes of the files sent as `field`."""
    files, settings = [], {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile) != (key == field):
            raise ServiceError(422, f"{key}: only {field} takes files, and {field} takes only files")
        if key == field:
            files.append(value)
        elif key in settings:
            raise ServiceError(422, f"{key}: given twice")
        else:
            settings[key] = value
    _check_count(field, len(files), limits)
    try:  # lax: a form's fields are all text
        body = Body.model_validate({**settings, field: []}, strict=False)
    except ValidationError as error:
        raise ServiceError(422, first_problem(error.errors(), location_start=0)) from None
    return body, [await upload.read(limits.max_image_bytes + 1) for upload in files]


def _check_count(field, count, limits):
    if not count:
        raise ServiceError(422, f"{field}: give at least one")
    if count > limits.max_images:
        raise ServiceError(413, f"{field}: {count} in one request; at most {limits.max_images}")


def _from_base64(field, index, text):
    if text.startswith(_DATA_URL_PREFIX):
        text = text.partition(",")[2]
    try:  # without the line breaks `base64` and `base64.encodebytes` write every 76 characters
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(422, f"{field}[{index}]: not base64 (send the file's bytes base64-encoded, or upload "
                           "it as multipart/form-data)") from None
