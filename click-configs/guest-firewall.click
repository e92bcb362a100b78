// guest-firewall.click: a firewall middlebox VM between two NICs.
//
// NIC 0 faces the inside, NIC 1 the outside (ClickOS numbering: the VM's
// NICs in the order the hypervisor attaches them). From the inside, DNS,
// web and ping leave; everything else IPv4 is denied and counted. From the
// outside, everything comes back (a stateless example: pair it with
// IPRewriter for real connection tracking). Non-IPv4 frames (ARP) pass
// both ways.
//
//   make image CONFIG=click-configs/guest-firewall.click NAME=guest-firewall
//   # or, with a store, install it at run time:  mbctl ... / cosmos-style writes

inside  :: FromDevice(0, BURST 32);
outside :: FromDevice(1, BURST 32);
to_out  :: Queue(512) -> ToDevice(1);
to_in   :: Queue(512) -> ToDevice(0);

inside -> eth :: Classifier(12/0800, -);
eth[0] -> Strip(14) -> CheckIPHeader
       -> rules :: IPFilter(allow udp dst port domain,
                            allow tcp dst port www or tcp dst port https,
                            allow icmp type echo,
                            1 all);
rules[0] -> Unstrip(14) -> allowed :: Counter -> to_out;
rules[1] -> denied :: Counter -> Discard;
eth[1] -> to_out;

outside -> back :: Counter -> to_in;
