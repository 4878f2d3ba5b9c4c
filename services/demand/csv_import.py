"""A demand CSV import as a stream, so that memory does not grow with the file.

The body is spooled as it arrives (in memory up to 1 MiB, then in a temporary file) and checked
as UTF-8 on the way, so a file that is not text is refused before anything is stored, as a file
read whole would be. It is then read back row by row and handed on in chunks of a few thousand
rows; the per-row report is kept as the JSON it is sent as, not as objects.

What a row may hold and how a row or a file is refused are the same as `parse_demand_csv`: both
read the rows with `read_rows` (services/demand/demand_csv.py)."""

import codecs
import json
import tempfile
from collections.abc import AsyncIterable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from services.demand.demand_csv import (
    MAX_ROWS,
    CsvChunk,
    DemandCsv,
    RowError,
    read_rows,
)
from services.demand.rules import CsvSubmission

CHUNK_ROWS = 2_000  # rows validated and stored per round (a few statements each)
READ_BYTES = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class BodyTooLarge(ValueError):
    pass


class NotUtf8(ValueError):
    pass


class Utf8Check:
    """Follows a byte stream; names the first byte that is not UTF-8 as `bytes.decode(
    "utf-8-sig")` of the whole would: counted from after a leading byte order mark."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._seen = 0  # bytes fed so far
        self._head = b""  # the first bytes, until it is known whether they are a BOM
        self._base = 0
        self.error: str | None = None

    def feed(self, data: bytes, final: bool = False) -> None:
        if self.error is not None:
            return
        if len(self._head) < len(_BOM):
            self._head += data[: len(_BOM) - len(self._head)]
            if self._head == _BOM:
                self._base = len(_BOM)
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            self.error = f"not UTF-8 text (byte {self._seen - pending + exc.start - self._base})"
        self._seen += len(data)


async def spool(chunks: AsyncIterable[bytes], max_bytes: int) -> IO[bytes]:
    """The body in a spooled temporary file, rewound. Raises BodyTooLarge past `max_bytes`
    (before anything else), else NotUtf8 naming the first byte that is not UTF-8."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    check = Utf8Check()
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(f"at most {max_bytes} bytes; split the file")
            check.feed(chunk)
            if check.error is None:
                file.write(chunk)
        check.feed(b"", final=True)
        if check.error is not None:
            raise NotUtf8(check.error)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def text_lines(file: IO[bytes], read_bytes: int = READ_BYTES) -> Iterator[str]:
    """The file's lines as `io.StringIO(text)` gives them (split after each "\\n" only), where
    text is the UTF-8 file without up to two leading byte order marks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    first = True
    while True:
        data = file.read(read_bytes)
        text = decoder.decode(data, final=not data)
        if pending:
            text = pending + text
        lines = text.split("\n")
        pending = lines.pop()
        for line in lines:
            if first:
                line = line.removeprefix("\ufeff").removeprefix("\ufeff")
                first = False
            yield line + "\n"
        if not data:
            break
    if pending:
        if first:
            pending = pending.removeprefix("\ufeff").removeprefix("\ufeff")
        if pending:
            yield pending


def demand_rows(
    lines: Iterable[str], chunk_rows: int = CHUNK_ROWS, max_rows: int = MAX_ROWS
) -> Iterator[DemandCsv]:
    """The rows as demand submissions, in chunks (`csv_rows`)."""
    return csv_rows(lines, CsvSubmission, chunk_rows, max_rows)


M = TypeVar("M", bound=BaseModel)


def csv_rows(
    lines: Iterable[str], model: type[M], chunk_rows: int = CHUNK_ROWS, max_rows: int = MAX_ROWS
) -> Iterator[CsvChunk[M]]:
    """The rows read as `model`, in chunks of up to `chunk_rows` data rows, each chunk's rows
    and row errors in line order. The header is read when the first chunk is asked for; a file
    that cannot be read raises CsvFileError (at the point where it is found)."""
    chunk = CsvChunk[M]()
    for row in read_rows(lines, model, max_rows):
        chunk.add(row)
        if chunk.data_rows >= chunk_rows:
            yield chunk
            chunk = CsvChunk[M]()
    if chunk.data_rows:
        yield chunk


class ImportReport:
    """The per-row report, kept as the JSON it is sent as: about 75 bytes an accepted row."""

    def __init__(self, id_name: str = "demand_id") -> None:
        self._id_name = id_name.encode()  # what an accepted row's id is called
        self.rows = 0
        self.accepted = 0
        self.refused = 0  # rows refused (a row may have several errors)
        self._accepted = bytearray()
        self._refused = bytearray()

    def accept(self, line: int, line_id: UUID, replayed: bool) -> None:
        if self.accepted:
            self._accepted += b","
        self.accepted += 1
        flag = b"true" if replayed else b"false"
        self._accepted += b'{"line":%d,"%s":"%s","replayed":%s}' % (
            line,
            self._id_name,
            str(line_id).encode(),
            flag,
        )

    def refuse(self, errors: Sequence[RowError]) -> None:
        """Errors in line order, after every error of an earlier line."""
        last = None
        for error in errors:
            if self._refused:
                self._refused += b","
            self._refused += json.dumps(
                {"line": error.line, "column": error.column, "reason": error.reason},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
            if error.line != last:
                self.refused += 1
                last = error.line

    def json(self) -> bytes:
        """The report: rows, accepted, refused, accepted_rows, refused_rows."""
        return b"".join(
            (
                b'{"rows":%d,"accepted":%d,"refused":%d,"accepted_rows":['
                % (self.rows, self.accepted, self.refused),
                self._accepted,
                b'],"refused_rows":[',
                self._refused,
                b"]}",
            )
        )

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.json())
        return result
