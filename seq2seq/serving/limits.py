"""What one request to `seq2seq serve` may ask, and how requests are batched; light, so `--help` can read it."""

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
