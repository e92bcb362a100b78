// firewall.click: a stateless firewall hop of a chain.
//
// Left to right it lets through ping, web (80) and iperf3 (5201); any
// other IPv4 packet is refused with an ICMP "administratively prohibited"
// unreachable, so clients fail at once instead of timing out. Right to
// left it lets through what answers those (echo replies, segments from
// ports 80 and 5201) and ICMP errors; the rest is dropped.
//
// Chain hop contract (click-configs/chains/README.md): `mbctl chain up`
// sets the defines below; the values here only let the file load alone
// (`mbctl check firewall.click`).
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP 10.10.1.1, $OUT_IP 10.10.2.1,
       $IN_ARP 10.10.1.1/32, $OUT_ARP 10.10.2.1/32);

// The two faces.
to_in  :: Queue(1024) -> ToDevice($IN_DEV);
to_out :: Queue(1024) -> ToDevice($OUT_DEV);
cin  :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
FromDevice($IN_DEV) -> cin;
FromDevice($OUT_DEV) -> cout;

// ARP: each face answers for its addresses and resolves its next hops.
cin[0]  -> ARPResponder($IN_ARP $IN_MAC) -> to_in;
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC) -> to_out;
arp_in  :: ARPQuerier($IN_IP, $IN_MAC) -> to_in;
arp_out :: ARPQuerier($OUT_IP, $OUT_MAC) -> to_out;
cin[1]  -> [1]arp_in;
cout[1] -> [1]arp_out;
cin[3]  -> Discard;
cout[3] -> Discard;

// Left to right.
cin[2] -> Strip(14) -> CheckIPHeader -> fwd :: IPFilter(
    allow icmp type echo,
    allow tcp dst port 80 or tcp dst port 5201,
    1 all);
fwd[0] -> passed :: Counter -> arp_out;
fwd[1] -> refused :: Counter
       -> ICMPError($IN_IP, unreachable, filterprohibited) -> arp_in;

// Right to left.
cout[2] -> Strip(14) -> CheckIPHeader -> rev :: IPFilter(
    allow icmp type echo-reply,
    allow icmp type unreachable or icmp type timeexceeded,
    allow tcp src port 80 or tcp src port 5201,
    deny all);
rev -> returned :: Counter -> arp_in;
