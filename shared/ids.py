"""Random (version 4) UUIDs from a buffer of random bytes, refilled a few hundred ids at a time.

`uuid.uuid4()` asks the kernel for 16 bytes each time; the ingress makes two ids per line, and
under load those system calls were an eighth of the demand service's time. The bytes are the same
kind (os.urandom); only the number of calls changes."""

import os
from uuid import UUID

_REFILL_BYTES = 16 * 256
# RFC 9562: version 4 in bits 76-79, variant 0b10 in bits 62-63; the other 122 bits random.
_KEEP = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_VERSION_4 = (0x4 << 76) | (0x2 << 62)
_buffer = memoryview(b"")


def new_id() -> UUID:
    global _buffer
    if len(_buffer) < 16:
        _buffer = memoryview(os.urandom(_REFILL_BYTES))
    taken, _buffer = _buffer[:16], _buffer[16:]
    return UUID(int=int.from_bytes(taken) & _KEEP | _VERSION_4)


def _forget_buffer() -> None:
    # A forked child must not hand out the ids its parent will also hand out.
    global _buffer
    _buffer = memoryview(b"")


os.register_at_fork(after_in_child=_forget_buffer)
