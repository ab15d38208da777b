#!/usr/bin/env python3
"""A same-user process that takes over the daemon's socket path (tests only).

  socket_attacker.py fake  SOCKET RECORD
      listens at SOCKET as if it were the daemon: answers hello, answers a handshake with a
      random nonce and a random "proof"; records every byte it receives in RECORD.
  socket_attacker.py relay SOCKET UPSTREAM RECORD [none|down|up]
      listens at SOCKET and forwards every frame to UPSTREAM (the real daemon's socket, renamed)
      and back, recording both directions in RECORD; 'down' flips a bit in the daemon's sealed
      frames past the first two (pending lists and pushes), 'up' in the client's sealed frames past
      the first two (its decisions).
Prints "listening" once bound.
"""
import base64, json, os, socket, struct, sys, threading

lock = threading.Lock()

def record(path, data):
    with lock, open(path, 'ab') as f:
        f.write(data)

def read_frame(s):
    head = b''
    while len(head) < 5:
        chunk = s.recv(5 - len(head))
        if not chunk:
            return None
        head += chunk
    length = struct.unpack('>I', head[:4])[0]
    body = b''
    while len(body) < length - 1:
        chunk = s.recv(length - 1 - len(body))
        if not chunk:
            return None
        body += chunk
    return head[4:5], body

def frame(kind, body):
    return struct.pack('>I', len(body) + 1) + kind + body

def fake(conn, rec):
    try:
        while True:
            f = read_frame(conn)
            if f is None:
                return
            kind, body = f
            record(rec, frame(kind, body))
            if kind != b'J':
                continue
            m = json.loads(body)
            if m.get('type') == 'hello':
                reply = {'type': 'hello', 'protocol': m.get('protocol'), 'pid': 1, 'locked': False}
            elif m.get('type') == 'handshake':
                reply = {'type': 'handshake_challenge',
                         'daemon_nonce': base64.b64encode(os.urandom(32)).decode(),
                         'daemon_proof': base64.b64encode(os.urandom(32)).decode()}
            else:
                reply = {'type': 'ok', 'approver': True}
            conn.sendall(frame(b'J', json.dumps(reply).encode()))
    except OSError:
        pass
    finally:
        conn.close()

def pump(src, dst, rec, tamper, after):
    sealed = 0
    try:
        while True:
            f = read_frame(src)
            if f is None:
                break
            kind, body = f
            record(rec, frame(kind, body))
            if kind == b'X':
                sealed += 1
                if tamper and sealed > after:
                    b = bytearray(body)
                    b[len(b) // 2] ^= 0x01
                    body = bytes(b)
            dst.sendall(frame(kind, body))
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def relay(conn, upstream, rec, mode):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(upstream)
    # client -> daemon: pending_list, watch, then decisions; daemon -> client: the handshake's ok,
    # the pending list, watch's ok, then pushes
    threading.Thread(target=pump, args=(conn, up, rec, mode == 'up', 2), daemon=True).start()
    pump(up, conn, rec, mode == 'down', 3)

def main():
    mode, path = sys.argv[1], sys.argv[2]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print('listening', flush=True)
    while True:
        conn, _ = server.accept()
        if mode == 'fake':
            threading.Thread(target=fake, args=(conn, sys.argv[3]), daemon=True).start()
        else:
            tamper = sys.argv[5] if len(sys.argv) > 5 else 'none'
            threading.Thread(target=relay, args=(conn, sys.argv[3], sys.argv[4], tamper), daemon=True).start()

main()
