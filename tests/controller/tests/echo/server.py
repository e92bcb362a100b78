"""Line echo server for the state move test: `who` is answered with the
connection's peer address and port; every other line comes back as is.
Logs `accept ADDR PORT`, and `closed`/`reset ADDR PORT` when one ends."""
import selectors
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1024)
sel.register(ls, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            c, peer = ls.accept()
            sel.register(c, selectors.EVENT_READ, [peer, b""])
            print("accept", *peer, flush=True)
            continue
        c, st = key.fileobj, key.data
        try:
            d = c.recv(65536)
            end = "closed"
        except ConnectionResetError:
            d, end = b"", "reset"
        if not d:
            print(end, *st[0], flush=True)
            sel.unregister(c)
            c.close()
            continue
        st[1] += d
        *lines, st[1] = st[1].split(b"\n")
        out = b"".join(
            (f"{st[0][0]} {st[0][1]}".encode() if l == b"who" else l) + b"\n"
            for l in lines
        )
        c.sendall(out)
