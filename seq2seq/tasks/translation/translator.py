"""Python API: `Translator.load(run_dir).translate(["¿Dónde está el libro?"])`."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path


from seq2seq.batch_shapes import padded_ids
from seq2seq.data.placeholders import mask, placeholders, unmask
from seq2seq.config import updated_decode
from seq2seq.tasks.translation.ensemble import EnsembleModel, check_same_tokenizers
from seq2seq.errors import Seq2SeqError
from seq2seq.search.hypotheses import BestHypothesis, read_hypotheses
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.training.run_dir import RunDirectory
from seq2seq.search import CompiledSearch
from seq2seq.search.placeholder_quota import PlaceholderQuota
from seq2seq.search.shortlist import Shortlist
from seq2seq.data.lexical_shortlist import load_shortlist
from seq2seq.tokens import EOS_ID
from seq2seq.data.tokenizer import load_tokenizers


@dataclass
class Translation(BestHypothesis):
    """A source sentence and its n best hypotheses, best first."""

    source: str
    source_pieces: list
    hypotheses: list


class Translator:
    """Translates lists of sentences with one model and the search its decode config describes.

    With `protect_placeholders` (a run trained with `tokenizer.placeholders`), each sentence's
    placeholders are masked before tokenization and put back into every hypothesis; with
    `decode.keep_placeholders` as well, the search makes every hypothesis hold them (`placeholder_quota`).
    """

    def __init__(self, model, source_tokenizer, target_tokenizer, decode_config, protect_placeholders=False,
                 shortlist_table=None):
        """`shortlist_table`: ([candidates per run], by_frequency) as `load_shortlist` reads them, for
        `decode.shortlist`."""
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.decode_config = decode_config
        self.protect_placeholders = protect_placeholders
        self.shortlist_table = shortlist_table
        quota = None
        if protect_placeholders and decode_config.keep_placeholders:
            quota = PlaceholderQuota.from_tokenizers(source_tokenizer, target_tokenizer)
        required = () if quota is None else quota.target_ids
        self.shortlist = _shortlist(shortlist_table, decode_config, required) if decode_config.shortlist else None
        # Keeping attention weights costs time and memory (5 % for beam 5), so only searches that return them do.
        self._searches = {with_attention: CompiledSearch(model, decode_config, with_attention, shortlist=self.shortlist,
                                                         placeholders=quota)
                          for with_attention in (False, True)}

    @classmethod
    def load(cls, run_dir, model_file=None, ensemble=(), **decode_settings):
        """Load the best model and tokenizers of a run directory made by `seq2seq train`.

        `model_file` replaces `model.keras` (e.g. by one from `seq2seq average`); `ensemble` adds the
        best models of other run directories with the same tokenizers. Keyword arguments change the
        run's decode settings, e.g. `beam_size=5, length_penalty=0.6`.
        """
        run = RunDirectory(run_dir)
        config = run.load_config()
        decode = updated_decode(config.decode, decode_settings)
        members, tokenizers = [], []
        for path, member_file in [(run.path, model_file), *((Path(other), None) for other in ensemble)]:
            model, source_tokenizer, target_tokenizer = _load_run_model(path, member_file, decode.precision)
            members.append(model)
            tokenizers.append((path, source_tokenizer, target_tokenizer))
        check_same_tokenizers(tokenizers)
        model = EnsembleModel(members) if ensemble else members[0]
        # Read whenever the runs have one (a few MB), so that `with_decode` can turn the shortlist on; a
        # damaged one stops only the searches that would use it.
        run_dirs = [RunDirectory(path) for path, *_ in tokenizers]
        try:
            shortlist_table = _read_shortlists(run_dirs, *tokenizers[0][1:])
        except Seq2SeqError:
            if decode.shortlist:
                raise
            shortlist_table = None
        return cls(model, *tokenizers[0][1:], decode, protect_placeholders=config.tokenizer.placeholders,
                   shortlist_table=shortlist_table)

    def with_decode(self, decode_config) -> "Translator":
        """The same model and tokenizers with other search settings (the service's per-request ones)."""
        return type(self)(self.model, self.source_tokenizer, self.target_tokenizer, decode_config,
                          self.protect_placeholders, self.shortlist_table)

    def translate(self, sentences) -> list:
        """Translate a list of sentences; returns a list of strings in the same order."""
        return [result.text for result in self.translate_with_details(sentences, with_attention=False)]

    def translate_with_details(self, sentences, with_attention=True) -> list:
        """-> one `Translation` per sentence, in order, each with its n-best hypotheses.

        Without `with_attention`, hypotheses carry no attention weights, and beam search runs faster.
        """
        sentences = list(sentences)
        for index, sentence in enumerate(sentences):
            if not isinstance(sentence, str) or not sentence.strip():
                raise Seq2SeqError(f"sentence {index + 1} is empty: give text to translate")
        masked = [mask(sentence) if self.protect_placeholders else (sentence, None) for sentence in sentences]
        source_ids = [ids + [EOS_ID] for ids in self.source_tokenizer.encode(text for text, _ in masked)]
        results = [None] * len(sentences)
        # Sorting by length keeps padding, and so wasted steps, small in every batch; the batch's shape is
        # rounded to one of a few (batch_shapes.py), so a long-running service's memory stops growing.
        order = sorted(range(len(sentences)), key=lambda i: len(source_ids[i]))
        batch_size = self.decode_config.batch_size
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            found = self._searches[with_attention](padded_ids([source_ids[index] for index in batch]))
            for row, index in enumerate(batch):
                hypotheses = read_hypotheses(found, row, self.target_tokenizer, len(source_ids[index]))
                numbering = masked[index][1]
                if numbering is not None:
                    counts = Counter(placeholders(sentences[index]))
                    for hypothesis in hypotheses:
                        hypothesis.text = unmask(hypothesis.text, numbering, counts)
                results[index] = Translation(sentences[index], self.source_tokenizer.id_to_piece(source_ids[index]),
                                             hypotheses)
        return results


def moses_nbest_lines(translations, first_number=0) -> list:
    """n-best lists as Moses writes them: `sentence number ||| hypothesis ||| score`, best first; the
    sentences are numbered from `first_number`."""
    return [f"{number} ||| {hypothesis.text} ||| {hypothesis.score:.4f}"
            for number, translation in enumerate(translations, start=first_number)
            for hypothesis in translation.hypotheses]


def _read_shortlists(runs, source_tokenizer, target_tokenizer):
    """(every run's candidate table, the first run's frequency order): an ensemble's search may choose
    any member's candidates."""
    tables = [load_shortlist(run.shortlist_file, source_tokenizer.vocab_size, target_tokenizer.vocab_size)
              for run in runs]
    return [candidates for candidates, _ in tables], tables[0][1]


def _shortlist(table, decode, required):
    if table is None:
        raise Seq2SeqError("shortlist: no vocabulary shortlist was loaded with this model (the run's shortlist.npz "
                           "is missing or unreadable; Translator.load(run_dir, shortlist=True) says which)")
    candidate_tables, by_frequency = table
    stored = min(candidates.shape[1] for candidates in candidate_tables)
    if decode.shortlist_per_piece > stored:
        raise Seq2SeqError(f"decode.shortlist_per_piece: the run's shortlist keeps {stored} candidates per source "
                           f"piece, got {decode.shortlist_per_piece}")
    return Shortlist(candidate_tables, by_frequency, decode.shortlist_per_piece, decode.shortlist_frequent, required)


def _load_run_model(run_dir, model_file=None, precision=None):
    """A run's model (its best, or `model_file`) in `precision`, with the tokenizers it was trained with."""
    run, _, model, model_file = load_run_model(run_dir, "translation", TranslationModel, model_file, precision)
    source_tokenizer, target_tokenizer = load_tokenizers(run.path)
    settings = model.get_config()
    for side, tokenizer in (("source", source_tokenizer), ("target", target_tokenizer)):
        check_size(model_file, settings[f"{side}_vocab_size"], tokenizer.vocab_size, f"{side} pieces",
                   tokenizer.model_file)
    return model, source_tokenizer, target_tokenizer
