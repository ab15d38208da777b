#!/usr/bin/env python3
"""A same-user process that floods the daemon's socket (tests and bench/load.sh only).

  flood.py SOCKET MODE COUNT [protocol]
      idle       connects and sends nothing
      held       as idle, but a connection the daemon closes is not opened again
      slow       sends a hello one byte every 0.2 s (slowloris)
      requester  sends a hello and a status request at once, then holds the connection
Opens COUNT connections (requester: and reads every answer), then prints "ready" and keeps them open: idle and slow connections that
the daemon closes are opened again (a sustained flood), held and requester ones are not. When stdin closes
it prints one JSON line: how many it opened, how many the daemon answered, and the error codes it
got, and exits.
"""
import json, os, selectors, socket, struct, sys, time

path, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
protocol = int(sys.argv[4]) if len(sys.argv) > 4 else 3

def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack('>IB', len(body) + 1, ord('J')) + body

HELLO = frame({"type": "hello", "protocol": protocol, "client": {"name": "flood"}})
STATUS = frame({"type": "status"})

sel = selectors.DefaultSelector()
stats = {"opened": 0, "closed": 0, "answered": 0, "codes": {}, "connect_errors": 0}

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.setblocking(False)
        self.buf = b''
        self.sent = 0
        self.replies = 0
        stats["opened"] += 1
        if mode == 'requester':
            self.s.sendall(HELLO + STATUS)
        sel.register(self.s, selectors.EVENT_READ, self)

    def readable(self):
        try:
            data = self.s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b''
        if not data:
            return False
        self.buf += data
        while len(self.buf) >= 5:
            length = struct.unpack('>I', self.buf[:4])[0]
            if len(self.buf) < 4 + length:
                break
            body, self.buf = self.buf[5:4 + length], self.buf[4 + length:]
            try:
                m = json.loads(body)
            except ValueError:
                continue
            if m.get("type") == "error":
                code = m.get("code", "?")
                stats["codes"][code] = stats["codes"].get(code, 0) + 1
            else:
                stats["answered"] += 1
                self.replies += 1
        return True

    def close(self):
        try:
            sel.unregister(self.s)
        except (KeyError, ValueError):
            pass
        self.s.close()

def open_one():
    try:
        return Conn()
    except OSError:
        stats["connect_errors"] += 1
        return None

conns = set()
for _ in range(count):
    c = open_one()
    if c:
        conns.add(c)
    # take the daemon's answers as they come, so the kernel buffers do not fill
    for key, _ in sel.select(0):
        if key.data is not None and not key.data.readable():
            stats["closed"] += 1
            key.data.close()
            conns.discard(key.data)
# requester: ready once every connection was answered (hello and status) or closed
while mode == 'requester' and any(c.replies < 2 for c in conns):
    for key, _ in sel.select(10):
        if not key.data.readable():
            stats["closed"] += 1
            key.data.close()
            conns.discard(key.data)
print("ready", flush=True)

stdin = sys.stdin.buffer
sel.register(stdin, selectors.EVENT_READ, None)
done = False
next_drip = time.monotonic()
while not done:
    timeout = max(0.0, next_drip - time.monotonic()) if mode == 'slow' else None
    for key, _ in sel.select(timeout):
        if key.data is None:
            if not os.read(stdin.fileno(), 4096):
                done = True
            continue
        c = key.data
        if not c.readable():
            stats["closed"] += 1
            c.close()
            conns.discard(c)
            if mode in ('idle', 'slow'):
                n = open_one()
                if n:
                    conns.add(n)
    if mode == 'slow' and time.monotonic() >= next_drip:
        next_drip = time.monotonic() + 0.2
        for c in list(conns):
            if c.sent < len(HELLO):
                try:
                    c.s.send(HELLO[c.sent:c.sent + 1])
                    c.sent += 1
                except OSError:
                    pass
for c in list(conns):
    c.close()
print(json.dumps(stats), flush=True)
