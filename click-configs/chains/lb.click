// lb.click: a layer-4 load balancer hop of a chain.
//
// New TCP connections to $VIP port 80 go to $BACKEND1 and $BACKEND2 in
// turn (RoundRobinIPMapper); each connection stays on its backend, and
// the backends' answers leave with $VIP as their source again. Anything
// else crosses unchanged in both directions.
//
// Chain hop contract: click-configs/chains/README.md.
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP 10.10.1.1, $OUT_IP 10.10.2.1,
       $IN_ARP 10.10.1.1/32, $OUT_ARP 10.10.2.1/32,
       $VIP 10.10.2.100, $BACKEND1 10.10.2.11, $BACKEND2 10.10.2.12);

to_in  :: Queue(1024) -> ToDevice($IN_DEV);
to_out :: Queue(1024) -> ToDevice($OUT_DEV);
cin  :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
FromDevice($IN_DEV) -> cin;
FromDevice($OUT_DEV) -> cout;

cin[0]  -> ARPResponder($IN_ARP $IN_MAC) -> to_in;
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC) -> to_out;
arp_in  :: ARPQuerier($IN_IP, $IN_MAC) -> to_in;
arp_out :: ARPQuerier($OUT_IP, $OUT_MAC) -> to_out;
cin[1]  -> [1]arp_in;
cout[1] -> [1]arp_out;
cin[3]  -> Discard;
cout[3] -> Discard;

rr :: RoundRobinIPMapper(- - $BACKEND1 - 0 1, - - $BACKEND2 - 0 1);
lb :: IPRewriter(rr, drop);

cin[2] -> Strip(14) -> CheckIPHeader
       -> lcls :: IPClassifier(tcp and dst host $VIP and dst port 80, -);
lcls[0] -> [0]lb;
lcls[1] -> arp_out;

cout[2] -> Strip(14) -> CheckIPHeader
        -> rcls :: IPClassifier(tcp and src port 80 and (src host $BACKEND1 or src host $BACKEND2), -);
rcls[0] -> [1]lb;
rcls[1] -> arp_in;

lb[0] -> arp_out;
lb[1] -> arp_in;
