"""Echo client for the state move test: opens connections to the server
until N of them leave through the NAT replica whose public address is
PUBLIC (the server's answer to `who` says), closes the others, prints
`ready N`, then every 100 ms sends each a numbered line and checks its
echo, for SECS seconds. Any reset, close, wrong or late (5 s) echo is a
`FAIL` line; `done ROUNDS` at the end."""
import selectors
import socket
import sys
import time

srv, port, want, public, secs = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))


def line(s):
    b = b""
    while not b.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            raise ConnectionError("closed")
        b += d
    return b.decode().strip()


conns = []
tries = 0
while len(conns) < want:
    tries += 1
    if tries > 8 * want:
        print("FAIL only", len(conns), "of", tries, "connections through", public, flush=True)
        sys.exit(1)
    s = socket.create_connection((srv, port), timeout=10)
    s.sendall(b"who\n")
    peer = line(s).split()
    if peer[0] == public:
        conns.append(s)
    else:
        s.close()
print("ready", len(conns), "of", tries, flush=True)
sel = selectors.DefaultSelector()
for i, s in enumerate(conns):
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
bufs = [b""] * len(conns)
end = time.monotonic() + secs
rounds = 0
failed = False
while time.monotonic() < end and not failed:
    t0 = time.monotonic()
    expect = {}
    for i, s in enumerate(conns):
        msg = f"{i} {rounds}\n".encode()
        s.sendall(msg)
        expect[i] = msg
    deadline = time.monotonic() + 5
    while expect and not failed:
        left = deadline - time.monotonic()
        if left <= 0:
            print("FAIL round", rounds, "no echo on", sorted(expect)[:10], flush=True)
            failed = True
            break
        for key, _ in sel.select(left):
            i = key.data
            try:
                d = key.fileobj.recv(4096)
            except OSError as e:
                d, err = b"", e
            else:
                err = "closed"
            if not d:
                print("FAIL round", rounds, "connection", i, err, flush=True)
                failed = True
                break
            bufs[i] += d
            if i in expect and bufs[i].startswith(expect[i]):
                bufs[i] = bufs[i][len(expect[i]):]
                del expect[i]
            elif len(bufs[i]) >= len(expect.get(i, b"")) or i not in expect:
                print("FAIL round", rounds, "connection", i, "echoed", bufs[i], flush=True)
                failed = True
                break
    rounds += 1
    time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
if not failed:
    for s in conns:
        s.close()
    print("done", rounds, flush=True)
