"""Ids from the buffered generator are version 4 UUIDs, all different, also across a fork."""

import os
import uuid

from shared.ids import new_id


def test_ids_are_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(5000)]  # several refills of the buffer
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    # 122 random bits: every bit that is not version or variant takes both values.
    fixed = {*range(76, 80), 62, 63}
    for bit in set(range(128)) - fixed:
        assert len({(i.int >> bit) & 1 for i in ids}) == 2, bit


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the buffer now holds ids the parent will hand out next
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, new_id().bytes)
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 16)
    assert from_child != new_id().bytes
