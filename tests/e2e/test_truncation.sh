# End to end: forwarded answers too big for the client's UDP buffer come back
# truncated (TC set, within 512 bytes without EDNS, RFC 1035 section 4.2.1, or
# within the advertised EDNS size, RFC 6891 section 7), and whole over TCP.
# big.example.test comes from lib.sh: 40 A records; 40 TXT records of ~70 bytes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly OUTSIDE=127.0.20.5

start_upstream
start_daemon

msg_size() { sed -n 's/^;; MSG SIZE *rcvd: *\([0-9]*\).*/\1/p' <<<"$R_OUT"; }
size_at_most() { local n; n=$(msg_size); [[ -n $n ]] && ((n <= $1)); }
answer_count_is() { [[ $(grep -c . <<<"$R_ANSWER") == "$1" ]]; }

expect_size_at_most() { r_expect "reply size $(msg_size) <= $1 bytes" size_at_most "$1"; }
expect_answer_count() { r_expect "$1 answer records" answer_count_is "$1"; }

# +ignore: dig shows the truncated UDP reply instead of retrying over TCP.
ask "TXT udp, no EDNS" dig +noedns +ignore -b "$OUTSIDE" txt.big.example.test TXT
expect_status NOERROR
expect_flag tc
expect_size_at_most 512

ask "TXT udp, EDNS 1232" dig +edns=0 +bufsize=1232 +ignore -b "$OUTSIDE" txt.big.example.test TXT
expect_status NOERROR
expect_flag tc
expect_size_at_most 1232

ask "TXT tcp" dig +tcp -b "$OUTSIDE" txt.big.example.test TXT
expect_status NOERROR
expect_no_flag tc
expect_answer_count 40

# Without +ignore dig retries over TCP on TC, as real clients do.
ask "TXT udp then tcp" dig +noedns -b "$OUTSIDE" txt.big.example.test TXT
expect_status NOERROR
expect_answer_count 40

ask "A udp, no EDNS" dig +noedns +ignore -b "$OUTSIDE" many.big.example.test A
expect_flag tc
expect_size_at_most 512

ask "A udp, EDNS 1232 (fits)" dig +edns=0 +bufsize=1232 +ignore -b "$OUTSIDE" \
  many.big.example.test A
expect_status NOERROR
expect_no_flag tc
expect_answer_count 40

ask "A kdig tcp" kdig +tcp -b "$OUTSIDE" many.big.example.test A
expect_status NOERROR
expect_answer_count 40

expect_daemon_alive
finish
