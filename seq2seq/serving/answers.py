"""How `seq2seq serve` says no: the error a handler raises, the JSON body every refusal has, pydantic's
complaint as one line, and the body-size check that runs before a body is read."""

from starlette.responses import JSONResponse


class ServiceError(Exception):
    """A request the service refuses: `status` is the HTTP status, the message names the problem."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def error_response(status, message):
    """Every refusal's body: `{"error": "..."}`, one line naming the problem."""
    return JSONResponse({"error": message}, status_code=status)


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
