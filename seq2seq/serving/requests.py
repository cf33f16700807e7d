"""A request's inputs as `seq2seq serve` reads them: texts checked against the limits, and images sent
as base64 strings in a JSON body or as files in a multipart form, checked and decoded.

Every problem is a `ServiceError` carrying its HTTP status and one line naming the field: too many or
too large inputs 413 (as the limits say), inputs that are empty, not base64 or not an image 422.
"""

import base64
import binascii
import io

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from seq2seq.data.images import ImageError, open_rgb, square_pixels

MULTIPART = "multipart/form-data"
_FORMS = (MULTIPART, "application/x-www-form-urlencoded")  # the second cannot hold files, but is answered as a form
_DATA_URL_PREFIX = "data:"  # a browser's `data:image/png;base64,...`, accepted as well as bare base64


class ServiceError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def error_response(status, message):
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """ASGI middleware: a POST without a Content-Length is refused with 411, and one whose length is over
    what its route takes (`largest(path)`) with 413, before the body is read.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware` wraps every request
    in a task group and a streamed response, which profiling the service under load showed costing more
    of the event loop than the routing and validation together.
    """

    def __init__(self, app, largest):
        self.app = app
        self.largest = largest

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            length = dict(scope["headers"]).get(b"content-length")
            largest = self.largest(scope["path"])
            if length is None:
                refusal = error_response(411, "send the body with a Content-Length header")
            elif not length.isdigit() or int(length) > largest:
                refusal = error_response(413, f"the body is over {largest:,} bytes")
            else:
                refusal = None
            if refusal is not None:
                return await refusal(scope, receive, send)
        await self.app(scope, receive, send)


def first_problem(errors, location_start=1):
    """Pydantic's first complaint as one line: `sentences[2]: Input should be a valid string`.

    `location_start` skips the part of the location that names where the body came from (FastAPI's
    errors start with "body"; a model validated here has none).
    """
    problem = errors[0]
    if problem.get("type") == "json_invalid":
        return f"the body is not valid JSON ({problem.get('ctx', {}).get('error', problem['msg'])})"
    location = problem["loc"][location_start:]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    return f"{where or 'body'}: {problem['msg']}"


def check_texts(field, texts, empty_allowed, limits):
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
    else:
        body, texts = _read_json(await request.body(), Body, field)
        _check_count(field, len(texts), limits)
        blobs = [_from_base64(field, index, text) for index, text in enumerate(texts)]
    for index, blob in enumerate(blobs):
        if len(blob) > limits.max_image_bytes:
            raise ServiceError(413, f"{field}[{index}] is {len(blob):,} bytes; at most {limits.max_image_bytes:,}")
    return body, blobs


def decode_images(field, blobs, size, limits) -> list:
    """Encoded images -> (size, size, 3) uint8 arrays, padded and resized as image files are for training."""
    pixels = []
    for index, blob in enumerate(blobs):
        try:
            image = open_rgb(io.BytesIO(blob), f"{field}[{index}]", max_pixels=limits.max_image_pixels)
        except ImageError as error:
            status = 413 if error.kind == "image too large" else 422
            detail = error.problem if error.kind == "image too large" else "not an image Pillow can read, or cut short"
            raise ServiceError(status, f"{field}[{index}]: {detail}") from None
        pixels.append(square_pixels(image, size))
    return pixels


def image_request_schema(Body, field):
    """The OpenAPI request body of an image route: the JSON model, or the same fields as a form."""
    schema = Body.model_json_schema()
    form = {**schema, "properties": {**schema["properties"], field: {
        "type": "array", "items": {"type": "string", "format": "binary"}, "description": "the image files"}}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema},
                                                          MULTIPART: {"schema": form}}}}


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
    blobs = [await upload.read(limits.max_image_bytes + 1) for upload in files]
    await form.close()
    return body, blobs


def _check_count(field, count, limits):
    if not count:
        raise ServiceError(422, f"{field}: give at least one")
    if count > limits.max_images:
        raise ServiceError(413, f"{field}: {count} in one request; at most {limits.max_images}")


def _from_base64(field, index, text):
    if text.startswith(_DATA_URL_PREFIX):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(422, f"{field}[{index}]: not base64 (send the file's bytes base64-encoded, or upload "
                           "it as multipart/form-data)") from None
