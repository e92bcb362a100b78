// nat64.click: a stateful NAT64 hop (RFC 6146) of a chain between an
// IPv6-only left side and an IPv4 right side.
//
// IPv6 clients reach IPv4 server a.b.c.d at $PREFIX + a.b.c.d
// (64:ff9b::a.b.c.d, RFC 6052) through their default route; the servers
// see $PUBLIC, which must be an address the right side sends to the
// chain: the right gateway. The left face answers neighbour discovery for
// the left gateway, the right face ARP for its own addresses; next hops
// are resolved by IP6NDSolicitor and ARPQuerier. Expiring hop limits get
// an ICMPv6 time exceeded from the left gateway. The mapping table:
// `mbctl read CHAIN-HOP-0 nat.table` (the hop's replica 0).
//
// Chain hop contract: click-configs/chains/README.md ($IN_IP and $IN_ARP
// are IPv6 because the left end is).
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP fd64:1::1, $OUT_IP 10.64.2.1,
       $IN_ARP fd64:1::1/128, $OUT_ARP 10.64.2.1/32,
       $PUBLIC 10.64.2.1, $PREFIX 64:ff9b::/96);

to_in  :: Queue(1024) -> ToDevice($IN_DEV);
to_out :: Queue(1024) -> ToDevice($OUT_DEV);
nat    :: NAT64($PUBLIC, PREFIX $PREFIX);
nds    :: IP6NDSolicitor($IN_IP, $IN_MAC) -> to_in;
arpq   :: ARPQuerier($OUT_IP, $OUT_MAC) -> to_out;

// Ethernet type 86dd, next header 58 (ICMPv6) with hop limit 255, then
// the ICMPv6 type: neighbour solicitation (135) or advertisement (136).
FromDevice($IN_DEV)
  -> cin :: Classifier(12/86dd 20/3aff 54/87, 12/86dd 20/3aff 54/88, 12/86dd, -);
cin[0] -> IP6NDAdvertiser($IN_ARP $IN_MAC) -> to_in;
cin[1] -> [1]nds;
cin[2] -> Strip(14) -> CheckIP6Header -> hlim :: DecIP6HLIM -> [0]nat;
cin[3] -> Discard;
hlim[1] -> ICMP6Error($IN_IP, timeexceeded, 0) -> [0]nds;

FromDevice($OUT_DEV)
  -> cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC, $PUBLIC $OUT_MAC) -> to_out;
cout[1] -> [1]arpq;
cout[2] -> Strip(14) -> CheckIPHeader -> ttl :: DecIPTTL -> [1]nat;
cout[3] -> Discard;
ttl[1] -> Discard;

nat[0] -> arpq;
nat[1] -> [0]nds;
