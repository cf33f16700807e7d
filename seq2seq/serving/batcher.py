"""Dynamic batching: the inputs of concurrent requests decoded together in one search.

A batched search shares each decoding step among all its sentences, so a server that decoded each
request alone would leave most of the machine's throughput unused under concurrency. Requests wait in a
queue; the worker takes the first, then whatever else arrives within `wait_seconds` until at least
`max_sentences` inputs are there (the last request whole), and decodes the requests that ask for the
same settings as one batch, in one thread (the model's compiled search is not re-entered
concurrently). When a shared batch fails, each of its requests is decoded alone, so that only the
request with the bad input gets the error, numbered as in its own request.
"""

import asyncio
from dataclasses import dataclass, field


@dataclass
class _Request:
    settings: tuple
    sentences: list
    done: asyncio.Future = field(repr=False)


class DynamicBatcher:
    """`await batcher.submit(settings, sentences)` -> `decode(settings, sentences)`'s results for them.

    `decode(settings, sentences) -> list` (one result per sentence) runs in `executor`; `settings`
    must be hashable, and requests with equal settings share a batch.
    """

    def __init__(self, decode, executor, max_sentences=64, wait_seconds=0.005):
        self.decode = decode
        self.executor = executor
        self.max_sentences = max_sentences
        self.wait_seconds = wait_seconds
        self.queue = asyncio.Queue()
        self.batches = 0  # decode calls made, for /health and the tests

    async def submit(self, settings, sentences):
        request = _Request(settings, list(sentences), asyncio.get_running_loop().create_future())
        await self.queue.put(request)
        return await request.done

    async def run(self):
        """The worker: runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            gathered = [await self.queue.get()]
            deadline = loop.time() + self.wait_seconds
            while sum(len(request.sentences) for request in gathered) < self.max_sentences:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    gathered.append(await asyncio.wait_for(self.queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            for settings in dict.fromkeys(request.settings for request in gathered):
                await self._decode_together([request for request in gathered if request.settings == settings])

    async def _decode_together(self, requests):
        requests = [request for request in requests if not request.done.cancelled()]  # e.g. timed out
        if not requests:
            return
        sentences = [sentence for request in requests for sentence in request.sentences]
        self.batches += 1
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self.executor, self.decode, requests[0].settings, sentences)
        except Exception as error:  # noqa: BLE001  (the requests get the error, the worker goes on)
            if len(requests) > 1:
                for request in requests:
                    await self._decode_together([request])
                return
            if not requests[0].done.done():
                requests[0].done.set_exception(error)
            return
        start = 0
        for request in requests:
            if not request.done.done():
                request.done.set_result(results[start:start + len(request.sentences)])
            start += len(request.sentences)
