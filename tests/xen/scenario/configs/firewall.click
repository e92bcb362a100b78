// Transparent firewall between vif0 (inside, ns1) and vif1 (outside, ns2):
// ping and web leave, everything else IPv4 from the inside is dropped;
// replies and ARP pass.
inside  :: FromDevice(0);
outside :: FromDevice(1);
to_out  :: Queue(512) -> ToDevice(1);
to_in   :: Queue(512) -> ToDevice(0);

inside -> eth :: Classifier(12/0800, -);
eth[0] -> Strip(14) -> CheckIPHeader
       -> ip :: IPClassifier(icmp type echo, tcp dst port 80, -);
ip[0] -> Unstrip(14) -> pings :: Counter -> to_out;
ip[1] -> Unstrip(14) -> web :: Counter -> to_out;
ip[2] -> denied :: Counter -> Discard;
eth[1] -> to_out;
outside -> back :: Counter -> to_in;
