"""What one request to `seq2seq serve` may ask, how requests are batched, and the flags that set them;
light, so that `--help` reads it without a web framework."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ServiceLimits:
    """What one request may ask, and how requests are batched."""

    max_sentences: int = 64  # per request
    max_characters: int = 1000  # per sentence
    max_request_bytes: int = 1 << 20  # a text route's body
    max_images: int = 8  # per request
    max_image_bytes: int = 4 << 20  # per image, as encoded (PNG, JPEG...)
    max_image_pixels: int = 25_000_000  # per image, of the square it is padded to (the longer side squared)
    timeout_seconds: float = 30.0
    batch_sentences: int = 64  # per search batch, across requests
    batch_wait_seconds: float = 0.005
    searches: int = 2  # batches decoded at once, each in its own thread

    @property
    def max_image_request_bytes(self) -> int:
        """An image route's body: `max_images` images at most, base64 making 4 bytes of every 3, and the settings."""
        return self.max_images * -(-self.max_image_bytes * 4 // 3) + (64 << 10)


SERVICE_OPTIONS = (
    # flag, `ServiceLimits` field, type, metavar, help
    ("--max-sentences", "max_sentences", int, "N", "inputs (sentences, texts, prompts) per request (default 64; "
     "more: 413)"),
    ("--max-characters", "max_characters", int, "N", "characters per input (default 1000; more: 413)"),
    ("--max-request-bytes", "max_request_bytes", int, "BYTES", "bytes per request body of a text route (default "
     "1 MiB; more: 413)"),
    ("--max-images", "max_images", int, "N", "images per request to /caption or /classify-image (default 8; more: "
     "413); such a body may hold that many images of the largest size"),
    ("--max-image-bytes", "max_image_bytes", int, "BYTES", "bytes per image file (default 4 MiB; more: 413)"),
    ("--max-image-pixels", "max_image_pixels", int, "N", "pixels of the square an image is padded to (the longer "
     "side squared), read before decoding (default 25,000,000; more: 413; Pillow itself refuses above about "
     "179 million)"),
    ("--timeout", "timeout_seconds", float, "SECONDS", "how long a request may wait for its answer (default 30; "
     "then 504)"),
    ("--batch-sentences", "batch_sentences", int, "N", "inputs of concurrent requests decoded together (default "
     "64)"),
    ("--batch-wait", "batch_wait_seconds", float, "SECONDS", "how long to wait for more requests to batch "
     "(default 0.005)"),
    ("--searches", "searches", int, "N", "batches decoded at once, each in its own thread (default 2: on two cores "
     "two decode about 1.3 times as fast as one)"),
)
