"""Dynamic batching: the inputs of concurrent requests decoded together in one search.

A batched search shares each decoding step among all its sentences, so a server that decoded each
request alone would leave most of the machine's throughput unused under concurrency. Requests wait in a
queue; the worker takes the first and everything already queued behind it, then whatever else arrives
within `wait_seconds`, until at least `max_sentences` inputs are there (the last request whole), and
decodes the requests that ask for the same settings as one batch. Up to `searches` batches are decoded
at once, each in its own thread of the executor: a search of a few dozen sentences leaves much of a
CPU idle in its small operations and its Python between steps, and two at once decode about 1.3 times
as many sentences per second as one on two cores (BENCHMARKS.md). When a shared batch fails, each of its
requests is decoded alone, so that only the request with the bad input gets the error, numbered as in
its own request.
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

    `decode(settings, sentences) -> list` (one result per sentence) runs in `executor`, which should have
    `searches` threads, and must be safe to call from that many at once; `settings` must be hashable,
    and requests with equal settings share a batch.
    """

    def __init__(self, decode, executor, max_sentences=64, wait_seconds=0.005, searches=1):
        self.decode = decode
        self.executor = executor
        self.max_sentences = max_sentences
        self.wait_seconds = wait_seconds
        self.searches = searches
        self.queue = asyncio.Queue()
        self.batches = 0  # decode calls made, for /health and the tests
        self.decoding = set()  # the batches being decoded (held, or the event loop may drop a task early)

    async def submit(self, settings, sentences):
        request = _Request(settings, list(sentences), asyncio.get_running_loop().create_future())
        await self.queue.put(request)
        return await request.done

    async def run(self):
        """The worker: runs until cancelled; the batches it started go on (`finish` waits for them)."""
        free = asyncio.Semaphore(self.searches)
        while True:
            await free.acquire()
            gathered = await self._gather()
            task = asyncio.create_task(self._decode_gathered(gathered))
            self.decoding.add(task)
            task.add_done_callback(lambda done: (self.decoding.discard(done), free.release()))

    async def finish(self):
        """Wait for the batches being decoded: on shutdown, before their threads go."""
        await asyncio.gather(*self.decoding, return_exceptions=True)

    async def _gather(self):
        loop = asyncio.get_running_loop()
        gathered = [await self.queue.get()]
        deadline = loop.time() + self.wait_seconds
        while sum(len(request.sentences) for request in gathered) < self.max_sentences:
            if not self.queue.empty():  # what waited during the last search: all of it, however long that takes
                gathered.append(self.queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                gathered.append(await asyncio.wait_for(self.queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return gathered

    async def _decode_gathered(self, gathered):
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
