// ratelimit.click: a rate-limiting firewall hop of a chain.
//
// IPv4 from the left passes at most $RATE packets per second (Click's
// RatedSplitter: the excess is dropped and counted in `over.count`);
// replies from the right pass unlimited. ARP is answered on both faces
// as the chain's contract asks (click-configs/chains/README.md). With
// replicas, each replica limits the flows the switch gives it: scale it
// on `cpu` (tests/controller) to add capacity under load.
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP 10.10.1.1, $OUT_IP 10.10.2.1,
       $IN_ARP 10.10.1.1/32, $OUT_ARP 10.10.2.1/32,
       $RATE 1000);

to_in  :: Queue(1024) -> ToDevice($IN_DEV, BURST 32);
to_out :: Queue(1024) -> ToDevice($OUT_DEV, BURST 32);
cin  :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
FromDevice($IN_DEV, BURST 32) -> cin;
FromDevice($OUT_DEV, BURST 32) -> cout;

cin[0]  -> ARPResponder($IN_ARP $IN_MAC) -> to_in;
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC) -> to_out;
arp_in  :: ARPQuerier($IN_IP, $IN_MAC) -> to_in;
arp_out :: ARPQuerier($OUT_IP, $OUT_MAC) -> to_out;
cin[1]  -> [1]arp_in;
cout[1] -> [1]arp_out;
cin[3]  -> Discard;
cout[3] -> Discard;

cin[2] -> Strip(14) -> CheckIPHeader -> limit :: RatedSplitter($RATE);
limit[0] -> passed :: Counter -> arp_out;
limit[1] -> over :: Counter -> Discard;
cout[2] -> Strip(14) -> CheckIPHeader -> arp_in;
