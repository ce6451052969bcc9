"""A UDP upstream for the shutdown test: answers every A query with 192.0.2.55
after DELAY seconds, and never answers names under "blackhole.".
Usage: slow_upstream.py PORT DELAY (binds 127.0.0.1 only)."""
import socket
import sys
import threading
import time

port, delay = int(sys.argv[1]), float(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", port))


def question_end(msg):
    pos = 12
    while msg[pos] != 0:
        pos += msg[pos] + 1
    return pos + 5


def answer(msg, peer):
    time.sleep(delay)
    end = question_end(msg)
    header = msg[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 55])
    sock.sendto(header + msg[12:end] + record, peer)


while True:
    msg, peer = sock.recvfrom(4096)
    if b"\x09blackhole\x00" in msg[12:]:
        continue
    threading.Thread(target=answer, args=(msg, peer), daemon=True).start()
