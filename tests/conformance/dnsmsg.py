"""Raw DNS messages for the conformance suite: build, parse, send (stdlib only).

Written for tests: it builds exactly the bytes asked for (also broken ones)
and parses answers strictly, so any wire mistake of the server shows.
"""
import socket
import struct

TYPE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "HINFO": 13, "MX": 15, "TXT": 16,
        "AAAA": 28, "OPT": 41, "IXFR": 251, "AXFR": 252, "ANY": 255}
CLASS_IN, CLASS_CH, CLASS_HS, CLASS_ANY = 1, 3, 4, 255
RCODE = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
         5: "REFUSED", 16: "BADVERS"}
QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
OPT_EDE = 15


def name_wire(text):
    """Presentation name (with \\. and \\DDD escapes) to uncompressed wire form."""
    if text in (".", ""):
        return b"\x00"
    labels, cur, i = [], bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                cur.append(int(text[i + 1:i + 4]))
                i += 4
                continue
            cur += text[i + 1].encode()
            i += 2
            continue
        if c == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += c.encode()
        i += 1
    if cur:
        labels.append(bytes(cur))
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def opt_rr(size=1232, do=False, version=0, ext_rcode=0, options=()):
    rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", TYPE["OPT"], size, ttl, len(rdata)) + rdata


def rr(owner, rtype, rdata, ttl=300, rclass=CLASS_IN):
    owner = owner if isinstance(owner, bytes) else name_wire(owner)
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def query(name, qtype="A", qid=0x1234, flags=RD, qclass=CLASS_IN, edns=None, qdcount=None,
          extra=b"", arcount=None):
    """A query. `edns`: None, or a dict of opt_rr() arguments. `name` may be wire bytes."""
    qname = name if isinstance(name, bytes) else name_wire(name)
    qt = TYPE[qtype] if isinstance(qtype, str) else qtype
    question = qname + struct.pack("!HH", qt, qclass)
    ar = b"" if edns is None else opt_rr(**edns)
    counts = (1 if qdcount is None else qdcount, 0, 0,
              (1 if edns is not None else 0) if arcount is None else arcount)
    return struct.pack("!HHHHHH", qid, flags, *counts) + question + ar + extra


class ParseError(Exception):
    pass


def read_name(msg, pos):
    """(lowercase text name, position after it); follows pointers backwards only."""
    labels, end, limit = [], None, pos
    while True:
        if pos >= len(msg):
            raise ParseError("name runs past the end")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            target = struct.unpack("!H", msg[pos:pos + 2])[0] & 0x3FFF
            if target >= limit:
                raise ParseError("forward compression pointer")
            end = pos + 2 if end is None else end
            pos = limit = target
            continue
        if n == 0:
            text = ".".join(l.decode("latin-1") for l in labels) + "."
            return text.lower(), (pos + 1 if end is None else end)
        labels.append(msg[pos + 1:pos + 1 + n])
        pos += 1 + n


class RR:
    def __init__(self, name, rtype, rclass, ttl, rdata):
        self.name, self.type, self.rclass, self.ttl, self.rdata = name, rtype, rclass, ttl, rdata

    def __repr__(self):
        return "RR(%s %d %d %d %s)" % (self.name, self.type, self.rclass, self.ttl,
                                       self.rdata.hex())


class Message:
    """A parsed message. `opt` is the OPT record (taken out of `additional`)."""

    def __init__(self, raw):
        if len(raw) < 12:
            raise ParseError("shorter than a header")
        self.raw = raw
        self.id, self.flags, qd, an, ns, ar = struct.unpack("!HHHHHH", raw[:12])
        pos = 12
        self.question = []
        for _ in range(qd):
            start = pos
            name, pos = read_name(raw, pos)
            qt, qc = struct.unpack("!HH", raw[pos:pos + 4])
            pos += 4
            self.question.append((name, qt, qc, raw[start:pos - 4]))
        self.answer, pos = self._rrs(pos, an)
        self.authority, pos = self._rrs(pos, ns)
        additional, pos = self._rrs(pos, ar)
        if pos != len(raw):
            raise ParseError("%d bytes after the last record" % (len(raw) - pos))
        opts = [r for r in additional if r.type == TYPE["OPT"]]
        if len(opts) > 1:
            raise ParseError("more than one OPT")
        self.opt = opts[0] if opts else None
        self.additional = [r for r in additional if r.type != TYPE["OPT"]]

    def _rrs(self, pos, count):
        out = []
        for _ in range(count):
            name, pos = read_name(self.raw, pos)
            if pos + 10 > len(self.raw):
                raise ParseError("record header runs past the end")
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", self.raw[pos:pos + 10])
            pos += 10
            if pos + rdlen > len(self.raw):
                raise ParseError("rdata runs past the end")
            out.append(RR(name, rtype, rclass, ttl, self.raw[pos:pos + rdlen]))
            pos += rdlen
        return out, pos

    def flag(self, bit):
        return bool(self.flags & bit)

    @property
    def opcode(self):
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self):
        ext = (self.opt.ttl >> 24) << 4 if self.opt else 0
        return RCODE.get(ext | (self.flags & 0xF), str(ext | (self.flags & 0xF)))

    @property
    def opt_size(self):
        return self.opt.rclass if self.opt else None

    @property
    def opt_do(self):
        return bool(self.opt and self.opt.ttl & 0x8000)

    @property
    def opt_version(self):
        return (self.opt.ttl >> 16) & 0xFF if self.opt else None

    def options(self):
        out, data = [], self.opt.rdata if self.opt else b""
        while len(data) >= 4:
            code, n = struct.unpack("!HH", data[:4])
            out.append((code, data[4:4 + n]))
            data = data[4 + n:]
        return out

    def ede(self):
        """[(info-code, text)] of the Extended DNS Error options."""
        return [(struct.unpack("!H", d[:2])[0], d[2:].decode("utf-8", "replace"))
                for c, d in self.options() if c == OPT_EDE]


def a_rdata(text):
    return socket.inet_aton(text)


def txt_rdata(*strings):
    return b"".join(bytes([len(s)]) + s.encode() for s in strings)


def udp_exchange(port, data, src="127.0.0.1", dst="127.0.0.1", timeout=2.0):
    """Sends one datagram, returns the raw reply or None on timeout."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(timeout)
        s.sendto(data, (dst, port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def tcp_connect(port, src="127.0.0.1", timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def recv_exact(s, n):
    """n bytes, or None when the peer closes first."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read(s):
    """One length-prefixed message, or None when the connection closed."""
    head = recv_exact(s, 2)
    if head is None:
        return None
    return recv_exact(s, struct.unpack("!H", head)[0])


def frame(data):
    return struct.pack("!H", len(data)) + data


def tcp_exchange(port, data, src="127.0.0.1", timeout=3.0):
    with tcp_connect(port, src, timeout) as s:
        s.sendall(frame(data))
        return tcp_read(s)
