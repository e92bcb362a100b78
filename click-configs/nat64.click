// nat64.click: a stateful NAT64 middlebox VM (RFC 6146) between an
// IPv6-only network on NIC 0 and an IPv4 network on NIC 1, for
// `mbctl boot` and click-configs/chains/nat64.toml.
//
// IPv6 clients reach IPv4 server a.b.c.d at 64:ff9b::a.b.c.d (route
// 64:ff9b::/96 to NIC 0's link: this VM answers neighbour discovery for
// the whole prefix); the servers see the pool address 192.0.2.1, which
// this VM answers ARP for on NIC 1. Next hops are resolved by
// IP6NDSolicitor and ARPQuerier; expiring hop limits get ICMPv6 time
// exceeded.
//
//   mbctl boot nat64.click --nic netns:v6only --nic netns:v4only
//   mbctl read nat64 nat.table
in6 :: FromDevice(0);
in4 :: FromDevice(1);
to6 :: Queue(512) -> ToDevice(0);
to4 :: Queue(512) -> ToDevice(1);
nat :: NAT64(192.0.2.1, PREFIX 64:ff9b::/96);

nds :: IP6NDSolicitor(fd64::ff, 02:64:00:00:00:01) -> to6;
arpq :: ARPQuerier(192.0.2.1, 02:64:00:00:00:02) -> to4;

in6 -> c6 :: Classifier(12/86dd 20/3aff 54/87,   // neighbour solicitation
                        12/86dd 20/3aff 54/88,   // neighbour advertisement
                        12/86dd,
                        -);
c6[0] -> IP6NDAdvertiser(64:ff9b::/96 fd64::ff/128 02:64:00:00:00:01) -> to6;
c6[1] -> [1]nds;
c6[2] -> Strip(14) -> CheckIP6Header -> hlim :: DecIP6HLIM -> [0]nat;
c6[3] -> Discard;
hlim[1] -> ICMP6Error(fd64::ff, timeexceeded, 0) -> [0]nds;

in4 -> c4 :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
c4[0] -> ARPResponder(192.0.2.1 02:64:00:00:00:02) -> to4;
c4[1] -> [1]arpq;
c4[2] -> Strip(14) -> CheckIPHeader -> ttl :: DecIPTTL -> [1]nat;
c4[3] -> Discard;
ttl[1] -> Discard;

nat[0] -> arpq;
nat[1] -> [0]nds;
