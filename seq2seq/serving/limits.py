"""What one request to `seq2seq serve` may ask, how requests are batched, and the flags that set them;
light, so that `--help` reads it without a web framework."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ServiceLimits:
    """What one request may ask, and how requests are batched."""

    max_sentences: int = 64  # per request
    max_characters: int = 1000  # per sentence
    max_request_bytes: int = 1 << 20
    timeout_seconds: float = 30.0
    batch_sentences: int = 64  # per search batch, across requests
    batch_wait_seconds: float = 0.005


SERVICE_OPTIONS = (
    # flag, `ServiceLimits` field, type, metavar, help
    ("--max-sentences", "max_sentences", int, "N", "inputs (sentences, texts, prompts) per request (default 64; "
     "more: 413)"),
    ("--max-characters", "max_characters", int, "N", "characters per input (default 1000; more: 413)"),
    ("--max-request-bytes", "max_request_bytes", int, "BYTES", "bytes per request body (default 1 MiB; more: 413)"),
    ("--timeout", "timeout_seconds", float, "SECONDS", "how long a request may wait for its answer (default 30; "
     "then 504)"),
    ("--batch-sentences", "batch_sentences", int, "N", "inputs of concurrent requests decoded together (default "
     "64)"),
    ("--batch-wait", "batch_wait_seconds", float, "SECONDS", "how long to wait for more requests to batch "
     "(default 0.005)"),
)
