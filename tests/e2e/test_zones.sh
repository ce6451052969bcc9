# End to end: private hosted zones from zones/ (the shipped corp.internal.zone
# and a test amazonaws.com zone). Inside an associated VPC the zone answers
# and shadows the public data (NXDOMAIN/NODATA with the zone's SOA, wildcards,
# CNAMEs chased in the zone, to an endpoint, or upstream with the chain kept);
# outside, the public answer is forwarded. The most specific zone wins.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5   # VPC "test": corp.internal, amazonaws.com, SQS endpoint
readonly OTHER=127.0.11.5    # VPC "other": amazonaws.com only
readonly OUTSIDE=127.0.20.5  # no VPC

mkdir -p "$E2E_TMP/zones"
cp "$VPCEDNS_SOURCE_DIR/zones/corp.internal.zone" "$E2E_DIR/amazonaws.com.zone" "$E2E_TMP/zones/"
start_upstream
start_daemon "$UP_PORT" "$E2E_DIR/vpcedns.zones.toml.in"

# The zone's SOA in authority, owned by `$1`, TTL min(SOA TTL, MINIMUM) = $2.
soa_is() {
  awk -v owner="$1" -v ttl="$2" 'toupper($4) == "SOA" { n++; if ($1 != owner || $2 != ttl) bad = 1 }
                                 END { exit !(n == 1 && !bad) }' <<<"$R_AUTHORITY"
}
# The upstream's negative answer: the root zone's SOA (unbound counts its TTL down).
root_soa() {
  awk 'toupper($4) == "SOA" && $1 == "." { n++ } END { exit n != 1 }' <<<"$R_AUTHORITY"
}
expect_zone_negative() {
  expect_status "$1"
  expect_flag aa
  r_expect "SOA of $2 with TTL $3" soa_is "$2" "$3"
}

# --- answers from the zone, inside ------------------------------------------

ask "zone A" dig -b "$INSIDE" db.corp.internal A
expect_status NOERROR
expect_flag aa
expect_answer "A 10.10.5.10" "A 10.10.5.11"
expect_ttl 300

ask "zone AAAA over tcp" dig +tcp -b "$INSIDE" DB.Corp.Internal AAAA
expect_answer "AAAA fd00:10::5:10"
expect_qname DB.Corp.Internal.

ask "zone MX" kdig -b "$INSIDE" mail.corp.internal MX
expect_answer "MX 10 mx1.corp.internal."

ask "zone SRV" dig -b "$INSIDE" _ldap._tcp.corp.internal SRV
expect_answer "SRV 0 5 389 db.corp.internal."

# --- negative answers: the zone shadows the public data ---------------------

ask "missing name" dig -b "$INSIDE" nothing.corp.internal A
expect_zone_negative NXDOMAIN corp.internal. 60
expect_answer

ask "missing type" dig -b "$INSIDE" db.corp.internal TXT
expect_zone_negative NOERROR corp.internal. 60
expect_answer

ask "empty non-terminal" dig -b "$INSIDE" ops.corp.internal A
expect_zone_negative NOERROR corp.internal. 60
expect_answer

# --- wildcards (RFC 4592) ---------------------------------------------------

ask "wildcard A" dig -b "$INSIDE" feature-42.dev.corp.internal A
expect_answer "A 10.10.9.9"
r_expect "owner is the query name" grep -q '^feature-42.dev.corp.internal. ' <<<"$R_ANSWER"

ask "wildcard two labels deep" dig -b "$INSIDE" a.b.dev.corp.internal TXT
expect_answer 'TXT "dev wildcard"'

ask "wildcard type missing" dig -b "$INSIDE" x.dev.corp.internal AAAA
expect_zone_negative NOERROR corp.internal. 60

# dev.corp.internal exists (the parent of *.dev): NODATA, not synthesized.
ask "wildcard does not cover its parent" dig -b "$INSIDE" dev.corp.internal A
expect_zone_negative NOERROR corp.internal. 60
expect_answer

# --- CNAME chains -----------------------------------------------------------

ask "CNAME inside the zone" dig -b "$INSIDE" api.corp.internal A
expect_flag aa
expect_answer "CNAME db.corp.internal." "A 10.10.5.10" "A 10.10.5.11"

ask "CNAME asked for itself" dig -b "$INSIDE" api.corp.internal CNAME
expect_answer "CNAME db.corp.internal."

ask "CNAME to the endpoint's private name" dig -b "$INSIDE" queue.corp.internal A
expect_answer "CNAME sqs.us-east-1.amazonaws.com." "A 10.0.1.10" "A 10.0.2.10"

ask "CNAME leaving the zone: target forwarded, chain kept" dig -b "$INSIDE" www.corp.internal A
expect_status NOERROR
expect_answer "CNAME www.example.com." "A 192.0.2.10"
expect_qname www.corp.internal.

ask "CNAME leaving the zone over tcp" kdig +tcp -b "$INSIDE" WWW.corp.internal A
expect_answer "CNAME www.example.com." "A 192.0.2.10"

# --- delegations are forwarded ----------------------------------------------

ask "below a delegation: forwarded" dig -b "$INSIDE" host.legacy.corp.internal A
expect_status NXDOMAIN
expect_no_flag aa
r_expect "root SOA from upstream" root_soa

# --- outside the associated VPCs: the public answer -------------------------

ask "outside: zone name forwarded" dig -b "$OUTSIDE" db.corp.internal A
expect_status NXDOMAIN
expect_no_flag aa
r_expect "root SOA from upstream" root_soa

ask "other VPC: corp.internal not associated" dig -b "$OTHER" www.corp.internal A
expect_status NXDOMAIN
expect_no_flag aa

# --- most specific zone wins (Route 53) -------------------------------------

ask "endpoint zone beats the enclosing amazonaws.com zone" \
  dig -b "$INSIDE" sqs.us-east-1.amazonaws.com A
expect_answer "A 10.0.1.10" "A 10.0.2.10"
expect_ttl 60

ask "below the endpoint zone: the endpoint zone's NXDOMAIN" \
  dig -b "$INSIDE" x.sqs.us-east-1.amazonaws.com A
expect_zone_negative NXDOMAIN sqs.us-east-1.amazonaws.com. 900

ask "elsewhere in amazonaws.com: the private zone" dig -b "$INSIDE" s3.us-east-1.amazonaws.com A
expect_answer "A 10.50.3.3"

ask "no endpoint in the other VPC: the zone's own sqs record" \
  dig -b "$OTHER" sqs.us-east-1.amazonaws.com A
expect_answer "A 10.50.6.6"
expect_ttl 120

ask "the private amazonaws.com zone shadows public names" \
  dig -b "$OTHER" xsqs.us-east-1.amazonaws.com A
expect_zone_negative NXDOMAIN amazonaws.com. 30

ask "and the public vpce names, as in Route 53" dig -b "$OTHER" \
  vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com A
expect_zone_negative NXDOMAIN amazonaws.com. 30

ask "outside: the public answer" dig -b "$OUTSIDE" sqs.us-east-1.amazonaws.com A
expect_no_flag aa
expect_answer "A 192.0.2.80" "A 192.0.2.81"

expect_daemon_alive
finish
