// ip6: Click's IPv6 elements on one trace, checked against Click 2.1
// (configured with --enable-ip6): CheckIP6Header (bad version, payload
// length past the packet, a bad source, a tiny packet), IP6Print,
// DecIP6HLIM with ICMP6Error's time exceeded, ICMP6Error's unreachable
// (none about an ICMPv6 error or a multicast destination), IP6Mirror,
// GetIP6Address with LookupIP6Route, MarkIP6Header, ProtocolTranslator64,
// AddressTranslator.
// Each output has its own dump. (ProtocolTranslator46 is left out: Click
// 2.1's sets the hop limit to the TTL plus 65.)
define($IN input.pcap, $OUT out);

elementclass Eth6 { $f | input -> EtherEncap(0x86dd, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/$f) }
// Packets an element makes: Click stamps them with the time of day, this
// engine with the input's time; both get a fixed one.
elementclass Made6 { $f | input -> SetTimestamp(1000000000) -> Eth6($f) }

FromDump($IN, STOP true) -> Strip(14)
  -> c :: CheckIP6Header(fd00::bad)
  -> IP6Print(in)
  -> t :: Tee(8);
c[1] -> Eth6(bad.pcap);

t[0] -> h :: DecIP6HLIM -> Eth6(hlim.pcap);
h[1] -> ICMP6Error(fd00::ff, 3, 0) -> Made6(timeexceeded.pcap);
// Click 2.1 makes errors about ICMPv6 errors (its check reads the IPv6
// header as if it were the ICMPv6 one), which RFC 4443 forbids and this
// engine does not do: those are left out.
t[1] -> icmperr :: Classifier(6/3a 40/00%80, -);
icmperr[0] -> Discard;
icmperr[1] -> ICMP6Error(fd00::ff, 1, 4) -> Made6(unreachable.pcap);
t[2] -> IP6Mirror -> Eth6(mirror.pcap);
t[3] -> GetIP6Address(24)
  -> rt :: LookupIP6Route(fd00:1::/64 ::0 0, 2001:db8::/32 fd00::fe 1, ::/0 fd00::1 2);
rt[0] -> Eth6(route0.pcap);
rt[1] -> Eth6(route1.pcap);
rt[2] -> Eth6(route2.pcap);
t[4] -> pt64 :: ProtocolTranslator64
  -> SetTimestamp(1000000000)
  -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/v4.pcap);
t[5] -> Unstrip(14) -> MarkIP6Header(14) -> Strip(14) -> Eth6(marked.pcap);
// AddressTranslator: a static mapping and a pool of two addresses; then
// address and port mapping, for TCP and UDP (under port mapping Click 2.1
// takes a port for an ICMPv6 echo but leaves its identifier, so replies
// cannot map back, and rewrites ICMPv6 errors' sources; this engine maps
// echoes by identifier and drops other ICMPv6: left out).
t[6] -> [0]at :: AddressTranslator(1, 0, fd00::1 ::ffff:10.9.0.1,
                                   1, 0, 0, ::ffff:10.9.0.100, ::ffff:10.9.0.101);
Idle -> [1]at;
at[0] -> Made6(at_addr.pcap);
at[1] -> Discard;
t[7] -> tu :: Classifier(6/06, 6/11, -);
tu[0] -> [0]atp :: AddressTranslator(0, 1, 1, 0, ::ffff:192.0.2.1 6000 6010);
tu[1] -> [0]atp;
tu[2] -> Discard;
Idle -> [1]atp;
atp[0] -> Made6(at_port.pcap);
atp[1] -> Discard;
DriverManager(wait_stop, print >$OUT/counts.txt c.drops, stop);
