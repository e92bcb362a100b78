#!/usr/bin/env python3
"""Writes corpus/xs_server/seed-hostile: a request stream (see
src/xs_server.rs: req_id % 3 picks dom0, guest 5 or guest 6) in which guest 5
tries everything its permissions and quotas forbid, so the replay in CI
exercises the target's permission and quota invariants."""
import struct, os

TYPES = dict(READ=2, WATCH=4, TSTART=6, TEND=7, WRITE=11, MKDIR=12, RM=13, SETPERMS=14, DIRECTORY=1)
out = bytearray()
counter = {0: 0, 1: 0, 2: 0}

def msg(who, ty, payload, tx=0):
    # who: 0 dom0, 1 guest 5, 2 guest 6; ids stay distinct and keep req_id % 17 away from 16
    counter[who] += 1
    rid = who + 3 * (counter[who] + 100 * who)
    while rid % 17 == 16:
        counter[who] += 1
        rid = who + 3 * (counter[who] + 100 * who)
    out.extend(struct.pack('<IIII', TYPES[ty], rid, tx, len(payload)) + payload)

z = lambda *parts: b''.join(p.encode() + b'\0' for p in parts)
msg(0, 'WRITE', b'/local/domain/6/secret\0s')
msg(0, 'WRITE', b'/tool/record\0r')
msg(1, 'READ', z('/local/domain/6/secret'))
msg(1, 'DIRECTORY', z('/local/domain/6'))
msg(1, 'WRITE', b'/local/domain/6/x\0evil')
msg(1, 'WRITE', b'/tool/record\0evil')
msg(1, 'RM', z('/local/domain/6'))
msg(1, 'SETPERMS', z('/local/domain/6/secret', 'b5'))
msg(1, 'SETPERMS', z('data', 'n6'))
msg(2, 'SETPERMS', z('/local/domain/6/secret', 'n6', 'r5'))
msg(1, 'READ', z('/local/domain/6/secret'))
for i in range(10):
    msg(1, 'WATCH', z('data', 't%d' % i))
for i in range(4):
    msg(1, 'TSTART', b'\0')
for i in range(50):
    msg(1, 'READ', z('data/missing/%d' % i), tx=1)
msg(1, 'TEND', z('T'), tx=1)
for i in range(3):
    msg(1, 'WRITE', ('data/t%d\0' % i).encode(), tx=2)
msg(1, 'TEND', z('T'), tx=2)
for i in range(60):
    msg(1, 'WRITE', ('data/n%d\0' % i).encode())
msg(1, 'RM', z('data'))
for i in range(60):
    msg(1, 'WRITE', ('data/m%d\0' % i).encode() + b'v' * 1000)
os.makedirs('corpus/xs_server', exist_ok=True)
open('corpus/xs_server/seed-hostile', 'wb').write(out)
