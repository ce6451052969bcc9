# End to end: the same name gets the endpoint's private IPs inside the VPC and
# the public (forwarded) answer outside it; vpce names answer for everyone;
# look-alike names are never captured. Over UDP and TCP, with dig and kdig.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5     # in the VPC "test" (127.0.10.0/24)
readonly OUTSIDE=127.0.20.5    # in no VPC
readonly NEAR_MISS=127.0.11.5  # next to the VPC's /24, still outside

readonly SQS=sqs.us-east-1.amazonaws.com
readonly SQS_VPCE=vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com
readonly SQS_VPCE_1A=vpce-0a1b2c3d4e5f60718-abcd1234-us-east-1a.sqs.us-east-1.vpce.amazonaws.com
readonly SQS_VPCE_1B=vpce-0a1b2c3d4e5f60718-abcd1234-us-east-1b.sqs.us-east-1.vpce.amazonaws.com
readonly SNS=sns.us-east-1.amazonaws.com
readonly SNS_VPCE=vpce-0fedcba987654321a-wxyz5678.sns.us-east-1.vpce.amazonaws.com

readonly SQS_PRIVATE=("A 10.0.1.10" "A 10.0.2.10")
readonly SQS_PUBLIC=("A 192.0.2.80" "A 192.0.2.81")

start_upstream
start_daemon

# A private answer: authoritative, exactly the ENIs, TTL 60.
expect_private() {
  expect_status NOERROR
  expect_flag aa
  expect_answer "$@"
  expect_ttl 60
}

# A local negative answer (RFC 2308): authoritative, nothing in answer, SOA.
expect_local_negative() {
  expect_status "$1"
  expect_flag aa
  expect_answer
  expect_soa
}

# A forwarded answer: the upstream's, which never sets aa.
expect_forwarded() {
  expect_status NOERROR
  expect_no_flag aa
  expect_answer "$@"
}

expect_forwarded_nxdomain() {
  expect_status NXDOMAIN
  expect_no_flag aa
  expect_answer
  expect_soa
}

# --- private DNS inside the VPC ---------------------------------------------

ask "inside A udp" dig -b "$INSIDE" "$SQS" A
expect_private "${SQS_PRIVATE[@]}"
expect_qname "$SQS."

ask "inside A tcp" dig +tcp -b "$INSIDE" "$SQS" A
expect_private "${SQS_PRIVATE[@]}"

# DNS names are case-insensitive (RFC 4343); the question is echoed as sent.
for proto in +notcp +tcp; do
  ask "inside A mixed case $proto" dig "$proto" -b "$INSIDE" SqS.Us-EaSt-1.AmAzOnAwS.CoM A
  expect_private "${SQS_PRIVATE[@]}"
  expect_qname SqS.Us-EaSt-1.AmAzOnAwS.CoM.
done

ask "inside A kdig udp" kdig -b "$INSIDE" "$SQS" A
expect_private "${SQS_PRIVATE[@]}"

ask "inside A kdig tcp" kdig +tcp -b "$INSIDE" "$SQS" A
expect_private "${SQS_PRIVATE[@]}"

ask "inside A IPv6 client udp" dig @::1 -b ::1 "$SQS" A
expect_private "${SQS_PRIVATE[@]}"

ask "inside A IPv6 client tcp" dig @::1 -b ::1 +tcp "$SQS" A
expect_private "${SQS_PRIVATE[@]}"

# The ENIs have no IPv6: NODATA, never the public 2001:db8::80.
ask "inside AAAA" dig -b "$INSIDE" "$SQS" AAAA
expect_local_negative NOERROR

ask "inside TXT" dig -b "$INSIDE" "$SQS" TXT
expect_local_negative NOERROR

ask "inside MX tcp" dig +tcp -b "$INSIDE" "$SQS" MX
expect_local_negative NOERROR

ask "inside nonexistent name under the private zone" \
  dig -b "$INSIDE" "nonexistent.$SQS" A
expect_local_negative NXDOMAIN

# --- the public answer outside the VPC --------------------------------------

for client in "$OUTSIDE" "$NEAR_MISS"; do
  ask "outside ($client) A udp" dig -b "$client" "$SQS" A
  expect_forwarded "${SQS_PUBLIC[@]}"

  ask "outside ($client) A tcp" dig +tcp -b "$client" "$SQS" A
  expect_forwarded "${SQS_PUBLIC[@]}"
done

ask "outside AAAA" dig -b "$OUTSIDE" "$SQS" AAAA
expect_forwarded "AAAA 2001:db8::80"

ask "outside A kdig" kdig -b "$OUTSIDE" "$SQS" A
expect_forwarded "${SQS_PUBLIC[@]}"

ask "outside nonexistent name under the private zone" dig -b "$OUTSIDE" "nonexistent.$SQS" A
expect_forwarded_nxdomain

# --- vpce names answer for every client -------------------------------------

for client in "$OUTSIDE" "$INSIDE"; do
  ask "vpce regional name from $client" dig -b "$client" "$SQS_VPCE" A
  expect_private "${SQS_PRIVATE[@]}"

  ask "vpce regional name from $client tcp" dig +tcp -b "$client" "$SQS_VPCE" A
  expect_private "${SQS_PRIVATE[@]}"
done

ask "vpce zonal name us-east-1a" dig -b "$OUTSIDE" "$SQS_VPCE_1A" A
expect_private "A 10.0.1.10"

ask "vpce zonal name us-east-1b" dig -b "$INSIDE" "$SQS_VPCE_1B" A
expect_private "A 10.0.2.10"

ask "vpce name mixed case" dig -b "$OUTSIDE" \
  VPCE-0A1B2C3D4E5F60718-ABCD1234.Sqs.Us-East-1.Vpce.AmazonAWS.com A
expect_private "${SQS_PRIVATE[@]}"

ask "vpce name AAAA without IPv6 ENIs" dig -b "$OUTSIDE" "$SQS_VPCE" AAAA
expect_local_negative NOERROR

# --- an endpoint with private DNS off ---------------------------------------

ask "private_dns=false: service name inside is forwarded" dig -b "$INSIDE" "$SNS" A
expect_forwarded_nxdomain

ask "private_dns=false: vpce name A" dig -b "$INSIDE" "$SNS_VPCE" A
expect_private "A 10.0.1.20" "A 10.0.2.20"

ask "private_dns=false: vpce name AAAA" dig -b "$OUTSIDE" "$SNS_VPCE" AAAA
expect_private "AAAA fd00::20"

# --- names private DNS must not capture, even inside -------------------------

ask "look-alike: search-domain suffix" dig -b "$INSIDE" "$SQS.default.svc.cluster.local" A
expect_forwarded "A 192.0.2.93"

ask "look-alike: extra letter" dig -b "$INSIDE" "x$SQS" A
expect_forwarded "A 192.0.2.90"

ask "look-alike: legacy queue.amazonaws.com" dig -b "$INSIDE" queue.amazonaws.com A
expect_forwarded "A 192.0.2.91"

ask "look-alike: us-east-1.queue.amazonaws.com" dig -b "$INSIDE" us-east-1.queue.amazonaws.com A
expect_forwarded "A 192.0.2.92"

# --- plain forwarding --------------------------------------------------------

for client in "$INSIDE" "$OUTSIDE"; do
  ask "forwarded NXDOMAIN from $client" dig -b "$client" nope.example.test A
  expect_forwarded_nxdomain

  ask "forwarded answer from $client" dig -b "$client" www.example.test A
  expect_forwarded "A 198.51.100.7"
done

ask "forwarded answer tcp kdig" kdig +tcp -b "$OUTSIDE" www.example.test A
expect_forwarded "A 198.51.100.7"

expect_daemon_alive
finish
