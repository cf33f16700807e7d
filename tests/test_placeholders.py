"""Placeholders found, compared and masked (seq2seq.data.placeholders)."""

from collections import Counter

import pytest

from seq2seq.data.placeholders import mask, match_rate, placeholder_symbols, placeholders, placeholders_match, unmask


@pytest.mark.parametrize("text, found", [
    ("cannot open %s: %s", ["%s", "%s"]),
    ("%1$s copied to %2$s", ["%1$s", "%2$s"]),
    ("%'d files, %5.2f%% done, %lu bytes, %-10s|", ["%'d", "%5.2f", "%%", "%lu", "%-10s"]),
    ("Hello %(name)s, you have %(count)d", ["%(name)s", "%(count)d"]),
    ("{0} of {1}: {name} {} {size:>5}", ["{0}", "{1}", "{name}", "{}", "{size:>5}"]),
    ("Delete %1 from %L2? %1.", ["%1", "%L2", "%1"]),
    ("%qD declared at %<%s%>; %H:%M on %Y, in %B", ["%qD", "%<", "%s", "%>", "%H", "%M", "%Y", "%B"]),
    ("%q#T and %10s and %1$s", ["%q#T", "%10s", "%1$s"]),
    ('<b>Bold</b> &amp; <a href="x">link</a>', ["<b>", "</b>", "&amp;", '<a href="x">', "</a>"]),
    ("line\\nnext \\t", ["\\n", "\\t"]),
    ("50% de los archivos, 100 % done, 3 < 4 > 2", []),
    ("copy <file> to <dir>, press <Ctrl>", []),
    ('<span weight="bold">x</span> <br/> <i>y</i>', ['<span weight="bold">', "</span>", "<br/>", "<i>", "</i>"]),
    ("a set {like this} is not a field", []),
])
def test_placeholders_are_found(text, found):
    assert placeholders(text) == found


def test_two_sides_match_as_multisets():
    assert placeholders_match("%s of %d", "%d de %s")
    assert not placeholders_match("cannot open %s", "no se puede abrir")
    assert not placeholders_match("%s", "%s %s")
    assert not placeholders_match("%'u file", "%u archivo")  # a flag dropped is a different placeholder
    assert match_rate(["%s a", "no placeholder", "{0} b"], ["%s x", "whatever", "b"]) == 50.0
    assert match_rate(["none"], ["nada"]) == 100.0


def test_masking_numbers_placeholders_by_first_appearance_and_shares_them_with_the_target():
    source, numbering = mask("No se pudo abrir %s: %(error)s (%s)")
    assert source == "No se pudo abrir ⦅1⦆: ⦅2⦆ (⦅1⦆)"
    assert numbering == {"%s": 1, "%(error)s": 2}
    target, same = mask("Could not open %s: %(error)s, {0}", numbering)
    assert target == "Could not open ⦅1⦆: ⦅2⦆, {0}"  # {0} is not in the source: left as text
    assert same is numbering and numbering == {"%s": 1, "%(error)s": 2}
    assert placeholder_symbols(3) == ["⦅1⦆", "⦅2⦆", "⦅3⦆"]


def test_unmasking_puts_the_source_text_back_and_drops_invented_symbols():
    source = "Copiar {0} a <b>%s</b>"
    _, numbering = mask(source)
    counts = Counter(placeholders(source))
    assert unmask("Copy ⦅1⦆ to ⦅2⦆⦅3⦆⦅4⦆", numbering, counts) == "Copy {0} to <b>%s</b>"
    assert unmask("Copy ⦅1⦆ ⦅9⦆ now", numbering, counts) == "Copy {0} now"


def test_unmasking_puts_a_placeholder_back_at_most_as_often_as_the_source_has_it():
    source = "%s de %s en {0}"
    masked, numbering = mask(source)
    assert masked == "⦅1⦆ de ⦅1⦆ en ⦅2⦆"
    counts = Counter(placeholders(source))
    assert unmask("⦅1⦆ of ⦅1⦆ in ⦅2⦆ ⦅2⦆ ⦅1⦆", numbering, counts) == "%s of %s in {0}"


def test_only_sixteen_symbols_are_used_and_the_rest_stays_text():
    text = " ".join(f"{{{number}}}" for number in range(20))
    masked, numbering = mask(text)
    assert masked.split()[15] == "⦅16⦆" and masked.split()[16:] == ["{16}", "{17}", "{18}", "{19}"]
    assert unmask(masked, numbering, Counter(placeholders(text))) == text
