"""Writes the seed corpus of fuzz_handler into tests/fuzz/corpus/ (run from anywhere).

Each seed is the mode byte (see fuzz_handler.cpp) followed by a message.
"""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "conformance"))
from dnsmsg import (QR, RA, RD, TC, TYPE, CLASS_CH, a_rdata, name_wire, opt_rr,  # noqa: E402
                    query, rr)

INSIDE, OUTSIDE, STRANGER, TCP, UPSTREAM, EDNS = 0, 1, 2, 4, 8, 16
SQS = "sqs.us-east-1.amazonaws.com"


def answer(records=(), additional=(), opt=None, flags=QR | RD | RA):
    question = name_wire("www.example.test") + b"\x00\x01\x00\x01"
    head = struct.pack("!HHHHHH", 0x9999, flags, 1, len(records), 0,
                       len(additional) + (1 if opt else 0))
    return head + question + b"".join(records) + b"".join(additional) + (opt or b"")


A = [rr(b"\xc0\x0c", TYPE["A"], a_rdata("192.0.2.%d" % i)) for i in range(40)]
seeds = {
    "local_a": bytes([INSIDE]) + query(SQS, "A"),
    "local_aaaa_edns": bytes([INSIDE]) + query("SQS.us-east-1.amazonaws.com", "AAAA",
                                               edns={"size": 4096, "do": True}),
    "local_nxdomain": bytes([INSIDE]) + query("x.y." + SQS, "A"),
    "wildcard": bytes([INSIDE | TCP]) + query("a.dkr.ecr.us-east-1.amazonaws.com", "A"),
    "vpce_any": bytes([OUTSIDE]) + query(
        "vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com", "ANY"),
    "forward_any": bytes([OUTSIDE]) + query("www.example.test", "ANY"),
    "chaos": bytes([OUTSIDE]) + query("version.bind", "TXT", qclass=CLASS_CH),
    "stranger": bytes([STRANGER]) + query("www.example.test", "A", edns={"size": 1232}),
    "badvers": bytes([OUTSIDE]) + query("www.example.test", "A", edns={"version": 1}),
    "options": bytes([OUTSIDE]) + query("www.example.test", "A", edns={
        "options": [(10, b"01234567"), (15, b"\x00\x09x")]}),
    "notify": bytes([OUTSIDE]) + query(SQS, "SOA", flags=4 << 11),
    "pointer_loop": bytes([OUTSIDE]) + struct.pack("!HHHHHH", 1, RD, 1, 0, 0, 0) + b"\xc0\x0c"
    + b"\x00\x01\x00\x01",
    "upstream_plain": bytes([UPSTREAM]) + answer(A[:2]),
    "upstream_big_edns": bytes([UPSTREAM | EDNS]) + answer(A, opt=opt_rr(
        size=4096, options=[(15, b"\x00\x16down"), (10, b"cookie12")])),
    "upstream_additional": bytes([UPSTREAM]) + answer(A[:1], additional=[
        rr("g%d.example.test" % i, TYPE["A"], a_rdata("198.18.0.%d" % i)) for i in range(40)]),
    "upstream_tc_tcp": bytes([UPSTREAM | TCP | EDNS]) + answer(flags=QR | RD | RA | TC),
    "upstream_opt_middle": bytes([UPSTREAM | EDNS]) + answer(A[:1], additional=[
        opt_rr(size=512), rr("g.example.test", TYPE["A"], a_rdata("198.18.0.1"))]),
}

out = os.path.join(here, "corpus")
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), out))
