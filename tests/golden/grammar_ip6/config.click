// grammar_ip6: IPv6 tests mixed with IPv4 ones in one IPClassifier (our
// extension: Click 2.1's IPFilter has no IPv6). Each output has its own
// dump (h_N.pcap, whole frames). Covers IPv6 hosts and nets, ip6 nxt /
// hlim / flow, icmp6 types, ports after the fixed header (extension
// headers: no transport match), tests of either version, and IPv4 tests
// checking the version when IPv6 packets carry matching bytes.
//
// expected/ was written by real Click running click-reference.click:
// the same rules as byte patterns for Click's Classifier.
define($IN input.pcap, $OUT out);

elementclass Out { $n | input -> ToDump($OUT/h_$n.pcap) }

FromDump($IN, STOP true) -> MarkIPHeader(14) -> c :: IPClassifier(
  ip6 and tcp dst port 80,              // 0
  icmp6 type echo or echo-reply,        // 1
  src net fe80::/10,                    // 2
  dst host 2001:db8::2 and udp,         // 3
  ip6 hlim < 2,                         // 4
  tcp dst port 22,                      // 5: IPv4 or IPv6
  ip6 flow 0x12345,                     // 6
  src host 10.0.0.1,                    // 7: IPv4 only
  ip6 nxt 0 or ip6 nxt 44,              // 8
  -);                                   // 9

c[0] -> Out(0); c[1] -> Out(1); c[2] -> Out(2); c[3] -> Out(3); c[4] -> Out(4);
c[5] -> Out(5); c[6] -> Out(6); c[7] -> Out(7); c[8] -> Out(8); c[9] -> Out(9);

DriverManager(wait, print "done", stop);
