// nat.click: a source NAT (masquerading) hop of a chain.
//
// Connections and pings from the left leave with source address $PUBLIC
// (ports 1024-65535, echo identifiers rewritten likewise); replies from
// the right are mapped back. Unsolicited packets from the right are
// dropped. Set $PUBLIC to the right side's gateway (the chain answers ARP
// for it there) or to any address the right side routes to this hop.
//
// Chain hop contract: click-configs/chains/README.md.
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP 10.10.1.1, $OUT_IP 10.10.2.1,
       $IN_ARP 10.10.1.1/32, $OUT_ARP 10.10.2.1/32,
       $PUBLIC 10.10.2.1);

to_in  :: Queue(1024) -> ToDevice($IN_DEV);
to_out :: Queue(1024) -> ToDevice($OUT_DEV);
cin  :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
FromDevice($IN_DEV) -> cin;
FromDevice($OUT_DEV) -> cout;

cin[0]  -> ARPResponder($IN_ARP $IN_MAC) -> to_in;
// Replicas of a scaled NAT each have their own $PUBLIC on the right.
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC, $PUBLIC $OUT_MAC) -> to_out;
arp_in  :: ARPQuerier($IN_IP, $IN_MAC) -> to_in;
arp_out :: ARPQuerier($OUT_IP, $OUT_MAC) -> to_out;
cin[1]  -> [1]arp_in;
cout[1] -> [1]arp_out;
cin[3]  -> Discard;
cout[3] -> Discard;

// Output 0 of each rewriter leads right, output 1 leads left.
rw   :: IPRewriter(pattern $PUBLIC 1024-65535 - - 0 1, drop);
ping :: ICMPPingRewriter(pattern $PUBLIC - - - 0 1, drop);

cin[2] -> Strip(14) -> CheckIPHeader
       -> lcls :: IPClassifier(tcp or udp, icmp type echo, -);
lcls[0] -> [0]rw;
lcls[1] -> [0]ping;
lcls[2] -> Discard;

cout[2] -> Strip(14) -> CheckIPHeader
        -> rcls :: IPClassifier(tcp or udp, icmp type echo-reply, -);
rcls[0] -> [1]rw;
rcls[1] -> [1]ping;
rcls[2] -> Discard;

rw[0] -> arp_out;
ping[0] -> arp_out;
rw[1] -> arp_in;
ping[1] -> arp_in;
