// firewall-vm.click: a firewall middlebox VM between two NICs, for
// `mbctl boot` (make demo). NIC 0 faces the inside, NIC 1 the outside.
// From the inside, ping and web (tcp 80) pass; every other IPv4 packet is
// denied and counted. Replies from the outside and ARP pass.
//
//   mbctl boot firewall-vm.click --nic netns:inside --nic netns:outside
//   mbctl read firewall-vm denied.count
inside  :: FromDevice(0);
outside :: FromDevice(1);
to_out  :: Queue(512) -> ToDevice(1);
to_in   :: Queue(512) -> ToDevice(0);

inside -> eth :: Classifier(12/0800, -);
eth[0] -> Strip(14) -> CheckIPHeader
       -> rules :: IPFilter(allow icmp type echo,
                            allow tcp dst port www,
                            1 all);
rules[0] -> Unstrip(14) -> allowed :: Counter -> to_out;
rules[1] -> denied :: Counter -> Discard;
eth[1] -> to_out;
outside -> back :: Counter -> to_in;
