"""DNS protocol conformance of vpcedns: one check group per bullet of issue #3.

Run by tests/e2e/test_conformance.sh, which starts the daemons and upstreams:

    conformance.py --a PORT --b PORT --c PORT --d PORT --fake-log FILE

  A  forwards to unbound (a real resolver), allow list and CHAOS answers on
  B  forwards to fake_upstream.py (scripted: spoofing, TC, silence, ...)
  C  forwards to a closed port first, then to the fake upstream
  D  forwards to a closed port only; every [server] setting at its default

Sends hand-built packets over UDP and TCP (dnsmsg.py) and real dig/kdig
queries, and checks rcode, flags, sections and TTLs exactly. Prints one
PASS/FAIL line per check and exits non-zero on any failure.
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from dnsmsg import (AA, AD, CD, CLASS_ANY, CLASS_CH, CLASS_HS, CLASS_IN, QR, RA, RD, TC,  # noqa
                    TYPE, Message, ParseError, frame, name_wire, opt_rr, query, recv_exact,
                    tcp_connect, tcp_exchange, tcp_read, udp_exchange)

INSIDE, OUTSIDE, STRANGER = "127.0.10.5", "127.0.20.5", "127.0.30.5"
SQS = "sqs.us-east-1.amazonaws.com"
EDNS = {"size": 1232}
passed = failed = 0


def check(label, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS " + label)
    else:
        failed += 1
        print("FAIL " + label + ("\n    | " + str(detail).replace("\n", "\n    | ")
                                 if detail != "" else ""))
    return ok


def ask(port, data, src=OUTSIDE, tcp=False, timeout=2.0):
    raw = (tcp_exchange if tcp else udp_exchange)(port, data, src=src, timeout=timeout)
    if raw is None:
        return None
    try:
        return Message(raw)
    except (ParseError, struct.error) as e:
        return "unparsable reply (%s): %s" % (e, raw.hex())


def got(label, m):
    """Checks a reply came back and parsed; returns it (or None)."""
    ok = isinstance(m, Message)
    check(label + ": reply received and well-formed", ok, m if m is not None else "no reply")
    return m if ok else None


def rdatas(rrs, rtype):
    return sorted(r.rdata for r in rrs if r.type == TYPE[rtype])


def a(text):
    return socket.inet_aton(text)


def header_ok(label, m, q, rd=True):
    """ID and question echoed byte for byte, QR and RA set, RD copied."""
    check(label + ": ID echoed", m.id == struct.unpack("!H", q[:2])[0], m.id)
    qlen = len(m.raw) >= 12 and m.question and 12 + len(m.question[0][3]) + 4
    check(label + ": question echoed byte for byte", qlen and m.raw[12:qlen] == q[12:qlen],
          m.question)
    check(label + ": QR set", m.flag(QR))
    check(label + ": RA set", m.flag(RA))
    check(label + ": RD copied (%d)" % rd, m.flag(RD) == rd)


# --- toward clients: header -------------------------------------------------

def test_header(A, B):
    for rd in (True, False):
        q = query("SqS.Us-EaSt-1.AmAzOnAwS.CoM", "A", qid=0xBEEF, flags=RD if rd else 0)
        m = got("header local rd=%d" % rd, ask(A, q, src=INSIDE))
        if m:
            header_ok("header local rd=%d" % rd, m, q, rd)
            check("header local: AA on an answer vpcedns owns", m.flag(AA))
            check("header local: NOERROR, 2 A records, TTL 60",
                  m.rcode == "NOERROR" and rdatas(m.answer, "A") == [a("10.0.1.10"),
                                                                     a("10.0.2.10")]
                  and all(r.ttl == 60 for r in m.answer), m.answer)
    q = query("WwW.ExAmPlE.TeSt", "A", qid=0x0203)
    m = got("header forwarded", ask(A, q))
    if m:
        header_ok("header forwarded", m, q)
        check("header forwarded: no AA on an answer vpcedns does not own", not m.flag(AA))
        check("header forwarded: the upstream's A", rdatas(m.answer, "A") == [a("198.51.100.7")])
    q = query("LoWeR.FaKe.TeSt", "A", qid=0x0420)
    m = got("0x20 forwarded, upstream lowercases", ask(B, q))
    if m:
        header_ok("0x20 forwarded, upstream lowercases", m, q)


def test_opcode_and_counts(A):
    for opcode in (1, 2, 4, 5, 15):
        q = query(SQS, "SOA", qid=opcode, flags=RD | (opcode << 11))
        m = got("opcode %d" % opcode, ask(A, q, src=INSIDE))
        if m:
            check("opcode %d: NOTIMP, opcode echoed, no AA" % opcode,
                  m.rcode == "NOTIMP" and m.opcode == opcode and not m.flag(AA), m.rcode)
    for qd in (0, 2):
        question = name_wire("www.example.test") + b"\x00\x01\x00\x01"
        q = struct.pack("!HHHHHH", 0x0D0D, RD, qd, 0, 0, 0) + question * qd
        m = got("QDCOUNT %d" % qd, ask(A, q))
        if m:
            check("QDCOUNT %d: FORMERR, ID echoed, QR set" % qd,
                  m.rcode == "FORMERR" and m.id == 0x0D0D and m.flag(QR), m.rcode)


def test_classes(A, D):
    for name, want in (("version.bind", b"vpcedns"), ("VERSION.server", b"vpcedns"),
                       ("id.server", b"conformance-id"), ("hostname.bind", b"conformance-id")):
        q = query(name, "TXT", qclass=CLASS_CH)
        m = got("CHAOS %s answered" % name, ask(A, q))
        if m:
            check("CHAOS %s: NOERROR, AA, one CH TXT" % name,
                  m.rcode == "NOERROR" and m.flag(AA) and len(m.answer) == 1 and
                  m.answer[0].rclass == CLASS_CH and m.answer[0].rdata[1:] == want, m.answer)
        m = got("CHAOS %s by default" % name, ask(D, q))
        if m:
            check("CHAOS %s by default: REFUSED, empty" % name,
                  m.rcode == "REFUSED" and not m.answer, m.rcode)
    m = got("CHAOS other name", ask(A, query("foo.bind", "TXT", qclass=CLASS_CH)))
    if m:
        check("CHAOS other name: REFUSED", m.rcode == "REFUSED", m.rcode)
    for cls in (CLASS_HS, CLASS_ANY, 254, 42):
        m = got("class %d" % cls, ask(A, query("www.example.test", "A", qclass=cls)))
        if m:
            check("class %d: REFUSED, question echoed" % cls,
                  m.rcode == "REFUSED" and m.question and m.question[0][2] == cls, m.rcode)


# --- names ------------------------------------------------------------------

def dig(*args):
    out = subprocess.run(["dig", "+time=2", "+tries=1"] + list(args), capture_output=True,
                         text=True, timeout=10)
    return out.stdout + out.stderr


def test_names(A):
    out = dig("@127.0.0.1", "-p", str(A), "-b", INSIDE, SQS.upper() + ".", "A")
    check("dig uppercase name inside: private answer, name echoed in upper case",
          "status: NOERROR" in out and "10.0.1.10" in out and SQS.upper() + ".\t" in out, out)
    out = dig("@127.0.0.1", "-p", str(A), "-b", INSIDE, SQS, "A")
    check("dig with and without the trailing dot give the same answer",
          "10.0.1.10" in out and "10.0.2.10" in out, out)
    # An escaped dot and odd octets inside labels: forwarded, echoed byte for byte.
    for text in ("a\\.b.example.test", "sp\\032ace\\000nul.example.test"):
        q = query(text, "A", qid=0x0E5C)
        m = got("escaped label %s" % text, ask(A, q))
        if m:
            header_ok("escaped label %s" % text, m, q)
            check("escaped label %s: NXDOMAIN from upstream" % text, m.rcode == "NXDOMAIN", m.rcode)
    m = got("root name NS", ask(A, query(".", "NS")))
    if m:
        check("root name NS: NOERROR with the root NS", m.rcode == "NOERROR" and
              rdatas(m.answer, "NS") == [name_wire("ns.root.test")], m.answer)
    long63 = "x" * 63
    name255 = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3d" + b"b" * 61 + b"\x00"
    for label, qname, want in (
            ("label of 63", long63 + ".example.test", "NXDOMAIN"),
            ("name of 255 octets", name255, "NXDOMAIN"),
            ("label of 64", b"\x40" + b"x" * 64 + name_wire("example.test"), "FORMERR"),
            ("name of 257 octets", b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00",
             "FORMERR")):
        m = got(label, ask(A, query(qname, "A")))
        if m:
            check("%s: %s" % (label, want), m.rcode == want, m.rcode)


# --- EDNS -------------------------------------------------------------------

def test_edns(A, B):
    m = got("EDNS echoed", ask(A, query("www.example.test", "A", edns={"size": 4096})))
    if m:
        check("EDNS: OPT echoed with our size 1232, version 0, no options",
              m.opt_size == 1232 and m.opt_version == 0 and not m.options(), m.opt)
    m = got("no EDNS", ask(A, query("www.example.test", "A")))
    if m:
        check("no EDNS: no OPT in the reply", m.opt is None, m.opt)
    m = got("EDNS local answer", ask(A, query(SQS, "A", edns={"size": 1232, "do": True}),
                                     src=INSIDE))
    if m:
        check("EDNS local answer: OPT with DO copied", m.opt_size == 1232 and m.opt_do, m.opt)
    for size, cap in ((4096, 1232), (1232, 1232), (700, 700), (100, 512), (None, 512)):
        edns = None if size is None else {"size": size}
        m = got("UDP size %s" % size, ask(A, query("txt.big.example.test", "TXT", edns=edns)))
        if m:
            check("UDP size %s: reply <= %d bytes, TC set, OPT %s" % (size, cap, "kept" if edns
                                                                        else "absent"),
                  len(m.raw) <= cap and m.flag(TC) and (m.opt is not None) == (edns is not None),
                  (len(m.raw), m.flags))
    q = query("www.example.test", "A", edns={"size": 1232, "version": 1})
    m = got("EDNS version 1", ask(A, q))
    if m:
        check("EDNS version 1: BADVERS, our OPT version 0, nothing answered",
              m.rcode == "BADVERS" and m.opt_version == 0 and not m.answer, (m.rcode, m.opt))
    opts = [(65001, b"unknown"), (10, b"01234567"), (3, b"")]
    m = got("unknown options", ask(A, query("www.example.test", "A",
                                            edns={"size": 1232, "options": opts})))
    if m:
        check("unknown options: ignored, answered, none echoed",
              m.rcode == "NOERROR" and rdatas(m.answer, "A") == [a("198.51.100.7")] and
              not m.options(), m.options())
    for do in (True, False):
        m = got("DO=%d forwarded" % do, ask(B, query("edns.fake.test", "TXT",
                                                    edns={"size": 1232, "do": do})))
        if m:
            want = ("edns=1 do=%d" % do).encode()
            check("DO=%d: passed to the upstream and copied into our OPT" % do,
                  m.answer and m.answer[0].rdata[1:] == want and m.opt_do == do,
                  (m.answer, m.opt))


# --- truncation ---------------------------------------------------------------

def test_truncation(A, B):
    m = got("chain no EDNS", ask(B, query("chain.fake.test", "A")))
    if m:
        check("chain no EDNS: TC, the CNAME RRset kept whole, the A RRset left out",
              m.flag(TC) and len(m.raw) <= 512 and [r.type for r in m.answer] == [TYPE["CNAME"]],
              (m.flags, m.answer))
    m = got("chain EDNS 1232", ask(B, query("chain.fake.test", "A", edns=EDNS)))
    if m:
        check("chain EDNS 1232: TC, CNAME kept, OPT kept",
              m.flag(TC) and len(m.raw) <= 1232 and len(m.answer) == 1 and m.opt_size == 1232,
              (len(m.raw), m.answer))
    m = got("chain TCP", ask(B, query("chain.fake.test", "A"), tcp=True))
    if m:
        check("chain TCP: not cut, CNAME and 80 A", not m.flag(TC) and len(m.answer) == 81,
              len(m.answer))
    m = got("additional overflow", ask(B, query("addl.fake.test", "A")))
    if m:
        check("additional overflow: no TC, answer whole, extra records dropped",
              not m.flag(TC) and len(m.answer) == 1 and len(m.raw) <= 512, (m.flags, len(m.raw)))
    m = got("TCP big TXT", ask(A, query("txt.big.example.test", "TXT"), tcp=True))
    if m:
        check("TCP big TXT: all 40 records, no TC", len(m.answer) == 40 and not m.flag(TC))
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(A), "+time=2", "+retry=0", "+notcp",
                          "+ignore", "+noedns", "txt.big.example.test", "TXT"],
                         capture_output=True, text=True, timeout=10).stdout
    check("kdig UDP big TXT: TC flag", "flags: qr tc" in out or " tc " in out, out)


# --- TCP (RFC 7766) -----------------------------------------------------------

def test_tcp(A):
    names = [(SQS, INSIDE), ("www.example.test", None), ("mx.example.test", None),
             ("nope.example.test", None), ("many.big.example.test", None)]
    with tcp_connect(A, src=INSIDE) as s:
        ids = list(range(0x7000, 0x7000 + len(names)))
        s.sendall(b"".join(frame(query(n, "A", qid=i)) for (n, _), i in zip(names, ids)))
        replies = [tcp_read(s) for _ in ids]
    got_ids = sorted(struct.unpack("!H", r[:2])[0] for r in replies if r)
    check("TCP pipelined: 5 queries in one segment, 5 answers matched by ID", got_ids == ids,
          got_ids)
    q = frame(query("www.example.test", "A", qid=0x5151))
    with tcp_connect(A) as s:
        for part in (q[:1], q[1:7], q[7:20], q[20:]):
            s.sendall(part)
            time.sleep(0.05)
        r = tcp_read(s)
    check("TCP query split over 4 segments: answered",
          r is not None and Message(r).id == 0x5151 and Message(r).rcode == "NOERROR")
    # Idle timeout 1500 ms: the server closes first.
    with tcp_connect(A, timeout=5) as s:
        t0 = time.time()
        closed = s.recv(1) == b""
        dt = time.time() - t0
    check("TCP idle timeout: closed by the server after %.2f s (configured 1.5 s)" % dt,
          closed and 1.2 < dt < 3.5)
    # A half-sent query does not keep a connection open either.
    with tcp_connect(A, timeout=5) as s:
        s.sendall(q[:5])
        t0 = time.time()
        closed = s.recv(1) == b""
    check("TCP half-sent query: closed at the idle timeout", closed and time.time() - t0 < 3.5)


def test_tcp_limits(A):
    # max_tcp_connections = 8: a ninth connection is closed at once, the eight keep working.
    conns = [tcp_connect(A) for _ in range(8)]
    time.sleep(0.2)
    extra = tcp_connect(A)
    extra_closed = extra.recv(1) == b""
    check("TCP connection cap: the 9th connection is closed", extra_closed)
    conns[3].sendall(frame(query("www.example.test", "A", qid=0x0909)))
    r = tcp_read(conns[3])
    check("TCP connection cap: the first eight still answer", r and Message(r).id == 0x0909)
    for c in conns + [extra]:
        c.close()
    time.sleep(0.2)
    # Bad length and garbage close only the connection that sent them.
    good = tcp_connect(A)
    for label, junk in (("length 5", b"\x00\x05hello"),
                        ("a response (QR=1)", frame(struct.pack("!HHHHHH", 1, QR, 0, 0, 0, 0)))):
        with tcp_connect(A) as bad:
            bad.sendall(junk)
            check("TCP %s: that connection is closed" % label, bad.recv(1) == b"")
    good.sendall(frame(query("www.example.test", "A", qid=0x6060)))
    r = tcp_read(good)
    check("TCP garbage elsewhere: another connection still answers", r and
          Message(r).id == 0x6060)
    good.close()


# --- ANY and the allow list ---------------------------------------------------

def test_any_and_allow(A, D):
    m = got("ANY forwarded name over UDP", ask(A, query("www.example.test", "ANY")))
    if m:
        check("ANY over UDP: one synthesized HINFO \"RFC8482\", small, no AA (RFC 8482 4.2)",
              m.rcode == "NOERROR" and len(m.answer) == 1 and m.answer[0].type == TYPE["HINFO"]
              and m.answer[0].rdata.startswith(b"\x07RFC8482") and len(m.raw) < 100 and
              not m.flag(AA), m.answer)
    m = got("ANY local name", ask(A, query(SQS, "ANY"), src=INSIDE))
    if m:
        check("ANY local name: one RRset, AA", m.flag(AA) and len({r.type for r in m.answer}) == 1
              and m.answer, m.answer)
    m = got("ANY over TCP", ask(A, query("www.example.test", "ANY"), tcp=True))
    if m:
        check("ANY over TCP: forwarded (no HINFO)", not any(r.type == TYPE["HINFO"]
                                                            for r in m.answer), m.answer)
    for tcp in (False, True):
        m = got("client outside allow (tcp=%d)" % tcp,
                ask(A, query("www.example.test", "A", edns=EDNS), src=STRANGER, tcp=tcp))
        if m:
            check("client outside allow (tcp=%d): REFUSED, EDE 18, nothing answered" % tcp,
                  m.rcode == "REFUSED" and not m.answer and [c for c, _ in m.ede()] == [18],
                  (m.rcode, m.ede()))
    m = got("client outside allow asks locally owned name",
            ask(A, query("vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com"),
                src=STRANGER))
    if m:
        check("client outside allow, local name: REFUSED too", m.rcode == "REFUSED", m.rcode)
    m = got("default allow (loopback + VPCs)",
            ask(D, query("vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com"),
                src=STRANGER))
    if m:
        check("default allow: 127.0.30.5 is loopback, answered", m.rcode == "NOERROR", m.rcode)


# --- malformed packets --------------------------------------------------------

def test_malformed(A):
    h = lambda qd=1, an=0, ns=0, ar=0, flags=RD: struct.pack("!HHHHHH", 0x0BAD, flags, qd, an,
                                                            ns, ar)
    tail = b"\x00\x01\x00\x01"
    for label, pkt in (("short header", b"\x12\x34\x01\x00\x00"),
                       ("response QR=1", h(flags=QR) + name_wire("www.example.test") + tail)):
        check("%s: dropped (no reply)" % label, ask(A, pkt, timeout=0.5) is None)
    for label, pkt in (
            ("pointer loop in the question", h() + b"\xc0\x0c" + tail),
            ("pointer past the end", h() + b"\x03www\xc0\xff" + tail),
            ("label past the end", h() + b"\x3fabc"),
            ("ARCOUNT lies", h(ar=3) + name_wire("www.example.test") + tail),
            ("ANCOUNT lies", h(an=1) + name_wire("www.example.test") + tail),
            ("record past the end", h(ar=1) + name_wire("www.example.test") + tail +
             b"\x00\x00\x29\x04")):
        m = got(label, ask(A, pkt))
        if m:
            check("%s: FORMERR, ID echoed, no AA" % label, m.rcode == "FORMERR" and
                  m.id == 0x0BAD and not m.flag(AA), m.rcode)
    # A flood of garbage does not stall other clients.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(300):
            s.sendto(bytes([i & 0xFF]) * (i % 40), ("127.0.0.1", A))
    # The flood may fill the socket's receive buffer, so the first try can be
    # dropped by the kernel; a client retries, as stub resolvers do.
    t0 = time.time()
    for _ in range(3):
        m = ask(A, query("www.example.test", "A"), timeout=1.0)
        if m is not None:
            break
    check("after 300 garbage datagrams a real query is answered (%.3f s)" % (time.time() - t0),
          isinstance(m, Message) and m.rcode == "NOERROR")


# --- toward upstreams -----------------------------------------------------------

def test_upstream_checks(B, fake_log):
    m = got("spoofed upstream replies", ask(B, query("spoof.fake.test", "A")))
    if m:
        check("spoofed upstream replies (other port, wrong ID, other question) are ignored",
              rdatas(m.answer, "A") == [a("192.0.2.53")], m.answer)
    before = open(fake_log).read().splitlines()
    for i in range(20):
        ask(B, query("id%d.fake.test" % i, "A", qid=0x1234))
    lines = [l.split() for l in open(fake_log).read().splitlines()[len(before):]]
    up_ids = [int(l[2]) for l in lines if l[3].startswith("id")]
    # Source ports are reported, not checked: c-ares 1.18 reuses one socket per
    # upstream (resolver/forward/README.md, Limitations).
    ports = {l[1] for l in lines if l[3].startswith("id") and l[0] == "udp"}
    check("upstream IDs: fresh per query, never the client's (%d distinct of %d; %d source "
          "ports)" % (len(set(up_ids)), len(up_ids), len(ports)),
          len(up_ids) == 20 and 0x1234 not in up_ids and len(set(up_ids)) >= 19, up_ids)
    for label, q, tcp, want_tc, want_n in (
            ("upstream TC, client UDP 512", query("tc.fake.test", "A"), False, True, 0),
            ("upstream TC, client EDNS 1232", query("tc.fake.test", "A", edns=EDNS), False,
             False, 60),
            ("upstream TC, client TCP", query("tc.fake.test", "A"), True, False, 60)):
        m = got(label, ask(B, q, tcp=tcp))
        if m:
            check("%s: TC=%d, %d records" % (label, want_tc, want_n),
                  m.flag(TC) == want_tc and len(m.answer) == want_n, (m.flags, len(m.answer)))


def test_upstream_failures(B, D):
    for edns in (EDNS, None):
        t0 = time.time()
        m = got("upstream silent edns=%d" % bool(edns),
                ask(B, query("silent.fake.test", "A", edns=edns), timeout=4))
        dt = time.time() - t0
        if m:
            want = [22] if edns else []
            check("upstream silent edns=%d: SERVFAIL after the timeout (%.2f s), EDE %s" %
                  (bool(edns), dt, want),
                  m.rcode == "SERVFAIL" and 0.25 < dt < 2.0 and [c for c, _ in m.ede()] == want
                  and (not edns or m.ede()[0][1]), (m.rcode, m.ede()))
    m = got("upstream unreachable", ask(D, query("www.example.test", "A", edns=EDNS)))
    if m:
        check("upstream unreachable: SERVFAIL, EDE 23 with text",
              m.rcode == "SERVFAIL" and [c for c, _ in m.ede()] == [23] and m.ede()[0][1],
              m.ede())
    m = got("upstream SERVFAIL", ask(B, query("servfail.fake.test", "A", edns=EDNS)))
    if m:
        check("upstream SERVFAIL: passed through, its EDE 9 kept, cookie dropped, our size",
              m.rcode == "SERVFAIL" and m.ede() == [(9, "fake upstream")] and
              [c for c, _ in m.options()] == [15] and m.opt_size == 1232, (m.rcode, m.options()))
    m = got("upstream REFUSED", ask(B, query("refused.fake.test", "A")))
    if m:
        check("upstream REFUSED: passed through", m.rcode == "REFUSED", m.rcode)


def test_relayed(B, C):
    m = got("upstreams in order", ask(C, query("exact.fake.test", "A")))
    if m:
        check("upstreams in order: first refused the connection, the second answered",
              rdatas(m.answer, "A") == [a("192.0.2.10"), a("192.0.2.11")], m.answer)
    for edns in ({"size": 4096, "do": True}, None):
        q = query("exact.fake.test", "A", qid=0x2468, flags=RD | CD, edns=edns)
        m = got("relayed unchanged edns=%d" % bool(edns), ask(B, q))
        if not m:
            continue
        label = "relayed unchanged edns=%d: " % bool(edns)
        check(label + "flags as the upstream's (QR RD RA AD), rcode, ID",
              m.flags & 0xFFF0 == QR | RD | RA | AD and m.rcode == "NOERROR" and m.id == 0x2468,
              hex(m.flags))
        check(label + "answer TTLs 4242, authority NS 86400, additional A 17",
              [r.ttl for r in m.answer] == [4242, 4242] and
              [(r.type, r.ttl) for r in m.authority] == [(TYPE["NS"], 86400)] and
              [(r.name, r.ttl) for r in m.additional] == [("ns.fake.test.", 17)],
              (m.answer, m.authority, m.additional))
        if edns:
            check(label + "OPT is ours: size 1232, DO copied, upstream options dropped",
                  m.opt_size == 1232 and m.opt_do and not m.options(), m.opt)
        else:
            check(label + "no OPT for a client without EDNS", m.opt is None, m.opt)


def main():
    p = argparse.ArgumentParser()
    for k in ("a", "b", "c", "d"):
        p.add_argument("--" + k, type=int, required=True)
    p.add_argument("--fake-log", required=True)
    args = p.parse_args()
    test_header(args.a, args.b)
    test_opcode_and_counts(args.a)
    test_classes(args.a, args.d)
    test_names(args.a)
    test_edns(args.a, args.b)
    test_truncation(args.a, args.b)
    test_tcp(args.a)
    test_tcp_limits(args.a)
    test_any_and_allow(args.a, args.d)
    test_malformed(args.a)
    test_upstream_checks(args.b, args.fake_log)
    test_upstream_failures(args.b, args.d)
    test_relayed(args.b, args.c)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
