"""`seq2seq serve`: trained runs behind an HTTP API, on FastAPI and uvicorn.

Every task among the loaded runs gets its route (`POST /translate`, `/caption`, `/classify`,
`/classify-image`, `/tag`, `/generate`: each task's `serving.py`), and

    GET  /models      what is loaded: each run's task, route and default settings
    GET  /health      up, and how many batches it has decoded
    GET  /docs        the OpenAPI documentation FastAPI writes

The inputs of concurrent requests are decoded together (`DynamicBatcher`). Bad input is answered with a
4xx and a JSON body `{"error": "..."}` naming the problem, never a crash: a body that is not UTF-8 400;
wrong JSON or types, unknown fields, empty inputs, images that are not base64 or not images, and settings
the run cannot take 422; more inputs, longer inputs, larger images or a larger body than the limits allow
413; a body without a length 411; an unknown model
404; a request that waits longer than the timeout 504.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from seq2seq.errors import Seq2SeqError
from seq2seq.serving.answers import BodyLimit, ServiceError, error_response, first_problem
from seq2seq.serving.batcher import DynamicBatcher
from seq2seq.serving.limits import ServiceLimits
from seq2seq.serving.requests import check_texts, decode_images, image_request_schema, read_image_request


def create_app(served: dict, limits: ServiceLimits = ServiceLimits()) -> FastAPI:
    """An app serving `served` ({run name: its `ServedPredictor`}); per route, the first run is the default."""
    executor = ThreadPoolExecutor(max_workers=limits.searches, thread_name_prefix="search")

    def decode(key, inputs):
        name, settings = key
        return served[name].decode(dict(settings), inputs)

    batcher = DynamicBatcher(decode, executor, limits.batch_sentences, limits.batch_wait_seconds, limits.searches)

    @asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        for name in served:  # trace each run's default search before the first request
            await loop.run_in_executor(executor, decode, (name, ()), [served[name].warm_up_input()])
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()
        await batcher.finish()  # the batches already decoding, then their threads
        await asyncio.to_thread(executor.shutdown, wait=True)

    app = FastAPI(title="seq2seq", summary="runs trained with seq2seq", lifespan=lifespan)
    app.state.batcher = batcher
    image_paths = {run.path for run in served.values() if run.takes_images}

    app.add_middleware(BodyLimit, largest=lambda path: (
        limits.max_image_request_bytes if path in image_paths else limits.max_request_bytes))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, error):
        return error_response(422, first_problem(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error):  # e.g. a body that is not UTF-8, a route that does not exist
        message = {"There was an error parsing the body": "the body is not UTF-8 JSON"}.get(error.detail, error.detail)
        return error_response(error.status_code, message)

    @app.exception_handler(ServiceError)
    async def refused(request, error):
        return error_response(error.status, str(error))

    @app.exception_handler(Exception)
    async def failed(request, error):  # a bug, not the request's fault: still an answer in the API's form
        return error_response(500, f"internal error ({type(error).__name__}: {error})")

    @app.get("/health")
    async def health():
        return {"status": "ok", "models": list(served), "batches": batcher.batches}

    @app.get("/models")
    async def models():
        defaults = {}
        for name, run in served.items():
            defaults.setdefault(run.path, name)
        return {"models": [{"name": name, "route": run.path, "default": defaults[run.path] == name,
                            "settings": run.defaults()} for name, run in served.items()]}

    for path in dict.fromkeys(run.path for run in served.values()):
        _add_route(app, path, {name: run for name, run in served.items() if run.path == path}, batcher, limits)
    return app


def _add_route(app, path, runs, batcher, limits):
    """`POST path` for `runs` ({name: ServedPredictor}, all of one task)."""
    first = next(iter(runs.values()))
    Body, inputs_field = first.Request, first.inputs_field
    summary = f"{path[1:]} with a loaded run"

    async def answer_with(body, read_inputs):
        """The run `body` names, its inputs (`await read_inputs(run)`) decoded in a shared batch."""
        name = body.model or next(iter(runs))
        if name not in runs:
            raise ServiceError(404, f"no model named {name!r} at {path}; loaded: {', '.join(runs)}")
        settings = tuple(sorted(body.model_dump(exclude={inputs_field, "model"}, exclude_unset=True).items()))
        try:
            runs[name].check(dict(settings))
            inputs = await read_inputs(runs[name])
            results = await asyncio.wait_for(batcher.submit((name, settings), inputs), limits.timeout_seconds)
        except asyncio.TimeoutError:
            raise ServiceError(504, f"not answered within {limits.timeout_seconds:g} s; send fewer or shorter "
                               "inputs, or try again") from None
        except Seq2SeqError as error:
            raise ServiceError(422, str(error).removeprefix("request: ")) from None
        return {"model": name, "results": results}

    if first.takes_images:
        async def answer_images(request: Request):
            body, blobs = await read_image_request(request, Body, inputs_field, limits)

            async def pixels(run):  # decoding an image takes a while: off the event loop, beside the search
                return await asyncio.get_running_loop().run_in_executor(
                    None, decode_images, inputs_field, blobs, run.image_size, limits)
            return await answer_with(body, pixels)

        app.post(path, summary=summary, openapi_extra=image_request_schema(Body, inputs_field))(answer_images)
        return

    async def answer(request: Body):
        async def texts(run):
            inputs = getattr(request, inputs_field)
            check_texts(inputs_field, inputs, run.empty_inputs, limits)
            return [text.strip() for text in inputs]
        return await answer_with(request, texts)

    app.post(path, summary=summary)(answer)

