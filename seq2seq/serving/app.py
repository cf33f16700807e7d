"""`seq2seq serve`: trained runs behind an HTTP API, on FastAPI and uvicorn.

Every task among the loaded runs gets its route (`POST /translate`, `/classify`, `/tag`, `/generate`:
each task's `serving.py`), and

    GET  /models      what is loaded: each run's task, route and default settings
    GET  /health      up, and how many batches it has decoded
    GET  /docs        the OpenAPI documentation FastAPI writes

The inputs of concurrent requests are decoded together (`DynamicBatcher`). Bad input is answered with a
4xx and a JSON body `{"error": "..."}` naming the problem, never a crash: a body that is not UTF-8 400;
wrong JSON or types, unknown fields, empty inputs and settings the run cannot take 422; more inputs,
longer inputs or a larger body than the limits allow 413; a body without a length 411; an unknown model
404; a request that waits longer than the timeout 504.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from seq2seq.errors import Seq2SeqError
from seq2seq.serving.batcher import DynamicBatcher
from seq2seq.serving.limits import ServiceLimits

WARM_UP_INPUT = "hola"


class ServiceError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def create_app(served: dict, limits: ServiceLimits = ServiceLimits()) -> FastAPI:
    """An app serving `served` ({run name: its `ServedPredictor`}); per route, the first run is the default."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")

    def decode(key, inputs):
        name, settings = key
        return served[name].decode(dict(settings), inputs)

    batcher = DynamicBatcher(decode, executor, limits.batch_sentences, limits.batch_wait_seconds)

    @asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        for name in served:  # trace each run's default search before the first request
            await loop.run_in_executor(executor, decode, (name, ()), [WARM_UP_INPUT])
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()
        executor.shutdown(wait=True)

    app = FastAPI(title="seq2seq", summary="runs trained with seq2seq", lifespan=lifespan)
    app.state.batcher = batcher

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None:
                return _error(411, "send the body with a Content-Length header")
            if not length.isdigit() or int(length) > limits.max_request_bytes:
                return _error(413, f"the body is over {limits.max_request_bytes:,} bytes")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, error):
        return _error(422, _first_problem(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error):  # e.g. a body that is not UTF-8, a route that does not exist
        message = {"There was an error parsing the body": "the body is not UTF-8 JSON"}.get(error.detail, error.detail)
        return _error(error.status_code, message)

    @app.exception_handler(ServiceError)
    async def refused(request, error):
        return _error(error.status, str(error))

    @app.exception_handler(Exception)
    async def failed(request, error):  # a bug, not the request's fault: still an answer in the API's form
        return _error(500, f"internal error ({type(error).__name__}: {error})")

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

    async def answer(request: Body):
        name = request.model or next(iter(runs))
        if name not in runs:
            raise ServiceError(404, f"no model named {name!r} at {path}; loaded: {', '.join(runs)}")
        inputs = getattr(request, inputs_field)
        _check_inputs(inputs_field, inputs, runs[name].empty_inputs, limits)
        settings = tuple(sorted((key, value) for key, value in request.model_dump(
            exclude={inputs_field, "model"}, exclude_unset=True).items()))
        try:
            runs[name].check(dict(settings))
            results = await asyncio.wait_for(batcher.submit((name, settings), [text.strip() for text in inputs]),
                                             limits.timeout_seconds)
        except asyncio.TimeoutError:
            raise ServiceError(504, f"not answered within {limits.timeout_seconds:g} s; send fewer or shorter "
                               "inputs, or try again") from None
        except Seq2SeqError as error:
            raise ServiceError(422, str(error).removeprefix("request: ")) from None
        return {"model": name, "results": results}

    app.post(path, summary=f"{path[1:]} with a loaded run")(answer)


def _check_inputs(field, inputs, empty_allowed, limits):
    if not inputs:
        raise ServiceError(422, f"{field}: give at least one")
    if len(inputs) > limits.max_sentences:
        raise ServiceError(413, f"{field}: {len(inputs)} in one request; at most {limits.max_sentences}")
    for index, text in enumerate(inputs):
        if not text.strip() and not empty_allowed:
            raise ServiceError(422, f"{field}[{index}] is empty")
        if len(text) > limits.max_characters:
            raise ServiceError(413, f"{field}[{index}] has {len(text):,} characters; at most {limits.max_characters:,}")


def _first_problem(errors):
    """Pydantic's first complaint as one line: `sentences[2]: Input should be a valid string`."""
    problem = errors[0]
    if problem.get("type") == "json_invalid":
        return f"the body is not valid JSON ({problem.get('ctx', {}).get('error', problem['msg'])})"
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"][1:]).lstrip(".")
    return f"{where or 'body'}: {problem['msg']}"


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)
