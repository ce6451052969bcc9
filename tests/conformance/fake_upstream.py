"""A scriptable upstream for the conformance suite, on 127.0.0.1 UDP and TCP.

    python3 fake_upstream.py PORT LOGFILE

Answers by query name (case-insensitively), to play what a real upstream or
an attacker might do; LOGFILE gets one line per query received:
"<udp|tcp> <source port> <id> <qname>". Loopback only.

  spoof.fake.test      UDP: first a reply from another port, one with the wrong
                       ID, one for another question, then the real one (A 192.0.2.53)
  tc.fake.test         UDP: TC and no records; TCP: 60 A records
  silent.fake.test     never answers
  servfail.fake.test   SERVFAIL, with EDE 9 and a cookie option when asked with EDNS
  refused.fake.test    REFUSED
  exact.fake.test      A answer with AD set, odd TTLs, authority and additional
  chain.fake.test      CNAME to target.fake.test and 80 A records for it
  addl.fake.test       one A record and 40 additional A records
  edns.fake.test       TXT telling whether the query had EDNS, its DO bit and size
  lower.fake.test      answers with the question and owner lowercased
  anything else        NXDOMAIN
"""
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from dnsmsg import (AA, AD, CLASS_IN, QR, RA, RD, TC, TYPE, a_rdata, name_wire, opt_rr,  # noqa
                    read_name, rr, txt_rdata)

PORT = int(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
LOCK = threading.Lock()


def parse_query(data):
    """(id, flags, qname lowercase, qname wire as sent, qtype, question end, opt dict)."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    qname, pos = read_name(data, 12)
    wire = data[12:pos]
    qtype = struct.unpack("!H", data[pos:pos + 2])[0]
    qend = pos + 4
    opt = None
    if ar and data[qend:qend + 3] == b"\x00\x00\x29":
        size, ttl = struct.unpack("!HI", data[qend + 3:qend + 9])
        opt = {"size": size, "do": bool(ttl & 0x8000)}
    return qid, flags, qname, wire, qtype, qend, opt


def message(qid, flags, question, answer=(), authority=(), additional=(), opt=None):
    head = struct.pack("!HHHHHH", qid, flags, 1, len(answer), len(authority),
                       len(additional) + (1 if opt else 0))
    return head + question + b"".join(answer) + b"".join(authority) + b"".join(additional) + (
        opt or b"")


def exact_answer(qid, question, opt):
    """The records of exact.fake.test; the suite checks they come back unchanged."""
    ans = [rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.10"), ttl=4242),
           rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.11"), ttl=4242)]
    auth = [rr("fake.test", TYPE["NS"], name_wire("ns.fake.test"), ttl=86400)]
    add = [rr("ns.fake.test", TYPE["A"], a_rdata("192.0.2.2"), ttl=17)]
    their_opt = opt_rr(size=4096, options=[(65001, b"xyz"), (10, b"12345678")]) if opt else None
    return message(qid, QR | RD | RA | AD, question, ans, auth, add, their_opt)


def answer(proto, data):
    """The reply datagrams (list) for one query."""
    qid, flags, qname, wire, qtype, qend, opt = parse_query(data)
    question = data[12:qend]
    base = QR | RA | (flags & RD)
    name = qname.rstrip(".")
    if name == "silent.fake.test":
        return []
    if name == "tc.fake.test":
        if proto == "udp":
            return [message(qid, base | TC, question)]
        recs = [rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.%d" % (i + 100))) for i in range(60)]
        return [message(qid, base, question, recs)]
    if name == "servfail.fake.test":
        o = opt_rr(size=4096, options=[(15, struct.pack("!H", 9) + b"fake upstream"),
                                       (10, b"12345678abcdefgh")]) if opt else None
        return [message(qid, base | 2, question, opt=o)]
    if name == "refused.fake.test":
        return [message(qid, base | 5, question)]
    if name == "exact.fake.test":
        return [exact_answer(qid, question, opt)]
    if name == "chain.fake.test":
        recs = [rr(b"\xc0\x0c", TYPE["CNAME"], name_wire("target.fake.test"), ttl=100)]
        recs += [rr("target.fake.test", TYPE["A"], a_rdata("198.18.0.%d" % i), ttl=200)
                 for i in range(80)]
        return [message(qid, base, question, recs, opt=opt_rr(size=4096) if opt else None)]
    if name == "addl.fake.test":
        recs = [rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.77"))]
        extra = [rr("g%d.fake.test" % i, TYPE["A"], a_rdata("198.18.1.%d" % i)) for i in range(40)]
        return [message(qid, base, question, recs, additional=extra)]
    if name == "edns.fake.test":
        text = "edns=%d do=%d" % (opt is not None, bool(opt and opt["do"]))
        recs = [rr(b"\xc0\x0c", TYPE["TXT"], txt_rdata(text))]
        return [message(qid, base, question, recs, opt=opt_rr(size=4096, do=opt["do"]) if opt
                        else None)]
    if name == "lower.fake.test":
        low = name_wire("lower.fake.test") + data[qend - 4:qend]
        recs = [rr("lower.fake.test", TYPE["A"], a_rdata("192.0.2.99"))]
        return [message(qid, base, low, recs)]
    if name == "spoof.fake.test":
        good = [rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.53"))]
        bad_id = message(qid ^ 0x5A5A, base, question, [rr(b"\xc0\x0c", TYPE["A"],
                                                           a_rdata("6.6.6.2"))])
        other_q = name_wire("spoofx.fake.test") + data[qend - 4:qend]
        bad_q = message(qid, base, other_q, [rr(b"\xc0\x0c", TYPE["A"], a_rdata("6.6.6.3"))])
        if proto == "udp":
            return ["other-port", bad_id, bad_q, "pause", message(qid, base, question, good)]
        return [message(qid, base, question, good)]
    return [message(qid, base | 3, question)]


def log(proto, port, data):
    try:
        qid, _, qname, *_ = parse_query(data)
    except Exception:  # a broken query is still logged
        qid, qname = -1, "?"
    with LOCK:
        LOG.write("%s %d %d %s\n" % (proto, port, qid, qname))


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        log("udp", peer[1], data)
        try:
            replies = answer("udp", data)
        except Exception as e:  # never die on a strange query
            print("fake upstream: udp query not understood: %r" % e, flush=True)
            continue
        for r in replies:
            if r == "pause":
                time.sleep(0.05)
            elif r == "other-port":
                # Right ID and question, wrong source port: the forwarder's
                # connected socket must never see it.
                spoof = message(struct.unpack("!H", data[:2])[0], QR | RA, data[12:parse_query(
                    data)[5]], [rr(b"\xc0\x0c", TYPE["A"], a_rdata("6.6.6.1"))])
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                    other.sendto(spoof, peer)
            else:
                sock.sendto(r, peer)


def serve_tcp_conn(conn, peer):
    with conn:
        while True:
            head = conn.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            data = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
            log("tcp", peer[1], data)
            try:
                replies = answer("tcp", data)
            except Exception as e:
                print("fake upstream: tcp query not understood: %r" % e, flush=True)
                return
            for r in replies:
                conn.sendall(struct.pack("!H", len(r)) + r)


def serve_tcp(sock):
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, peer), daemon=True).start()


def main():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", PORT))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", PORT))
    tcp.listen(64)
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    print("fake upstream on 127.0.0.1:%d" % PORT, flush=True)
    serve_udp(udp)


if __name__ == "__main__":
    main()
