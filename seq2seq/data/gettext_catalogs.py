"""Message pairs from gettext catalogs (.mo as packages ship them, .po as translators write them).

The catalogs are read with polib, a kept gettext library: the standard library's `gettext` reads .mo
files only, keeps no fuzzy flags and hides its catalog behind a private attribute. A plural entry
becomes two pairs: the English singular with the first Spanish form, the English plural with the
last form. The last form is the ordinary plural both in the two-form rule Spanish catalogs mostly use
(`n != 1`) and in CLDR's three-form rule, whose middle form is for exact millions ("de millones").
"""

import re
import struct
from dataclasses import dataclass

import polib

from seq2seq.errors import Seq2SeqError


_CHARSET = re.compile(rb"charset=([A-Za-z0-9_.:-]+)")


@dataclass(frozen=True)
class Message:
    """One English message and its translation, with what the cleaning needs to know about it."""

    english: str
    spanish: str
    fuzzy: bool = False
    plural_form: str = ""  # "", "singular" or "plural"


def read_catalog(contents: bytes, name: str) -> list[Message]:
    """The messages of one catalog (`name` ending in .po or .mo); the header entry is left out."""
    try:
        if name.endswith(".po"):
            charset = _CHARSET.search(contents)
            catalog = polib.pofile(contents.decode(charset.group(1).decode("ascii") if charset else "utf-8"))
        else:
            catalog = polib.mofile(contents)
    except (OSError, ValueError, LookupError, UnicodeError, IndexError, struct.error) as error:
        raise Seq2SeqError(f"{name}: not a readable gettext catalog ({error})") from None
    messages = []
    for entry in catalog:
        if not entry.msgid or getattr(entry, "obsolete", False):
            continue
        fuzzy = "fuzzy" in entry.flags
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[key] for key in sorted(entry.msgstr_plural)]
            messages.append(Message(entry.msgid, forms[0] if forms else "", fuzzy, "singular"))
            messages.append(Message(entry.msgid_plural, forms[-1] if len(forms) > 1 else "", fuzzy, "plural"))
        else:
            messages.append(Message(entry.msgid, entry.msgstr, fuzzy))
    return messages
