"""`seq2seq serve` on loopback: every route, every limit and every error, with a bounded number of requests."""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving_harness import Service
from test_shortlist import UNKNOWN, one_word_shortlist_copy
from seq2seq.errors import Seq2SeqError
from seq2seq.serving.app import create_app
from seq2seq.serving.batcher import DynamicBatcher
from seq2seq.serving.limits import ServiceLimits
from seq2seq.serving.routes import RecentSearches
from seq2seq.tasks.translation.serving import ServedTranslator
from seq2seq.tasks.translation.translator import Translator

LIMITS = ServiceLimits(max_sentences=8, max_characters=60, max_request_bytes=4000, timeout_seconds=20,
                       batch_sentences=32, batch_wait_seconds=0.05)


@pytest.fixture(scope="module")
def translator(trained_run):
    return Translator.load(trained_run)


@pytest.fixture(scope="module")
def service(translator):
    with Service(create_app({"reverse": ServedTranslator(translator)}, LIMITS)) as running:
        yield running


def test_health_and_models_say_what_is_loaded(service, translator):
    health = service.client.get("/health").json()
    assert health["status"] == "ok" and health["models"] == ["reverse"]
    (model,) = service.client.get("/models").json()["models"]
    assert model["name"] == "reverse" and model["route"] == "/translate" and model["default"]
    assert model["settings"]["beam_size"] == translator.decode_config.beam_size
    assert "/translate" in service.client.get("/openapi.json").json()["paths"]


def test_translate_answers_as_the_translator_does(service, trained_run):
    sentences = ["a b c d", "  p o n  "]
    answer = service.client.post("/translate", json={"sentences": sentences})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "reverse"
    assert [result["text"] for result in answer.json()["results"]] == Translator.load(trained_run).translate(
        [sentence.strip() for sentence in sentences])

    beam = service.client.post("/translate", json={"sentences": ["a b c d"], "beam_size": 3, "n_best": 2,
                                                   "with_attention": True}).json()["results"][0]
    expected = Translator.load(trained_run, beam_size=3, n_best=2).translate_with_details(["a b c d"])[0]
    assert [hypothesis["text"] for hypothesis in beam["hypotheses"]] == [found.text for found in expected.hypotheses]
    assert [hypothesis["score"] for hypothesis in beam["hypotheses"]] == pytest.approx(
        [float(found.score) for found in expected.hypotheses], abs=1e-4)
    best = beam["hypotheses"][0]
    assert len(best["attention"]) == len(best["target_pieces"])
    assert all(len(row) == len(beam["source_pieces"]) for row in best["attention"])


def test_a_request_can_search_with_the_run_shortlist(trained_run, tmp_path):
    only_a = Translator.load(one_word_shortlist_copy(trained_run, tmp_path / "only-a", "a"), shortlist_per_piece=1,
                             shortlist_frequent=0)
    with Service(create_app({"only-a": ServedTranslator(only_a)}, LIMITS)) as service:
        def translate(**settings):
            answer = service.client.post("/translate", json={"sentences": ["b c d"], **settings})
            assert answer.status_code == 200, answer.text
            return answer.json()["results"][0]["text"]

        assert translate() == only_a.translate(["b c d"])[0] == "d c b"
        assert "a" in set(translate(shortlist=True).split()) <= {"a", UNKNOWN}  # all its shortlist offers
        assert translate(shortlist=False, beam_size=2) == "d c b"
    without = ServedTranslator(Translator(only_a.model, only_a.source_tokenizer, only_a.target_tokenizer,
                                          only_a.decode_config))
    with pytest.raises(Seq2SeqError, match="shortlist: no vocabulary shortlist was loaded with this model"):
        without.decode({"shortlist": True}, ["b c d"])  # what the batcher runs; its error is the request's 422


def test_concurrent_requests_are_decoded_in_shared_batches(service):
    """16 clients at once, one sentence each: far fewer searches than requests, each answer its own."""
    words = "a b c d e f g h i j k l m n o p".split()
    sentences = [" ".join(words[index:index + 4]) for index in range(12)] + ["a b", "c d", "e f", "g h"]
    before = service.client.get("/health").json()["batches"]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda sentence: service.client.post("/translate", json={"sentences": [sentence]}),
                                sentences))
    assert all(answer.status_code == 200 for answer in answers)
    batches = service.client.get("/health").json()["batches"] - before
    assert batches < len(sentences) / 2, f"{batches} searches for {len(sentences)} concurrent requests"
    for sentence, answer in zip(sentences, answers):
        assert answer.json()["results"][0]["text"] == service.client.post(
            "/translate", json={"sentences": [sentence]}).json()["results"][0]["text"]


@pytest.mark.parametrize("body, status, error", [
    (b'{"sentences": ["a b"', 422, "the body is not valid JSON"),
    (b'{"sentences": "a b"}', 422, "sentences: Input should be a valid list"),
    (b'{"sentences": ["a", 3]}', 422, "sentences[1]: Input should be a valid string"),
    (b'{"sentences": ["a"], "beam": 3}', 422, "beam: Extra inputs are not permitted"),
    (b'{"sentences": ["a"], "beam_size": 0}', 422, "beam_size: Input should be greater than or equal to 1"),
    (b'{"sentences": ["a b"], "beam_size": 2, "n_best": 3}', 422, "'decode.n_best' (3) cannot exceed 'decode.beam_size'"),
    (b'{"sentences": []}', 422, "sentences: give at least one"),
    (b'{"sentences": ["a", "  "]}', 422, "sentences[1] is empty"),
    (b'{"sentences": ["a"], "model": "other"}', 404, "no model named 'other' at /translate; loaded: reverse"),
    (json.dumps({"sentences": ["a"] * 9}).encode(), 413, "sentences: 9 in one request; at most 8"),
    (json.dumps({"sentences": ["a " * 31]}).encode(), 413, "sentences[0] has 62 characters; at most 60"),
    (json.dumps({"sentences": ["a"], "model": "x" * 5000}).encode(), 413, "the body is over 4,000 bytes"),
    ('{"sentences": ["\xe1"]}'.encode("latin-1"), 400, "the body is not UTF-8 JSON"),
])
def test_bad_requests_get_a_4xx_naming_the_problem_and_the_service_goes_on(service, body, status, error):
    answer = service.client.post("/translate", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert error in answer.json()["error"], answer.json()
    assert service.client.post("/translate", json={"sentences": ["a b"]}).status_code == 200


def test_a_body_without_a_length_and_an_unknown_route_are_refused(service):
    answer = service.client.post("/translate", content=iter([b'{"sentences": ["a"]}']),
                                 headers={"content-type": "application/json"})
    assert answer.status_code == 411 and "Content-Length" in answer.json()["error"]
    assert service.client.get("/nowhere").json() == {"error": "Not Found"}


class SlowAfterWarmUp:
    """A translator whose searches take `seconds` longer once `slow` is set (the service warms up first)."""

    def __init__(self, run, seconds):
        self.translator = Translator.load(run)
        self.seconds = seconds
        self.slow = False
        translate = self.translator.translate_with_details

        def slowly(sentences, with_attention=True):
            time.sleep(self.seconds if self.slow else 0)
            return translate(sentences, with_attention)

        self.translator.translate_with_details = slowly


def test_a_request_that_waits_too_long_gets_504_and_the_next_one_is_served(trained_run):
    slow = SlowAfterWarmUp(trained_run, 0.5)
    with Service(create_app({"reverse": ServedTranslator(slow.translator)}, ServiceLimits(timeout_seconds=0.2))) as running:
        slow.slow = True
        late = running.client.post("/translate", json={"sentences": ["a b"]})
        assert late.status_code == 504 and "not answered within 0.2 s" in late.json()["error"]
        slow.slow = False
        time.sleep(0.5)  # the search thread finishes the late request
        assert running.client.post("/translate", json={"sentences": ["a b"]}).status_code == 200


def test_the_batcher_splits_results_back_and_gives_an_error_to_its_own_request_only():
    calls = []

    def decode(settings, sentences):
        calls.append((settings, list(sentences)))
        if "boom" in sentences:
            raise ValueError("boom")
        return [f"{settings}:{sentence}" for sentence in sentences]

    async def scenario():
        batcher = DynamicBatcher(decode, ThreadPoolExecutor(1), max_sentences=10, wait_seconds=0.05)
        worker = asyncio.create_task(batcher.run())
        results = await asyncio.gather(batcher.submit("x", ["a", "b"]), batcher.submit("y", ["c"]),
                                       batcher.submit("x", ["d"]), batcher.submit("x", ["boom"]),
                                       return_exceptions=True)
        worker.cancel()
        return results

    results = asyncio.run(scenario())
    assert results[:3] == [["x:a", "x:b"], ["y:c"], ["x:d"]], "a bad input fails its own request only"
    assert isinstance(results[3], ValueError)
    assert sorted(calls) == [("x", ["a", "b"]), ("x", ["a", "b", "d", "boom"]), ("x", ["boom"]), ("x", ["d"]),
                             ("y", ["c"])], "the shared batch failed, then each request alone"


def test_the_batcher_takes_every_request_that_queued_during_a_search_however_busy_the_loop():
    """Requests queued while a search ran all join the next batch, even with no time left in the window
    (a busy event loop used to spend the window before the queue was read, and batches stayed small)."""
    calls = []

    def decode(settings, sentences):
        calls.append(list(sentences))
        return sentences

    async def scenario():
        batcher = DynamicBatcher(decode, ThreadPoolExecutor(1), max_sentences=64, wait_seconds=0)
        answers = [asyncio.ensure_future(batcher.submit("x", [str(number)])) for number in range(20)]
        await asyncio.sleep(0)  # all 20 are queued before the worker starts
        worker = asyncio.create_task(batcher.run())
        results = await asyncio.gather(*answers)
        worker.cancel()
        return results

    assert asyncio.run(scenario()) == [[str(number)] for number in range(20)]
    assert calls == [[str(number) for number in range(20)]]


def test_the_batcher_decodes_up_to_searches_batches_at_once_and_no_more():
    """Three one-sentence batches, two searches: two run together (each waits until the other
    has started), never three; `finish` waits for the batches in flight."""
    both_started = threading.Barrier(2, timeout=10)
    running, most = [], []
    lock = threading.Lock()

    def decode(settings, sentences):
        with lock:
            running.append(settings)
            most.append(len(running))
        if settings != "c":
            both_started.wait()
        time.sleep(0.05)
        with lock:
            running.remove(settings)
        return sentences

    async def scenario():
        batcher = DynamicBatcher(decode, ThreadPoolExecutor(2), max_sentences=1, wait_seconds=0, searches=2)
        answers = [asyncio.ensure_future(batcher.submit(settings, [settings])) for settings in "abc"]
        await asyncio.sleep(0)
        worker = asyncio.create_task(batcher.run())
        results = await asyncio.gather(*answers)
        worker.cancel()
        await batcher.finish()
        return results

    assert asyncio.run(scenario()) == [["a"], ["b"], ["c"]]
    assert max(most) == 2, most


def test_recent_searches_keep_the_default_and_a_bounded_number_of_others():
    built = []
    searches = RecentSearches("default", lambda settings: built.append(settings) or f"search {settings}", size=3)
    assert searches.get({}) == "default"
    for seed in (1, 2, 1, 3):
        searches.get({"seed": seed})
    assert built == [{"seed": 1}, {"seed": 2}, {"seed": 3}], "a search is built once while it is kept"
    assert list(searches.entries) == [(), (("seed", 1),), (("seed", 3),)], "the least recently used went first"


def test_stopping_the_service_finishes_the_requests_in_flight(trained_run):
    slow = SlowAfterWarmUp(trained_run, 1.0)
    answers = []
    with Service(create_app({"reverse": ServedTranslator(slow.translator)})) as running:
        slow.slow = True
        sender = threading.Thread(target=lambda: answers.append(
            running.client.post("/translate", json={"sentences": ["a b c"]})))
        sender.start()
        time.sleep(0.3)  # the request is being decoded
        running.server.should_exit = True  # what Ctrl-C or SIGTERM does
        sender.join(timeout=60)
    assert answers and answers[0].status_code == 200 and answers[0].json()["results"][0]["text"] == "c b a"


@pytest.mark.parametrize("arguments, message", [
    (["--max-sentences", "0"], "--max-sentences must be above 0, got 0"),
    (["--timeout", "-1"], "--timeout must be above 0, got -1.0"),
    (["--batch-wait", "-1"], "--batch-wait must be at least 0, got -1.0"),
    (["--timeout", "nan"], "--timeout must be above 0, got nan"),
])
def test_serve_refuses_bad_limits_and_runs_before_starting(trained_run, tmp_path, capsys, arguments, message):
    from seq2seq.cli import main

    assert main(["serve", str(trained_run), *arguments]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'missing'}: run directory not found"
    assert main(["serve", str(trained_run), str(trained_run)]) == 2
    assert f"two runs are named {trained_run.name!r}" in capsys.readouterr().err
