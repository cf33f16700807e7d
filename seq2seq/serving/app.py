"""`seq2seq serve`: trained translation runs behind an HTTP API, on FastAPI and uvicorn.

    POST /translate   {"sentences": [...], "model": NAME, "beam_size": 5, "n_best": 3, "with_attention": true}
    GET  /models      what is loaded: each run's task, directory, decode defaults and model settings
    GET  /health      up, and how many search batches it has run
    GET  /docs        the OpenAPI documentation FastAPI writes

Requests are decoded together by a `DynamicBatcher`. Bad input is answered with a 4xx and a JSON body
`{"error": "..."}` naming the problem, never a crash: a body that is not UTF-8 400; wrong JSON or
types, unknown fields and empty sentences 422; more sentences, longer sentences or a larger body than
the limits allow 413; a body without a length 411; an unknown model 404; a request that waits longer than the timeout 504.
"""

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from seq2seq.config import updated_decode
from seq2seq.errors import Seq2SeqError
from seq2seq.serving.batcher import DynamicBatcher
from seq2seq.serving.limits import ServiceLimits


class TranslateRequest(BaseModel):
    """The search settings default to the run's `decode:` config; they are checked like a config file's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sentences: list[str] = Field(description="the sentences to translate, one translation each")
    model: Optional[str] = Field(None, description="a loaded run's name (GET /models); default: the first")
    beam_size: Optional[int] = Field(None, ge=1, le=64)
    n_best: Optional[int] = Field(None, ge=1)
    length_penalty: Optional[float] = Field(None, ge=0)
    coverage_penalty: Optional[float] = Field(None, ge=0)
    with_attention: bool = Field(False, description="add each hypothesis's attention, (target, source) weights")


class ServiceError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def create_app(translators: dict, limits: ServiceLimits = ServiceLimits()) -> FastAPI:
    """An app serving `translators` ({name: a loaded `Translator`}, the first the default)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
    searches = {(name, ()): loaded for name, loaded in translators.items()}  # others share the loaded model

    def decode(key, sentences):
        name, settings, with_attention = key
        if (name, settings) not in searches:
            loaded = translators[name]
            decode_config = updated_decode(loaded.decode_config, dict(settings), source="request")
            searches[name, settings] = type(loaded)(loaded.model, loaded.source_tokenizer, loaded.target_tokenizer,
                                                    decode_config)
        return [_as_json(result, with_attention)
                for result in searches[name, settings].translate_with_details(sentences, with_attention)]

    batcher = DynamicBatcher(decode, executor, limits.batch_sentences, limits.batch_wait_seconds)

    @asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        for name in translators:  # trace the default search before the first request
            await loop.run_in_executor(executor, decode, (name, (), False), ["hola"])
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()
        executor.shutdown(wait=True)

    app = FastAPI(title="seq2seq", summary="translation runs trained with seq2seq", lifespan=lifespan)
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

    @app.get("/health")
    async def health():
        return {"status": "ok", "models": list(translators), "batches": batcher.batches}

    @app.get("/models")
    async def models():
        return {"models": [{"name": name, "task": "translation", "decode": dataclasses.asdict(loaded.decode_config),
                            "default": index == 0} for index, (name, loaded) in enumerate(translators.items())]}

    @app.post("/translate")
    async def translate(request: TranslateRequest):
        name = request.model or next(iter(translators))
        if name not in translators:
            raise ServiceError(404, f"no model named {name!r}; loaded: {', '.join(translators)}")
        _check_sentences(request.sentences, limits)
        settings = tuple(sorted((key, value) for key, value in request.model_dump(
            exclude={"sentences", "model", "with_attention"}).items() if value is not None))
        try:
            updated_decode(translators[name].decode_config, dict(settings), source="request")
        except Seq2SeqError as error:
            raise ServiceError(422, str(error).removeprefix("request: ")) from None
        try:
            results = await asyncio.wait_for(batcher.submit((name, settings, request.with_attention),
                                                            [sentence.strip() for sentence in request.sentences]),
                                             limits.timeout_seconds)
        except asyncio.TimeoutError:
            raise ServiceError(504, f"not translated within {limits.timeout_seconds:g} s; send fewer or shorter "
                               "sentences, or try again") from None
        except Seq2SeqError as error:
            raise ServiceError(422, str(error)) from None
        return {"model": name, "translations": results}

    return app


def _check_sentences(sentences, limits):
    if not sentences:
        raise ServiceError(422, "sentences: give at least one sentence")
    if len(sentences) > limits.max_sentences:
        raise ServiceError(413, f"sentences: {len(sentences)} in one request; at most {limits.max_sentences}")
    for index, sentence in enumerate(sentences):
        if not sentence.strip():
            raise ServiceError(422, f"sentences[{index}] is empty")
        if len(sentence) > limits.max_characters:
            raise ServiceError(413, f"sentences[{index}] has {len(sentence):,} characters; at most "
                               f"{limits.max_characters:,}")


def _as_json(translation, with_attention):
    def hypothesis(found):
        entry = {"text": found.text, "score": round(float(found.score), 4)}
        if with_attention:
            entry["attention"] = [[round(float(weight), 4) for weight in row] for row in found.attention]
            entry["target_pieces"] = list(found.target_pieces)
        return entry

    result = {"text": translation.text, "hypotheses": [hypothesis(found) for found in translation.hypotheses]}
    if with_attention:
        result["source_pieces"] = list(translation.source_pieces)
    return result


def _first_problem(errors):
    """Pydantic's first complaint as one line: `sentences[2]: Input should be a valid string`."""
    problem = errors[0]
    if problem.get("type") == "json_invalid":
        return f"the body is not valid JSON ({problem.get('ctx', {}).get('error', problem['msg'])})"
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"][1:]).lstrip(".")
    return f"{where or 'body'}: {problem['msg']}"


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)
