// firewall6.click: dual-stack firewall-vm.click, a firewall middlebox VM
// between two NICs, for `mbctl boot`. NIC 0 faces the inside, NIC 1 the
// outside. From the inside, for IPv4 and IPv6 alike, ping and web (tcp 80)
// pass; every other packet is denied and counted. Replies from the
// outside, ARP and IPv6 neighbour discovery pass.
//
//   mbctl boot firewall6.click --nic netns:inside --nic netns:outside
//   mbctl read firewall6 denied6.count
//
// Both families' rules are IPFilter's: IPv4 after CheckIPHeader, IPv6
// after CheckIP6Header, whose header annotation the IPv6 tests read. An
// IPv6 transport test looks at the header right after the fixed 40
// bytes, so a packet with extension headers before its ICMPv6 or TCP
// header is denied. Malformed IPv6 is dropped and counted in
// check6.drops.
//
// The outside link's MTU is 1500: an inside IPv6 packet too big for it
// gets an ICMPv6 packet-too-big from the firewall's link-local address
// fe80::6f:1, sent back to the inside through IP6NDSolicitor (which
// learns the sender's Ethernet address by neighbour discovery; the
// sender's advertisements are copied to it).
inside  :: FromDevice(0);
outside :: FromDevice(1);
to_out  :: Queue(512) -> ToDevice(1);
to_in   :: Queue(512) -> ToDevice(0);

inside -> eth :: Classifier(12/0800, 12/86dd, -);

eth[0] -> Strip(14) -> CheckIPHeader
       -> rules :: IPFilter(allow icmp type echo,
                            allow tcp dst port www,
                            1 all);
rules[0] -> Unstrip(14) -> allowed :: Counter -> to_out;
rules[1] -> denied :: Counter -> Discard;

eth[1] -> Strip(14) -> check6 :: CheckIP6Header -> mtu6 :: CheckLength(1500)
       -> rules6 :: IPFilter(allow icmp6 type echo,
                             allow tcp dst port www,
                             allow icmp6 type routersolicit,
                             allow icmp6 type neighborsolicit,
                             2 icmp6 type neighboradvert,
                             1 all);
rules6[0] -> pass6 :: Unstrip(14) -> allowed6 :: Counter -> to_out;
rules6[1] -> denied6 :: Counter -> Discard;
rules6[2] -> adv6 :: Tee -> pass6;

nds6 :: IP6NDSolicitor(fe80::6f:1, 02:00:00:00:6f:01) -> to_in;
mtu6[1] -> ICMP6Error(fe80::6f:1, packettoobig, 0, 1500) -> toobig6 :: Counter -> nds6;
adv6[1] -> Unstrip(14) -> [1]nds6;

eth[2] -> to_out;
outside -> back :: Counter -> to_in;
