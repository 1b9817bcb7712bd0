"""The bytes of a text table: NUL bytes (UTF-16 text or a damaged copy), the encoding (UTF-8,
UTF-8 with BOM, GBK/GB18030 when it reads as Chinese; anything else is named, never guessed) and
the separator (a file separated by ``;``, tabs or ``|`` is named). Problems go to a
:class:`~evalkit.data.raw.Collector`."""

from __future__ import annotations

from evalkit.data.raw import Collector

SEPARATORS = {";": "';' (semicolon)", "\t": "a tab", "|": "'|' (vertical bar)"}


def nul_problem(data: bytes, name: str, c: Collector) -> bool:
    """NUL bytes: UTF-16/32 text (reported as such) or a damaged file (a padded or cut copy)."""
    first = data.find(b"\x00")
    if first < 0:
        return False
    head = data[:4096]
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
    if not utf16 and len(head) >= 8:  # ASCII text in UTF-16 without BOM: every other byte is NUL
        even, odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / len(head[1::2])
        utf16 = max(even, odd) > 0.4 and min(even, odd) < 0.05
    if utf16:
        c.add(
            name,
            None,
            None,
            None,
            "the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' (逗号分隔) instead",
            fatal=True,
        )
        return True
    row = data.count(b"\n", 0, first) + 1
    n = data.count(b"\x00")
    c.add(
        name,
        row,
        None,
        None,
        f"the file holds {n:,} NUL byte{'s' if n != 1 else ''} (binary zeros), the "
        f"first at byte {first:,} (row {row}): it is damaged or not a text file (a copy padded or cut short?); "
        "export the table again as 'CSV UTF-8'",
        fatal=True,
    )
    return True


def _looks_chinese(text: str) -> bool:
    """True when the non-ASCII characters of GB18030-decoded text are those of Chinese text: not
    the rare characters that Latin-1 / Windows-1252 / Big5 bytes decode to."""
    odd = common = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            continue
        try:
            b = ch.encode("gb2312")
        except UnicodeEncodeError:
            odd += 1
            continue
        if len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1:
            common += 1
        else:
            odd += 1
        if common + odd >= 20000:
            break
    return odd <= 0.1 * (common + odd)


def _guess_encoding(data: bytes) -> str:
    """A name for the encoding of text that is neither UTF-8 nor GBK."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding not in ("utf_8", "gb18030", "gbk", "gb2312"):
            return best.encoding.replace("_", "-")
    except Exception:  # noqa: BLE001 - optional helper; fall back to the plain guesses below
        pass
    try:
        data[:200_000].decode("big5")
        return "Big5 (Traditional Chinese)"
    except UnicodeDecodeError:
        pass
    return "Latin-1 / Windows-1252 (Western European)"


def decode(data: bytes, name: str, c: Collector) -> bytes | None:
    """The file as UTF-8 bytes (BOM removed), or None with a problem naming the encoding.

    UTF-8 is checked in chunks (no text copy of the whole file); GBK/GB18030 is accepted only
    when it reads as Chinese text (Latin-1 and most other byte soups also decode as GB18030)."""
    import codecs

    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 24
    try:
        for i in range(0, len(data), step):
            decoder.decode(data[i : i + step], final=i + step >= len(data))
        return data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_chinese(text):
        return text.encode("utf-8")
    del text
    enc = _guess_encoding(data)
    c.add(
        name,
        None,
        None,
        None,
        f"the text is neither UTF-8 nor GBK/GB18030: it looks like {enc}. evalkit does "
        "not guess (a wrong guess gives garbled text): save it as 'CSV UTF-8' (CSV UTF-8 逗号分隔)",
        fatal=True,
    )
    return None


def separator(line: str) -> str | None:
    """The separator a header line uses when it is not a comma (None for a comma file)."""
    counts = {sep: line.count(sep) for sep in (",", *SEPARATORS)}
    best = max(counts, key=lambda sep: counts[sep])
    return None if best == "," or counts[best] == 0 else best
