"""The software-es-en corpus: catalogs read, messages cleaned, packages split, built once (no network)."""

import json
from collections import Counter

import polib
import pytest

from seq2seq.cli import main
from seq2seq.data import software
from seq2seq.data.gettext_catalogs import Message, read_catalog
from seq2seq.data.message_cleaning import clean_message
from seq2seq.data.placeholders import placeholders_match
from seq2seq.errors import Seq2SeqError
from seq2seq.paths import default_cache_dir

from debian_package_stub import fake_deb

SPANISH_PLURALS = "nplurals=2; plural=(n != 1);"


def catalog(entries, plural_forms=SPANISH_PLURALS) -> polib.POFile:
    """A catalog of `entries`: (msgid, msgstr) pairs, or polib.POEntry objects as they are."""
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": plural_forms}
    for entry in entries:
        po.append(entry if isinstance(entry, polib.POEntry) else polib.POEntry(msgid=entry[0], msgstr=entry[1]))
    return po


def write_package(packages_dir, name, catalogs):
    """`packages_dir/<name>_1.0-1_amd64.deb` with usr/share/locale/es/LC_MESSAGES/<domain>.mo per catalog."""
    root = packages_dir / f"{name}-root"
    messages = root / "usr/share/locale/es/LC_MESSAGES"
    messages.mkdir(parents=True)
    (root / "usr/share/doc").mkdir(parents=True)
    (root / "usr/share/doc/README").write_text("not a catalog")
    for domain, po in catalogs.items():
        if isinstance(po, bytes):
            (messages / f"{domain}.mo").write_bytes(po)  # a damaged catalog
        else:
            po.save_as_mofile(str(messages / f"{domain}.mo"))
    return fake_deb(root, packages_dir / f"{name}_1.0-1_amd64.deb")


def test_a_catalog_gives_pairs_with_plural_forms_paired_per_form(tmp_path):
    entries = [
        ("Open file", "Abrir archivo"),
        ("Untranslated", ""),
        polib.POEntry(msgid="%d file", msgid_plural="%d files", msgstr_plural={0: "%d archivo", 1: "%d archivos"}),
        polib.POEntry(msgid="Guess", msgstr="Suposición", flags=["fuzzy"]),
        polib.POEntry(msgid="Open", msgstr="Abierto", msgctxt="state"),
    ]
    po_text = str(catalog(entries))
    from_po = read_catalog(po_text.encode(), "x.po")
    assert Message("Guess", "Suposición", fuzzy=True) in from_po  # .po files keep the fuzzy flag
    assert Message("%d file", "%d archivo", plural_form="singular") in from_po
    assert Message("%d files", "%d archivos", plural_form="plural") in from_po
    catalog(entries).save_as_mofile(str(tmp_path / "x.mo"))
    from_mo = read_catalog((tmp_path / "x.mo").read_bytes(), "x.mo")
    assert {message.english for message in from_mo} == {"Open file", "%d file", "%d files", "Open"}  # msgfmt drops fuzzy
    three_forms = catalog([polib.POEntry(msgid="%d day", msgid_plural="%d days",
                                         msgstr_plural={0: "%d día", 1: "%d de días", 2: "%d días"})],
                          "nplurals=3; plural=n == 1 ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;")
    assert [message.spanish for message in read_catalog(str(three_forms).encode(), "y.po")] == ["%d día", "%d días"]
    latin1 = str(catalog([("Open file", "Abrir archivo en español")])).replace("charset=UTF-8", "charset=ISO-8859-1")
    assert read_catalog(latin1.encode("latin-1"), "old.po")[0].spanish == "Abrir archivo en español"
    with pytest.raises(Seq2SeqError, match=r"^broken.mo: not a readable gettext catalog"):
        read_catalog(b"\xde\x12\x04\x95 cut short", "broken.mo")


@pytest.mark.parametrize("english, spanish, expected, notes", [
    ("_File", "_Archivo", [("File", "Archivo")], ["English accelerator marks '_'", "Spanish accelerator marks '_'"]),
    ("Save _As…", "Guardar _como…", [("Save As…", "Guardar como…")], ["English accelerator marks '_'", "Spanish accelerator marks '_'"]),
    ("Find Ne_xt", "Buscar _siguiente", [("Find Next", "Buscar siguiente")], ["English accelerator marks '_'", "Spanish accelerator marks '_'"]),
    ("Zoom _in", "Ampliar", [("Zoom in", "Ampliar")], ["English accelerator marks '_'"]),
    ("_Open", "A_brir", [("Open", "Abrir")], ["English accelerator marks '_'", "Spanish accelerator marks '_'"]),
    ("&Quit", "&Salir", [("Quit", "Salir")], ["English accelerator marks '&'", "Spanish accelerator marks '&'"]),
    ("C&lear All", "&Borrar todo", [("Clear All", "Borrar todo")], ["English accelerator marks '&'", "Spanish accelerator marks '&'"]),
    ("set use_ssl first", "active use_ssl antes", [("set use_ssl first", "active use_ssl antes")], []),
    ("my_file and _Open", "mi_archivo y _Abrir", [("my_file and _Open", "mi_archivo y _Abrir")], []),
    ("Tom &amp; Jerry", "Tom &amp; Jerry y", [("Tom &amp; Jerry", "Tom &amp; Jerry y")], []),
    ("Salt && &Pepper", "Sal && &Pimienta", [("Salt && Pepper", "Sal && Pimienta")], ["English accelerator marks '&'", "Spanish accelerator marks '&'"]),
    ("  Copy   %s\n", " Copiar\t%s ", [("Copy %s", "Copiar %s")], []),
    ("Usage: %s [OPTION]\n  -a, --all    show all\n  -q    quiet, no output\n",
     "Uso: %s [OPCIÓN]\n  -a, --all    muestra todo\n  -q    silencioso, sin salida\n",
     [("Usage: %s [OPTION]", "Uso: %s [OPCIÓN]"), ("-a, --all show all", "-a, --all muestra todo"),
      ("-q quiet, no output", "-q silencioso, sin salida")], ["messages of several lines split into item pairs"]),
    ("Remove the file when\nthe copy is done.", "Elimina el archivo\ncuando la copia termina.",
     [("Remove the file when the copy is done.", "Elimina el archivo cuando la copia termina.")], []),
    ("One.\nTwo.", "Uno. Dos.", [("One. Two.", "Uno. Dos.")], ["messages of several lines kept whole"]),
    # Wrapped at other words, the second lines open two different items: the counts agree by chance.
    ("  -F, -f, --form-feed  use form feeds\n  -w, --width=WIDTH  set the width\n",
     "  -F, -f, --form-feed  usa saltos de página\n  ANCHO (8) espacios\n",
     [("-F, -f, --form-feed use form feeds -w, --width=WIDTH set the width",
       "-F, -f, --form-feed usa saltos de página ANCHO (8) espacios")], ["messages of several lines kept whole"]),
    ("OK", "OK", [], ["pairs whose two sides are identical"]),
    ("%s: %s", "%s : %s", [], ["pairs without a letter on one side"]),
    ("cannot open %s", "no se puede abrir", [], ["pairs whose placeholders, markup or escapes differ"]),
    ("Open", "", [], ["untranslated messages"]),
])
def test_cleaning_rules(english, spanish, expected, notes):
    counted = Counter()
    assert clean_message(Message(english, spanish), counted) == expected
    assert len(counted) == len(notes) and all(any(note in name for name in counted) for note in notes), counted
    fuzzy = Counter()
    assert clean_message(Message(english, spanish, fuzzy=True), fuzzy) == [] and fuzzy == {"fuzzy translations (left out)": 1}


def package_list(tmp_path, text):
    path = tmp_path / "packages.txt"
    path.write_text(text)
    return path


def test_the_corpus_is_split_by_package_without_leaks_and_built_once(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    packages = cache / "packages"
    packages.mkdir(parents=True)
    write_package(packages, "editor", {"editor": catalog([("_Open file", "_Abrir archivo"), ("Cancel", "Cancelar"),
                                                          ("cannot read %s", "no se puede leer %s"), ("Save", "Guardar")])})
    write_package(packages, "shell", {"shell": catalog([("Cancel", "Cancelar"), ("Exit the shell", "Sale del shell"),
                                                        ("Save", "Salvar")]),
                                      "shell-extra": catalog([("Jobs: %d", "Trabajos: %d")]),
                                      "shell-broken": b"\xde\x12\x04\x95 cut short"})
    write_package(packages, "viewer", {"viewer": catalog([("Zoom in", "Ampliar"), ("Exit the shell", "Salir"),
                                                          ("Print %s", "Imprimir %s")])})
    write_package(packages, "player", {"player": catalog([("Play", "Reproducir"), ("Zoom in", "Acercar"),
                                                          ("Pause", "Pausa")])})
    listing = package_list(tmp_path, "# test list\neditor\nshell   # trailing comment\nviewer dev\nplayer test\n")
    # Every package is in the cache's packages/ folder, so apt-get is not run.
    assert main(["data", "software-es-en", "--cache-dir", str(cache), "--packages", str(listing)]) == 0
    printed = capsys.readouterr().out
    assert "software corpus (es -> en): train 7, dev 2, test 2 sentence pairs in" in printed
    assert "shell-broken.mo: not a readable gettext catalog" in printed
    directory = software.software_corpus_dir(cache)
    read = {split: [tuple(columns) for columns in zip(*((directory / f"{split}.{suffix}").read_text().splitlines()
                                                        for suffix in ("es", "en", "origin")))]
            for split in software.SPLITS}
    # A .mo holds its messages sorted by msgid; catalogs are read in name order.
    assert read["train"] == [("Cancelar", "Cancel", "editor/editor.mo"), ("Guardar", "Save", "editor/editor.mo"),
                             ("Abrir archivo", "Open file", "editor/editor.mo"),
                             ("no se puede leer %s", "cannot read %s", "editor/editor.mo"),
                             ("Trabajos: %d", "Jobs: %d", "shell/shell-extra.mo"),
                             ("Sale del shell", "Exit the shell", "shell/shell.mo"), ("Salvar", "Save", "shell/shell.mo")]
    assert read["dev"] == [("Imprimir %s", "Print %s", "viewer/viewer.mo"), ("Ampliar", "Zoom in", "viewer/viewer.mo")]
    assert read["test"] == [("Pausa", "Pause", "player/player.mo"), ("Reproducir", "Play", "player/player.mo")]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["sizes"] == {"train": 7, "dev": 2, "test": 2}
    cleaning = manifest["cleaning"]
    assert cleaning["train: exact duplicate pairs (left out)"] == 1
    assert cleaning["dev: pairs whose Spanish or English occurs in an earlier split (left out)"] == 1  # Exit the shell
    assert cleaning["test: pairs whose Spanish or English occurs in an earlier split (left out)"] == 1  # Zoom in
    assert cleaning["catalogs that cannot be read (left out)"] == 1
    assert cleaning["English accelerator marks '_' removed"] == 1
    assert manifest["packages"]["viewer"] == {"split": "dev", "version": "1.0-1", "catalogs": 1, "pairs": 3}
    assert manifest["with_placeholders"] == {"train": 2, "dev": 1, "test": 0}
    # Built once: the same list, or no list, reads the cache; another list builds again.
    monkeypatch.setattr(software, "download_packages", lambda *_: pytest.fail("a complete corpus must be reused"))
    assert software.build_software_corpus(cache, packages_file=listing, log=print).sizes["train"] == 7
    assert software.build_software_corpus(cache, log=print).sizes["train"] == 7
    monkeypatch.undo()
    listing.write_text("editor\nviewer dev\nplayer test\n")
    rebuilt = software.build_software_corpus(cache, packages_file=listing, log=print)
    assert rebuilt.sizes == {"train": 4, "dev": 3, "test": 2}  # "Exit the shell" is no longer seen in training


@pytest.mark.parametrize("text, problem", [
    ("editor\nviewer dev\n", r"list.txt: no package is marked for test"),
    ("editor\nviewer dev\nplayer tset\n", r"list.txt, line 3: expected 'PACKAGE' or 'PACKAGE dev\|test', got 'player tset'"),
    ("editor\ntuxpaint-data\nviewer dev\nplayer test\n", r"line 2: tuxpaint-data is held out for out-of-domain"),
    ("libreoffice-l10n-es test\n", r"line 1: libreoffice-l10n-es is held out"),
    ("editor\neditor dev\n", r"line 2: editor is listed twice"),
    ("../etc/passwd\n", r"line 1: '../etc/passwd' is not a Debian package name"),
])
def test_a_bad_package_list_is_named_with_its_line(text, problem):
    with pytest.raises(Seq2SeqError, match=problem):
        software.parse_package_list(text, "list.txt")


def test_the_shipped_list_parses_and_holds_no_held_out_package():
    splits = software.parse_package_list(software.default_package_list(), "software_packages.txt")
    assert len(splits) > 100 and {"coreutils", "git", "postgresql-15"} <= set(splits)
    held_out = Counter(split for split in splits.values() if split != "train")
    assert held_out["dev"] >= 3 and held_out["test"] >= 3  # several programs each, not one program's style


REAL_PACKAGES = default_cache_dir() / "packages"


@pytest.mark.slow
@pytest.mark.skipif(not all(next(REAL_PACKAGES.glob(f"{name}_*.deb"), None) for name in
                            software.parse_package_list(software.default_package_list(), "list")),
                    reason=f"the listed packages are not all in {REAL_PACKAGES} (seq2seq data software-es-en)")
def test_the_real_packages_give_a_clean_split_without_leaks(tmp_path):
    (tmp_path / "packages").symlink_to(REAL_PACKAGES)
    corpus = software.build_software_corpus(tmp_path, log=lambda message: None)
    read = {split: list(zip(*((corpus.directory / f"{split}.{side}").read_text(encoding="utf-8").splitlines()
                              for side in ("es", "en")))) for split in software.SPLITS}
    assert corpus.sizes["train"] > 120_000 and 1_000 < corpus.sizes["dev"] < corpus.sizes["test"] < 5_000
    seen = {sentence for pair in read["train"] for sentence in pair}
    for split in ("dev", "test"):
        assert not any(spanish in seen or english in seen for spanish, english in read[split])
    for pairs in read.values():
        assert all(placeholders_match(english, spanish) for spanish, english in pairs)
        assert all(spanish != english and "\t" not in spanish + english for spanish, english in pairs)
    manifest = json.loads((corpus.directory / "manifest.json").read_text(encoding="utf-8"))
    assert not manifest["problems"] and len(manifest["packages"]) == 154
