"""Decode a response body: BOM, then the declared charset, then detection.

Order: a byte order mark; the ``charset`` of the Content-Type header; for HTML a
``<meta charset>`` (or ``http-equiv``) in the first 4 KiB, for XML the encoding of the
XML declaration; strict UTF-8; then charset-normalizer's best guess; else UTF-8 with
replacement characters. As browsers do (WHATWG Encoding), the labels ``iso-8859-1``,
``latin1`` and ``ascii`` are read as windows-1252.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
WINDOWS_1252_ALIASES = frozenset({"latin_1", "iso8859_1", "ascii"})
SNIFF_BYTES = 4096
DETECT_BYTES = 200_000


def canonical_codec(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    return "cp1252" if name in WINDOWS_1252_ALIASES else name


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value."""
    if not content_type:
        return None
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def media_type(content_type: str | None) -> str:
    """The lowercase media type of a Content-Type header value ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def detect_encoding(content: bytes, content_type: str | None = None) -> str:
    """The codec to decode ``content`` with (see the module docstring for the order)."""
    for bom, codec in BOMS:
        if content.startswith(bom):
            return codec
    declared = canonical_codec(header_charset(content_type))
    if declared:
        return declared
    head = content[:SNIFF_BYTES]
    kind = media_type(content_type)
    match = XML_ENCODING.search(head) if "xml" in kind or head.lstrip().startswith(b"<?xml") else None
    if match is None and ("html" in kind or b"<meta" in head.lower()):
        match = META_CHARSET.search(head)
    if match is not None:
        sniffed = canonical_codec(match.group(1).decode("ascii"))
        if sniffed:
            return sniffed
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf_8"
    best = from_bytes(content[:DETECT_BYTES]).best()
    if best is not None:
        guessed = canonical_codec(best.encoding)
        if guessed:
            return guessed
    return "utf_8"


def decode_body(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The body as text and the codec used (undecodable bytes become U+FFFD)."""
    codec = detect_encoding(content, content_type)
    return content.decode(codec, errors="replace"), codec
