// firewall6.click: dual-stack firewall-vm.click, a firewall middlebox VM
// between two NICs, for `mbctl boot`. NIC 0 faces the inside, NIC 1 the
// outside. From the inside, for IPv4 and IPv6 alike, ping and web (tcp 80)
// pass; every other packet is denied and counted. Replies from the
// outside, ARP and IPv6 neighbour discovery pass.
//
//   mbctl boot firewall6.click --nic netns:inside --nic netns:outside
//   mbctl read firewall6 denied6.count
//
// The IPv6 rules are Classifier offsets into the IPv6 packet (after
// Strip(14)): next header at 6, ICMPv6 type at 40, TCP destination port
// at 42. So a packet with extension headers before its ICMPv6 or TCP
// header is denied. Malformed IPv6 (CheckIP6Header) is dropped and counted
// in check6.drops.
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
       -> rules6 :: Classifier(6/3a 40/80,         // ICMPv6 echo request
                               6/3a 40/85,         // router solicitation
                               6/3a 40/87,         // neighbour solicitation
                               6/3a 40/88,         // neighbour advertisement
                               6/06 42/0050,       // TCP to port 80
                               -);
pass6 :: Unstrip(14) -> allowed6 :: Counter -> to_out;
rules6[0] -> pass6;
rules6[1] -> pass6;
rules6[2] -> pass6;
rules6[3] -> adv6 :: Tee -> pass6;
rules6[4] -> pass6;
rules6[5] -> denied6 :: Counter -> Discard;

nds6 :: IP6NDSolicitor(fe80::6f:1, 02:00:00:00:6f:01) -> to_in;
mtu6[1] -> ICMP6Error(fe80::6f:1, packettoobig, 0, 1500) -> toobig6 :: Counter -> nds6;
adv6[1] -> Unstrip(14) -> [1]nds6;

eth[2] -> to_out;
outside -> back :: Counter -> to_in;
